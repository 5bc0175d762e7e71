"""A small, careful FHIR R4 client for the data the EHR did not prefetch (CDS Hooks 2.0).

What it guarantees, and why:

* **Only allowed servers.** ``resolve_base`` accepts ``fhirServer`` only when it is on
  ``MRCDS_FHIR_ALLOWLIST`` (exact base, normalised), and https unless the host is loopback.
  Redirects are never followed automatically; a redirect within the same base is followed
  by hand, anything else fails. ``next`` links must stay on the same base.
* **Bounded time.** Every request has connect and read timeouts cut to the hook call's one
  ``Deadline``; bodies are read in chunks and the deadline is checked between them. One
  quick retry on 502/503/504 or a dropped connection, only if the deadline leaves room.
* **One pooled session per process**, created lazily and re-created after ``fork``
  (gunicorn workers), with cookies refused so nothing leaks from one user's call to another.
* **The token stays secret.** It is attached by an auth object whose repr hides it, never
  logged, stored or put in an exception; logs carry the hookInstance, key, status and time.
* **Foreign errors are translated at the boundary**: every ``requests`` exception goes
  through ``REQUESTS_EXCEPTION_MAP`` into ``cds_service.fhir.errors``.
"""

from __future__ import annotations

import http.client
import http.cookiejar
import json
import logging
import os
import re
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any
from urllib.parse import quote, urljoin

import requests
import urllib3.exceptions
import urllib3.response
from requests import exceptions as rexc
from requests.adapters import HTTPAdapter

from cds_service.core import metrics
from cds_service.core.fhir_base import FhirBase
from cds_service.fhir.errors import (
    FhirAccessError,
    FhirAccessRefused,
    FhirConnectionError,
    FhirConnectionReset,
    FhirInvalidResponse,
    FhirRedirected,
    FhirRequestError,
    FhirResponseTooLarge,
    FhirStatusError,
    FhirTimeout,
    FhirTlsError,
    NoFhirAccess,
    UnresolvedToken,
)

__all__ = [
    "REQUESTS_EXCEPTION_MAP",
    "TRANSPORT_ERRORS",
    "Deadline",
    "FhirBase",
    "FhirClient",
    "Paged",
    "close_shared_session",
    "fill_template",
    "new_session",
    "resolve_base",
    "shared_session",
    "translate_exception",
]

log = logging.getLogger(__name__)

FHIR_JSON = "application/fhir+json"
USER_AGENT = "mr-cds-hooks (CDS Hooks 2.0 service)"
#: A server that cannot accept a TCP connection within this is down; the rest of the
#: deadline is left for reading.
CONNECT_TIMEOUT_S = 1.0
#: Do not start a request with less time than this left: it could not finish.
MIN_ATTEMPT_S = 0.05
#: The pause before the one retry (a restarting gateway needs a moment, the deadline is short).
RETRY_PAUSE_S = 0.05
#: Largest body accepted per page; a chart page is far smaller, anything bigger is a mistake.
MAX_BODY_BYTES = 20 * 1024 * 1024
MAX_REDIRECTS = 3
POOL_SIZE = 16
_CHUNK = 64 * 1024
_REDIRECTS = frozenset({301, 302, 303, 307, 308})

# --------------------------------------------------------------------------- deadline


