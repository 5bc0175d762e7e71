"""The Flask app factory and the one place where errors become HTTP responses."""

from __future__ import annotations

import logging
import traceback
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from flask import Flask, Request, Response, jsonify, request
from flask.sessions import NullSession, SessionInterface, SessionMixin
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from cds_service.auth import resolve_auth
from cds_service.auth.guard import install as install_auth
from cds_service.calls.warmup import warm_up
from cds_service.core import metrics
from cds_service.core.errors import CdsError, StorageBusy, operation_outcome
from cds_service.core.json_codec import JsonProvider
from cds_service.core.settings import Settings
from cds_service.db.startup import open_store
from cds_service.http import operations, request_log
from cds_service.http.cors import apply_cors
from cds_service.http.views import blueprint
from fhir_mappings.valuesets import use_site_codes

log = logging.getLogger(__name__)

_HTTP_ISSUE_CODES = {404: "not-found", 405: "not-supported", 413: "too-long", 415: "not-supported"}


class NoSessions(SessionInterface):
    """The service keeps no sessions: it sets no secret key, so Flask's own interface gives
    each request a new, empty ``NullSession`` that refuses writes (0.4% of a served demo
    call, issue 18). This one gives every request the same one; being empty and
    read-only, it reads the same to each."""

    null_session = NullSession()

    def open_session(self, app: Flask, request: Request) -> SessionMixin:
        return self.null_session

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        return None  # never called: Flask saves no null session


class ServiceFlask(Flask):
    """Flask, with no sessions (``NoSessions``) and its answer to "is this an ``async``
    function?" remembered per function.

    Flask asks ``ensure_sync`` for the view and every request hook on every request; each
    answer walks ``inspect.iscoroutinefunction`` (0.6% of a served demo call, issue 18).
    A plain function stays plain, so that answer is kept for the functions it is asked
    about (a bounded number: ``after_this_request`` makes new ones per request).
    """

    session_interface = NoSessions()
    #: How many plain functions are remembered.
    MAX_REMEMBERED = 256

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._plain_functions: set[Callable[..., Any]] = set()

    def ensure_sync(self, func: Callable[..., Any]) -> Callable[..., Any]:
        try:
            if func in self._plain_functions:
                return func
        except TypeError:  # an unhashable callable: asked each time
            return super().ensure_sync(func)
        synced = super().ensure_sync(func)
        if synced is func and len(self._plain_functions) < self.MAX_REMEMBERED:
            self._plain_functions.add(func)
        return synced


def create_app(config: Mapping[str, Any] | None = None, *, bind_host: str | None = None) -> Flask:
    """Build the app: defaults, then ``MRCDS_*`` environment, then ``config``.

    ``bind_host`` (given by ``mr-cds serve``) decides the default authentication mode."""
    settings = Settings.load(config)
    _configure_logging(settings.log_level)
    metrics.set_recording(settings.metrics)
    _use_site_codes(settings)
    auth = resolve_auth(settings, bind_host)
    app = ServiceFlask(__name__)
    app.config["SETTINGS"] = settings
    app.config["AUTH"] = auth
    # Bounds reading a body sent without Content-Length (chunked); with one, the view
    # answers 413 before reading anything.
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.json = JsonProvider(app)  # orjson when installed; keys keep their order
    # Werkzeug would answer `//cds-services/x` with an HTML 308 whose Location is built from
    # the Host header: a path is served as sent, or is a JSON 404.
    app.url_map.merge_slashes = False
    app.register_blueprint(blueprint)
    store = app.extensions["mrcds_store"] = open_store(settings)
    operations.install(app, settings)
    request_log.install(app)
    # Asked for on the database thread, where there is no app context (``offload``).
    install_auth(app, auth, lambda: store.engine)
    _register_error_handlers(app)

    # Without authentication, no web page may call the service from a browser by default;
    # with it, any origin may, since every call must still carry a signed token.
    cors_origins = settings.cors_origins or (("*",) if auth.enabled else ())

    if cors_origins:  # else there is nothing to add (issue 18: no call per request)

        @app.after_request
        def _cors(response: Response) -> Response:
            return apply_cors(request, response, cors_origins)

    @app.after_request
    def _no_store(response: Response) -> Response:
        # Hook answers and feedback receipts are about one patient and one call, errors
        # included: no browser or proxy cache may keep them.
        if request.path.startswith("/cds-services/"):
            response.headers["Cache-Control"] = "no-store"
        return response

    if settings.warm_up:
        warm_up(settings)
    return app


