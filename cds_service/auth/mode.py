"""``MRCDS_AUTH`` resolved against the bind address, and the start-up refusals.

* Unset: ``jwt`` when trusted issuers are configured or the server binds a non-loopback
  address; ``off`` only on loopback with no issuers (the quick start, with a warning).
* ``off`` on a non-loopback address is refused unless ``MRCDS_ALLOW_INSECURE=1``.
* ``jwt`` needs ``MRCDS_TRUSTED_ISSUERS`` (a valid file) and ``MRCDS_PUBLIC_BASE_URL``
  (the ``aud`` of each token is built from it, since proxies rewrite the Host header).

Each refusal is a ``ConfigurationError`` whose one-line message starts with the variable.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

from cds_service.auth.issuers import TrustedIssuer, load_issuers
from cds_service.auth.urls import is_loopback_host
from cds_service.core.errors import ConfigurationError
from cds_service.core.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AuthConfig:
    mode: str  # "jwt" or "off"
    issuers: Mapping[str, TrustedIssuer] = field(default_factory=dict)
    public_base_url: str = ""
    max_expiry_s: int = 3600  # MRCDS_JWT_MAX_EXPIRY_S

    @property
    def enabled(self) -> bool:
        return self.mode == "jwt"


def resolve_auth(settings: Settings, bind_host: str | None, *, warn: bool = True) -> AuthConfig:
    """The authentication mode for a server bound to ``bind_host`` (``None``: unknown,
    as under a WSGI server other than ``mr-cds serve``; set ``MRCDS_AUTH`` there).
    ``warn``: log that authentication is off (the app does; the CLI's early check not)."""
    public = bind_host is not None and not is_loopback_host(bind_host)
    mode = settings.auth or ("jwt" if settings.trusted_issuers or public else "off")
    if mode == "off":
        if public and not settings.allow_insecure:
            raise ConfigurationError(
                "MRCDS_AUTH: authentication is off on a non-loopback address; configure "
                "MRCDS_TRUSTED_ISSUERS (and MRCDS_PUBLIC_BASE_URL) or set MRCDS_ALLOW_INSECURE=1"
            )
        if warn:
            log.warning("client authentication is OFF (MRCDS_AUTH=off): any caller is served")
        return AuthConfig("off")
    if not settings.trusted_issuers:
        raise ConfigurationError("MRCDS_TRUSTED_ISSUERS: required when MRCDS_AUTH is jwt")
    try:
        issuers = load_issuers(settings.trusted_issuers)
    except ValueError as exc:
        raise ConfigurationError(f"MRCDS_TRUSTED_ISSUERS: {exc}") from None
    if not settings.public_base_url:
        raise ConfigurationError(
            "MRCDS_PUBLIC_BASE_URL: required when MRCDS_AUTH is jwt (each token's aud is built from it)"
        )
    return AuthConfig("jwt", issuers, settings.public_base_url, settings.jwt_max_expiry_s)