class Deadline:
    """One point in time by which the whole hook call's fetching must be over."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self.at = clock() + seconds

    def remaining(self) -> float:
        return max(0.0, self.at - self._clock())

    @property
    def expired(self) -> bool:
        return self.remaining() <= 0.0


# --------------------------------------------------------------------------- where we may go


@cache
def _allowed(allowlist: tuple[str, ...]) -> frozenset[FhirBase]:
    """The allowlist, normalised once per process (and warned about once, not per call)."""
    allowed = set()
    for entry in allowlist:
        try:
            base = FhirBase.parse(entry)
        except ValueError:
            log.warning("ignoring an allowlist entry that is not a plain http(s) base URL")
            continue
        if base.scheme != "https" and not base.is_loopback:
            # Kept in the set so the request gets the precise reason ("does not use https").
            log.warning("allowlist entry %s will never be called: http only on loopback hosts", base.url)
        allowed.add(base)
    return frozenset(allowed)


def resolve_base(fhir_server: str | None, allowlist: Sequence[str]) -> FhirBase:
    """The FHIR base the service may call for this request, or ``NoFhirAccess`` with why."""
    if not allowlist:
        raise NoFhirAccess("not prefetched, and fetching from FHIR servers is turned off (empty allowlist)")
    if not fhir_server:
        raise NoFhirAccess("not prefetched, and the request gives no FHIR server to fetch it from")
    try:
        base = FhirBase.parse(fhir_server)
    except ValueError:
        raise NoFhirAccess("not prefetched, and the request's FHIR server address is not usable") from None
    allowed = _allowed(tuple(allowlist))
    if base not in allowed:
        raise NoFhirAccess("not prefetched, and the request's FHIR server is not on the allowlist")
    if base.scheme != "https" and not base.is_loopback:
        raise NoFhirAccess("not prefetched, and the request's FHIR server does not use https")
    return base


# --------------------------------------------------------------------------- templates

_TOKEN = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
#: CDS Hooks 2.0 user tokens: the id part of ``context.userId`` when it has that type.
USER_TOKENS = {
    "userPractitionerId": "Practitioner",
    "userPractitionerRoleId": "PractitionerRole",
    "userPatientId": "Patient",
    "userRelatedPersonId": "RelatedPerson",
}


def token_values(context: Mapping[str, Any]) -> dict[str, str]:
    """Every prefetch token the hook context can fill, unencoded."""
    values: dict[str, str] = {}
    for name, value in context.items():
        text = _primitive_text(value)
        if text is not None:
            values[f"context.{name}"] = text
    user = context.get("userId")
    if isinstance(user, str) and user.count("/") == 1:
        resource_type, _, ident = user.partition("/")
        for token, wanted in USER_TOKENS.items():
            if resource_type == wanted and ident:
                values[token] = ident
    return values


def _primitive_text(value: Any) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    return None  # objects and arrays are not prefetch tokens (2.0 #prefetch-tokens)


def fill_template(template: str, context: Mapping[str, Any]) -> str:
    """Fill a relative query's tokens, URL-encoded; ``UnresolvedToken`` if one cannot be filled."""
    values = token_values(context)

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        value = values.get(name)
        # A value of dots would climb out of the path once the URL is normalised.
        if not value or set(value) <= {"."}:
            raise UnresolvedToken(name)
        # safe="" encodes "/", "?", "&", "#" and "%": a value cannot add a path, a parameter or a fragment.
        return quote(value, safe="")

    filled = _TOKEN.sub(substitute, template)
    if "{{" in filled or "}}" in filled:
        raise UnresolvedToken("?")
    return filled


# --------------------------------------------------------------------------- session


class _NoCookies(http.cookiejar.DefaultCookiePolicy):
    """Refuse every cookie: the shared session serves many users and patients."""

    def set_ok(self, cookie: http.cookiejar.Cookie, request: urllib.request.Request) -> bool:
        return False

    def return_ok(self, cookie: http.cookiejar.Cookie, request: urllib.request.Request) -> bool:
        return False


class _BearerAuth(requests.auth.AuthBase):
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

# --------------------------------------------------------------------------- error table


def _always(cls: type[FhirAccessError]) -> Callable[[rexc.RequestException], FhirAccessError]:
    return lambda _exc: cls()


def _from_status(exc: rexc.RequestException) -> FhirAccessError:
    status = exc.response.status_code if exc.response is not None else 0
    return FhirAccessRefused(status) if status in (401, 403) else FhirStatusError(status)


