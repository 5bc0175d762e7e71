"""The JWT check in front of every CDS endpoint (discovery, services, feedback).

Preflights (OPTIONS carry no credentials) and the operational endpoints (``/healthz``,
``/readyz``, ``/metrics``, ``/openapi.yaml``) are not protected.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from flask import Flask, g, request
from sqlalchemy import Engine

from cds_service.auth.keys import KeyStore
from cds_service.auth.mode import AuthConfig
from cds_service.auth.replay import ReplayStore
from cds_service.auth.verify import AuthRejected, Verifier
from cds_service.core import metrics
from cds_service.core.errors import Unauthorized

log = logging.getLogger(__name__)

PROTECTED_PREFIX = "/cds-services"
EXTENSION = "mrcds_verifier"


def install(app: Flask, config: AuthConfig, engine: Callable[[], Engine]) -> None:
    """Check every protected request; ``engine`` gives this process's database engine."""
    if not config.enabled:
        return
    lock = threading.Lock()

    def verifier() -> Verifier:
        # Built in each worker on first use: database engines must not cross a fork.
        with lock:
            current: Verifier | None = app.extensions.get(EXTENSION)
            if current is None:
                current = Verifier(
                    config.issuers,
                    KeyStore(config.issuers),
                    ReplayStore(engine),
                    max_expiry_s=config.max_expiry_s,
                )
                app.extensions[EXTENSION] = current
            return current

    @app.before_request
    def _authenticate() -> None:
        if request.method == "OPTIONS" or not _protected(request.path):
            return
        audience = config.public_base_url + request.path
        try:
            g.cds_client = verifier().verify(request.headers.get("Authorization"), audience)
        except AuthRejected as exc:
            route = request.url_rule.rule if request.url_rule is not None else "(no route)"
            log.info("%s %s -> 401 (%s)", request.method, route, exc.reason.value)
            metrics.jwt_rejected(exc.reason.value)
            raise Unauthorized("authentication required") from None


def _protected(path: str) -> bool:
    return path == PROTECTED_PREFIX or path.startswith(PROTECTED_PREFIX + "/")
