"""Each trusted issuer's public keys: inline, or fetched from its configured ``jku`` only.

Fetched sets are cached for ``ttl_s``; an unknown ``kid`` (key rotation) triggers a refetch,
at most once per ``min_refetch_s``, so a flood of tokens with made-up kids costs the issuer
one request a minute. Fetches never follow redirects and read a bounded body.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Mapping

import requests
from jwt import PyJWK

from cds_service.auth.issuers import TrustedIssuer, parse_jwks

log = logging.getLogger(__name__)

JWKS_TTL_S = 3600.0
MIN_REFETCH_S = 60.0
MAX_JWKS_BYTES = 256 * 1024
FETCH_TIMEOUT_S = (3.0, 5.0)


class KeysUnavailable(Exception):
    """The issuer's key set could not be fetched (no detail: it is logged here)."""


class _FetchedKeys:
    def __init__(self, jku: str, clock: Callable[[], float]) -> None:
        self.jku = jku
        self._clock = clock
        self._lock = threading.Lock()
        self._keys: dict[str, PyJWK] = {}
        self._fetched_at: float | None = None
        self._attempted_at: float | None = None

    def get(self, kid: str) -> PyJWK | None:
        with self._lock:
            now = self._clock()
            stale = self._fetched_at is None or now - self._fetched_at > JWKS_TTL_S
            may_fetch = self._attempted_at is None or now - self._attempted_at >= MIN_REFETCH_S
            if (stale or kid not in self._keys) and may_fetch:
                self._attempted_at = now
                try:
                    self._keys = fetch_jwks(self.jku)
                    self._fetched_at = now
                except KeysUnavailable:
                    if self._fetched_at is None:
                        raise
                    # Keep serving the last good set; the next try is a minute away.
            elif self._fetched_at is None:
                raise KeysUnavailable()
            return self._keys.get(kid)


class KeyStore:
    """Public keys of every trusted issuer, by (iss, kid)."""

    def __init__(
        self, issuers: Mapping[str, TrustedIssuer], *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._inline = {iss: i.inline_keys for iss, i in issuers.items() if i.inline_keys is not None}
        self._fetched = {
            iss: _FetchedKeys(i.jku, clock) for iss, i in issuers.items() if i.jku and i.inline_keys is None
        }

    def key(self, iss: str, kid: str) -> PyJWK | None:
        """The key, ``None`` if the issuer has no such kid; ``KeysUnavailable`` if its set
        cannot be fetched."""
        inline = self._inline.get(iss)
        if inline is not None:
            return inline.get(kid)
        fetched = self._fetched.get(iss)
        return fetched.get(kid) if fetched is not None else None


def fetch_jwks(jku: str) -> dict[str, PyJWK]:
    """GET the JWK Set at ``jku`` (already checked against the issuers file)."""
    try:
        with requests.get(jku, timeout=FETCH_TIMEOUT_S, allow_redirects=False, stream=True) as response:
            if response.status_code != 200:
                log.warning("jwks fetch: status %d", response.status_code)
                raise KeysUnavailable()
            body = b""
            for chunk in response.iter_content(16 * 1024):
                body += chunk
                if len(body) > MAX_JWKS_BYTES:
                    log.warning("jwks fetch: body over %d bytes", MAX_JWKS_BYTES)
                    raise KeysUnavailable()
    except requests.RequestException as exc:
        log.warning("jwks fetch failed: %s", type(exc).__name__)
        raise KeysUnavailable() from None
    try:
        doc = json.loads(body)
    except ValueError:
        log.warning("jwks fetch: body is not JSON")
        raise KeysUnavailable() from None
    keys = parse_jwks(doc)
    if not keys:
        log.warning("jwks fetch: no usable signature key")
        raise KeysUnavailable()
    return keys