def _causes(exc: BaseException) -> list[BaseException]:
    """``exc`` and what it wraps (``args``, urllib3's ``reason``, ``__cause__``), a few levels deep."""
    seen: list[BaseException] = []
    todo: list[BaseException] = [exc]
    while todo and len(seen) < 16:
        current = todo.pop()
        if any(current is s for s in seen):
            continue
        seen.append(current)
        inner = [getattr(current, "reason", None), current.__cause__, current.__context__, *current.args]
        todo.extend(x for x in inner if isinstance(x, BaseException))
    return seen


def _from_connection_error(exc: rexc.RequestException) -> FhirAccessError:
    causes = _causes(exc)
    # requests reports a read timeout while streaming the body as a ConnectionError.
    if any(isinstance(c, urllib3.exceptions.ReadTimeoutError | TimeoutError) for c in causes):
        return FhirTimeout()
    reset = (ConnectionResetError, http.client.RemoteDisconnected, urllib3.exceptions.ProtocolError)
    if any(isinstance(c, reset) for c in causes):
        return FhirConnectionReset()
    return FhirConnectionError()


#: Every ``requests`` exception, by exact class, to the error it means here. Looked up
#: along the exception's MRO, so a future subclass still lands on its parent's entry.
REQUESTS_EXCEPTION_MAP: Mapping[
    type[rexc.RequestException], Callable[[rexc.RequestException], FhirAccessError]
] = {
    rexc.RequestException: _always(FhirRequestError),
    rexc.InvalidJSONError: _always(FhirRequestError),
    rexc.JSONDecodeError: _always(FhirInvalidResponse),
    rexc.HTTPError: _from_status,
    rexc.ConnectionError: _from_connection_error,
    rexc.ProxyError: _always(FhirConnectionError),
    rexc.SSLError: _always(FhirTlsError),
    rexc.Timeout: _always(FhirTimeout),
    rexc.ConnectTimeout: _always(FhirTimeout),
    rexc.ReadTimeout: _always(FhirTimeout),
    rexc.URLRequired: _always(FhirRequestError),
    rexc.TooManyRedirects: _always(FhirRedirected),
    rexc.MissingSchema: _always(FhirRequestError),
    rexc.InvalidSchema: _always(FhirRequestError),
    rexc.InvalidURL: _always(FhirRequestError),
    rexc.InvalidHeader: _always(FhirRequestError),
    rexc.InvalidProxyURL: _always(FhirRequestError),
    # The body was cut off mid-transfer: the server (or a proxy) dropped the connection.
    rexc.ChunkedEncodingError: _always(FhirConnectionReset),
    rexc.ContentDecodingError: _always(FhirInvalidResponse),
    rexc.StreamConsumedError: _always(FhirRequestError),
    rexc.RetryError: _always(FhirConnectionError),
    rexc.UnrewindableBodyError: _always(FhirRequestError),
}


#: What talking to a FHIR server can raise; anything else is a bug of ours and propagates
#: (a 500 with a logged stack), never a "FHIR server unavailable" for every caller.
TRANSPORT_ERRORS = (rexc.RequestException, OSError, urllib3.exceptions.HTTPError)


def translate_exception(exc: BaseException) -> FhirAccessError:
    """Our error for an exception raised while talking to the FHIR server; any exception
    outside ``TRANSPORT_ERRORS`` (and not already ours) is re-raised as it is."""
    if isinstance(exc, FhirAccessError):
        return exc
    if isinstance(exc, rexc.RequestException):
        for cls in type(exc).__mro__:
            translate = REQUESTS_EXCEPTION_MAP.get(cls)
            if translate is not None:
                return translate(exc)
    if isinstance(exc, OSError | urllib3.exceptions.HTTPError):
        # Not wrapped by requests (rare): still a transport failure, not a bug of ours.
        return FhirConnectionError()
    raise exc


# --------------------------------------------------------------------------- the client


@dataclass(frozen=True)
class Paged:
    """A search result with its pages merged, and why it is partial (``None``: complete)."""

    bundle: dict[str, Any]
    incomplete: str | None = None