def _use_site_codes(settings: Settings) -> None:
    """The site's own codes (``MRCDS_VALUESETS_DIR``) join the shipped value sets before
    discovery lists its prefetch templates, which carry every code."""
    site = use_site_codes(settings.valuesets_dir or None)
    if site is not None:
        log.info("site codes from %s: %s", site.folder, site.summary())


def _register_error_handlers(app: Flask) -> None:
    @app.errorhandler(StorageBusy)
    def _storage_busy(exc: StorageBusy) -> tuple[Response, int]:
        log.warning("%s %s -> 503 %s", request.method, _route(), exc.diagnostics)
        response = jsonify(exc.to_operation_outcome())
        response.headers["Retry-After"] = str(exc.retry_after_s)
        return response, exc.status

    @app.errorhandler(CdsError)
    def _cds_error(exc: CdsError) -> tuple[Response, int]:
        if exc.status >= 500:
            return _unexpected(exc)
        log.info("%s %s -> %d %s", request.method, _route(), exc.status, exc.issue_code)
        response = jsonify(exc.to_operation_outcome())
        response.headers.update(exc.headers)
        return response, exc.status

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> tuple[Response, int]:
        status = exc.code or 500
        if status >= 500:
            return _unexpected(exc)
        code = _HTTP_ISSUE_CODES.get(status, "processing")
        # Neither the path nor the method is quoted back: both are the caller's text.
        diagnostics = {
            404: "no endpoint at this path",
            405: "method not allowed on this endpoint",
            413: "request body exceeds the size limit",
        }.get(status, exc.name)
        log.info("%s %s -> %d %s", request.method, _route(), status, code)
        response = jsonify(operation_outcome(code, diagnostics))
        if isinstance(exc, MethodNotAllowed) and exc.valid_methods:
            response.headers["Allow"] = ", ".join(sorted(exc.valid_methods))
        return response, status

    @app.errorhandler(Exception)
    def _any_error(exc: Exception) -> tuple[Response, int]:
        return _unexpected(exc)


def _unexpected(exc: BaseException) -> tuple[Response, int]:
    """500 with an error id that is also logged; no trace or message reaches the client."""
    error_id = str(uuid.uuid4())
    # The exception message may quote patient data, so log its type and stack, not its text.
    stack = "".join(traceback.format_tb(exc.__traceback__))
    log.error("error %s on %s %s: %s\n%s", error_id, request.method, _route(), type(exc).__name__, stack)
    body = operation_outcome("exception", f"internal error; error id {error_id}")
    return jsonify(body), 500


def _route() -> str:
    """The matched route (``/cds-services/<service_id>``) for logs; an unmatched path is the
    caller's text and is not logged."""
    rule = request.url_rule
    return rule.rule if rule is not None else "(no route)"


def _configure_logging(level: str) -> None:
    root = logging.getLogger()
    if not root.handlers:
        # One JSON object per line, the request lines included (``cds_service.http.request_log``).
        handler = logging.StreamHandler()
        handler.setFormatter(request_log.JsonFormatter())
        root.addHandler(handler)
    logging.getLogger("cds_service").setLevel(level.upper())
    logging.getLogger("hooks").setLevel(level.upper())
    logging.getLogger("fhir_mappings").setLevel(level.upper())
    # At DEBUG urllib3 logs full request URLs, whose query strings carry patient ids.
    logging.getLogger("urllib3").setLevel(logging.WARNING)
