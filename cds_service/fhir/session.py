"""One pooled ``requests`` session per process, re-created after ``fork`` (gunicorn
workers), cookies refused, the bearer token attached by an auth object whose repr hides it.
"""

from __future__ import annotations

import http.cookiejar
import os
import threading
import urllib.request

import requests
from requests.adapters import HTTPAdapter

FHIR_JSON = "application/fhir+json"
USER_AGENT = "mr-cds-hooks (CDS Hooks 2.0 service)"
POOL_SIZE = 16


class _NoCookies(http.cookiejar.DefaultCookiePolicy):
    """Refuse every cookie: the shared session serves many users and patients."""

    def set_ok(self, cookie: http.cookiejar.Cookie, request: urllib.request.Request) -> bool:
        return False

    def return_ok(self, cookie: http.cookiejar.Cookie, request: urllib.request.Request) -> bool:
        return False


class BearerAuth(requests.auth.AuthBase):
    """Adds the bearer token; a ``requests`` auth object so that ``~/.netrc`` cannot replace it."""

    def __init__(self, token: str | None) -> None:
        self._token = token

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        if self._token:
            r.headers["Authorization"] = f"Bearer {self._token}"
        return r

    def __repr__(self) -> str:
        return "<bearer token hidden>"


def new_session() -> requests.Session:
    """A pooled session: no retries by urllib3 (we decide), no cookies kept."""
    session = requests.Session()
    session.cookies.set_policy(_NoCookies())
    adapter = HTTPAdapter(pool_connections=4, pool_maxsize=POOL_SIZE, max_retries=0)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.headers.update({"Accept": FHIR_JSON, "User-Agent": USER_AGENT})
    return session


_session_lock = threading.Lock()
_session: requests.Session | None = None
_session_pid: int | None = None


def shared_session() -> requests.Session:
    """This process's session; a forked worker gets its own (sockets must not be shared)."""
    global _session, _session_pid
    with _session_lock:
        if _session is None or _session_pid != os.getpid():
            _session, _session_pid = new_session(), os.getpid()
        return _session


def close_shared_session() -> None:
    """Close this process's session (tests, shutdown); the next call makes a new one."""
    global _session, _session_pid
    with _session_lock:
        if _session is not None and _session_pid == os.getpid():
            _session.close()
        _session, _session_pid = None, None


def _forget_session_after_fork() -> None:
    # The parent's lock may have been held by another thread at fork time; the parent's
    # sockets belong to the parent. Start afresh without touching either.
    global _session_lock, _session, _session_pid
    _session_lock = threading.Lock()
    _session, _session_pid = None, None


os.register_at_fork(after_in_child=_forget_session_after_fork)