class FhirClient:
    """GETs on one allowed FHIR base for one hook call, within that call's deadline."""

    def __init__(
        self,
        session: requests.Session,
        base: FhirBase,
        access_token: str | None,
        deadline: Deadline,
        *,
        hook_instance: str,
        max_pages: int,
    ) -> None:
        self._session = session
        self.base = base
        self._auth = _BearerAuth(access_token)
        self.deadline = deadline
        self.hook_instance = hook_instance
        self.max_pages = max_pages

    def __repr__(self) -> str:
        return f"FhirClient({self.base.url!r}, hook_instance={self.hook_instance!r})"

    def url_for(self, query: str) -> str:
        """``{fhirServer}/{query}`` for a filled, relative template."""
        url = f"{self.base.url}/{query.lstrip('/')}"
        if not self.base.contains(url):
            raise FhirRequestError("the query would leave the FHIR server's base")
        return url

    def get_resource(self, key: str, url: str) -> dict[str, Any]:
        """GET one FHIR resource, retrying once on a gateway error or a dropped connection."""
        try:
            return self._get_resource(key, url)
        except FhirAccessError as exc:
            if not exc.retryable or self.deadline.remaining() < RETRY_PAUSE_S + MIN_ATTEMPT_S:
                raise
            log.info("fhir %s %s: retrying once (%s)", self.hook_instance, key, exc.reason)
            time.sleep(RETRY_PAUSE_S)
            return self._get_resource(key, url)

    def all_pages(self, key: str, first: Mapping[str, Any]) -> Paged:
        """Follow ``next`` links from ``first`` on this base, up to the page cap, within the deadline."""
        entries = list(first.get("entry") or [])
        visited: set[str] = set()
        link = next_link(first)
        incomplete: str | None = None
        while link is not None:
            if len(visited) >= self.max_pages:
                incomplete = f"only the first {self.max_pages + 1} pages of results were read (page limit)"
                break
            url = urljoin(self.base.url + "/", link)
            if not self.base.contains(url):
                incomplete = "a further page is on another server and was not read"
                break
            if url in visited:
                incomplete = "the FHIR server's next links go round in a loop"
                break
            visited.add(url)
            try:
                page = self.get_resource(key, url)
            except FhirAccessError as exc:
                incomplete = f"a further page could not be read: {exc.reason}"
                break
            if page.get("resourceType") != "Bundle":
                incomplete = "a further page is not a Bundle"
                break
            entries.extend(page.get("entry") or [])
            link = next_link(page)
        if incomplete:
            log.warning("fhir %s %s: partial results: %s", self.hook_instance, key, incomplete)
        return Paged(merge_pages(first, entries), incomplete)

    # ------------------------------------------------------------------ one GET

    def _get_resource(self, key: str, url: str) -> dict[str, Any]:
        for _hop in range(MAX_REDIRECTS + 1):
            status, location, body = self._get_once(key, url)
            if status in _REDIRECTS:
                target = urljoin(url, location or "")
                if not location or not self.base.contains(target):
                    raise FhirRedirected()
                url = target  # same base: the same token may go there
                continue
            if status in (401, 403):
                raise FhirAccessRefused(status)
            if not 200 <= status < 300:
                raise FhirStatusError(status)
            return parse_resource(body)
        raise FhirRedirected("the FHIR server redirected too many times")

    def _get_once(self, key: str, url: str) -> tuple[int, str | None, bytes]:
        remaining = self.deadline.remaining()
        if remaining < MIN_ATTEMPT_S:
            raise FhirTimeout()
        started = time.monotonic()
        status: int | str = "-"
        try:
            with self._session.get(
                url,
                auth=self._auth,
                timeout=(min(CONNECT_TIMEOUT_S, remaining), remaining),
                allow_redirects=False,
                stream=True,
            ) as response:
                status = response.status_code
                if status in _REDIRECTS or not 200 <= status < 300:
                    return status, response.headers.get("Location"), b""
                return status, None, self._read_body(response)
        except FhirAccessError as exc:
            status = type(exc).__name__
            raise
        except TRANSPORT_ERRORS as exc:
            error = translate_exception(exc)
            status = type(error).__name__
            # "from None": requests' messages carry the URL, which carries the patient id.
            raise error from None
        finally:
            elapsed_s = time.monotonic() - started
            log.info("fhir %s %s: %s in %.0f ms", self.hook_instance, key, status, elapsed_s * 1000)
            metrics.fhir_fetched(elapsed_s, _error_label(status))

    def _read_body(self, response: requests.Response) -> bytes:
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
            raise FhirResponseTooLarge()
        chunks: list[bytes] = []
        size = 0
        for chunk in _arriving(response.raw):
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                raise FhirResponseTooLarge()
            chunks.append(chunk)
            if self.deadline.expired:
                raise FhirTimeout()
        return b"".join(chunks)


