"""The Flask app factory and the one place where errors become HTTP responses."""

from __future__ import annotations

import logging
import traceback
import uuid
from collections.abc import Mapping
from typing import Any

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException

from cds_service import operations, request_log
from cds_service.cors import apply_cors
from cds_service.db.startup import open_store
from cds_service.errors import CdsError, StorageBusy, operation_outcome
from cds_service.json_codec import JsonProvider
from cds_service.settings import Settings
from cds_service.views import blueprint
from cds_service.warmup import warm_up

log = logging.getLogger(__name__)

_HTTP_ISSUE_CODES = {404: "not-found", 405: "not-supported", 413: "too-long", 415: "not-supported"}


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app: defaults, then ``MRCDS_*`` environment, then ``config``."""
    settings = Settings.load(config)
    _configure_logging(settings.log_level)
    app = Flask(__name__)
    app.config["SETTINGS"] = settings
    # Bounds reading a body sent without Content-Length (chunked); with one, the view
    # answers 413 before reading anything.
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.json = JsonProvider(app)  # orjson when installed; keys keep their order
    app.register_blueprint(blueprint)
    app.extensions["mrcds_store"] = open_store(settings)
    app.register_blueprint(operations.blueprint)
    request_log.install(app)
    _register_error_handlers(app)

    @app.after_request
    def _cors(response: Response) -> Response:
        return apply_cors(request, response, settings.cors_origins)

    if settings.warm_up:
        warm_up(settings)
    return app


def _register_error_handlers(app: Flask) -> None:
    @app.errorhandler(StorageBusy)
    def _storage_busy(exc: StorageBusy) -> tuple[Response, int]:
        log.warning("%s %s -> 503 %s", request.method, request.path, exc.diagnostics)
        response = jsonify(exc.to_operation_outcome())
        response.headers["Retry-After"] = str(exc.retry_after_s)
        return response, exc.status

    @app.errorhandler(CdsError)
    def _cds_error(exc: CdsError) -> tuple[Response, int]:
        if exc.status >= 500:
            return _unexpected(exc)
        log.info("%s %s -> %d %s", request.method, request.path, exc.status, exc.issue_code)
        return jsonify(exc.to_operation_outcome()), exc.status

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> tuple[Response, int]:
        status = exc.code or 500
        if status >= 500:
            return _unexpected(exc)
        code = _HTTP_ISSUE_CODES.get(status, "processing")
        diagnostics = {
            404: f"no endpoint at {request.path}",
            405: f"method {request.method} is not allowed on {request.path}",
            413: "request body exceeds the size limit",
        }.get(status, exc.name)
        return jsonify(operation_outcome(code, diagnostics, [request.path])), status

    @app.errorhandler(Exception)
    def _any_error(exc: Exception) -> tuple[Response, int]:
        return _unexpected(exc)


def _unexpected(exc: BaseException) -> tuple[Response, int]:
    """500 with an error id that is also logged; no trace or message reaches the client."""
    error_id = str(uuid.uuid4())
    # The exception message may quote patient data, so log its type and stack, not its text.
    stack = "".join(traceback.format_tb(exc.__traceback__))
    log.error("error %s on %s %s: %s\n%s", error_id, request.method, request.path, type(exc).__name__, stack)
    body = operation_outcome("exception", f"internal error; error id {error_id}")
    return jsonify(body), 500


def _configure_logging(level: str) -> None:
    root = logging.getLogger()
    if not root.handlers:
        # One JSON object per line, the request lines included (``cds_service.request_log``).
        handler = logging.StreamHandler()
        handler.setFormatter(request_log.JsonFormatter())
        root.addHandler(handler)
    logging.getLogger("cds_service").setLevel(level.upper())
    logging.getLogger("hooks").setLevel(level.upper())
    logging.getLogger("fhir_mappings").setLevel(level.upper())
    # At DEBUG urllib3 logs full request URLs, whose query strings carry patient ids.
    logging.getLogger("urllib3").setLevel(logging.WARNING)
