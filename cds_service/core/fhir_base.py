"""A FHIR server's base URL, normalised: what the allowlist holds and what a request
or a ``next`` link is compared with. Shared by the settings check at start-up and the
FHIR client, so both apply one rule.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class FhirBase:
    """A normalised FHIR base URL: scheme, host, port and path prefix (no trailing slash)."""

    scheme: str
    host: str
    port: int
    path: str

    @classmethod
    def parse(cls, url: str) -> FhirBase:
        """Normalise ``url``; ``ValueError`` if it is not a plain http(s) base URL."""
        parts = urlsplit(url.strip())
        scheme = parts.scheme.lower()
        if scheme not in _DEFAULT_PORTS:
            raise ValueError("not an http(s) URL")
        if not parts.hostname or parts.username is not None or parts.password is not None:
            raise ValueError("no host, or credentials in the URL")
        if parts.query or parts.fragment:
            raise ValueError("a base URL has no query or fragment")
        path = parts.path.rstrip("/")
        if _has_dot_segment(path):
            raise ValueError("dot segments in the path")
        port = parts.port if parts.port is not None else _DEFAULT_PORTS[scheme]
        return cls(scheme, parts.hostname.lower(), port, path)

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        port = "" if self.port == _DEFAULT_PORTS[self.scheme] else f":{self.port}"
        return f"{self.scheme}://{host}{port}{self.path}"

    @property
    def is_loopback(self) -> bool:
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False

    def contains(self, url: str) -> bool:
        """Whether absolute ``url`` is on this base: same scheme, host, port and path prefix."""
        parts = urlsplit(url)
        try:
            port = parts.port
        except ValueError:
            return False
        scheme = parts.scheme.lower()
        if scheme != self.scheme or (parts.hostname or "").lower() != self.host:
            return False
        if parts.username is not None or parts.password is not None:
            return False
        if (port if port is not None else _DEFAULT_PORTS.get(scheme)) != self.port:
            return False
        if _has_dot_segment(parts.path):
            return False
        return parts.path in (self.path, self.path + "/") or parts.path.startswith(self.path + "/")


def _has_dot_segment(path: str) -> bool:
    # "/fhir/../admin" would leave the base once the URL library normalises it.
    return any(segment in (".", "..") for segment in unquote(path).split("/"))