def _arriving(raw: urllib3.response.BaseHTTPResponse) -> Iterator[bytes]:
    """The body as it arrives, one socket read at a time.

    ``iter_content`` waits until a whole chunk is in, so a server dripping bytes (each well
    within the read timeout) could hold the worker far past the deadline; ``read1`` returns
    after one read and the caller checks the deadline in between. urllib3's errors become
    the ``requests`` exceptions ``iter_content`` would raise (a read timeout as a timeout),
    so that they too go through ``REQUESTS_EXCEPTION_MAP``.
    """
    while True:
        try:
            chunk = raw.read1(_CHUNK, decode_content=True)
        except urllib3.exceptions.ReadTimeoutError as exc:
            raise rexc.ReadTimeout(exc) from exc
        except urllib3.exceptions.ProtocolError as exc:
            raise rexc.ChunkedEncodingError(exc) from exc
        except urllib3.exceptions.DecodeError as exc:
            raise rexc.ContentDecodingError(exc) from exc
        except urllib3.exceptions.SSLError as exc:
            raise rexc.SSLError(exc) from exc
        if not chunk:
            return
        yield chunk


def _error_label(status: int | str) -> str | None:
    """The metrics reason of one GET: None on success (or a redirect), else the error class or
    ``http_<status>``."""
    if isinstance(status, str):
        return status
    return None if 200 <= status < 400 else f"http_{status}"


def parse_resource(body: bytes) -> dict[str, Any]:
    """The FHIR resource in ``body``; ``FhirInvalidResponse`` for anything else."""
    try:
        value = json.loads(body)
    except ValueError:
        raise FhirInvalidResponse() from None
    if not isinstance(value, dict) or not isinstance(value.get("resourceType"), str):
        raise FhirInvalidResponse("the FHIR server's answer is not a FHIR resource")
    if value["resourceType"] == "OperationOutcome":
        raise FhirInvalidResponse("the FHIR server answered with an OperationOutcome instead of data")
    return value


def next_link(bundle: Mapping[str, Any]) -> str | None:
    """The bundle's ``next`` link, if any."""
    links = bundle.get("link")
    if not isinstance(links, list):
        return None
    for link in links:
        if isinstance(link, Mapping) and link.get("relation") == "next" and isinstance(link.get("url"), str):
            return str(link["url"])
    return None


def merge_pages(first: Mapping[str, Any], entries: list[Any]) -> dict[str, Any]:
    """``first`` with every page's entries, and without paging links (it is no longer a page)."""
    merged = {k: v for k, v in first.items() if k not in ("entry", "link")}
    links = [
        link
        for link in first.get("link") or []
        if not (isinstance(link, Mapping) and link.get("relation") in ("next", "previous", "prev", "last"))
    ]
    if links:
        merged["link"] = links
    if entries:
        merged["entry"] = entries  # FHIR JSON has no empty arrays
    return merged
