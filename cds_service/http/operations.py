"""Endpoints for the people and machines that run the service: readiness and metrics.

Neither needs authentication and neither says anything about patients. ``/metrics`` exists
only with ``MRCDS_METRICS=on``; keep it off the public network (see the README).
"""

from __future__ import annotations

from flask import Blueprint, Flask, Response, abort, current_app, jsonify, request

from cds_service.core import metrics
from cds_service.core.errors import operation_outcome
from cds_service.core.settings import Settings
from cds_service.http import readiness
from cds_service.http.views import feedback_store

blueprint = Blueprint("operations", __name__)


@blueprint.get("/readyz")
def ready() -> tuple[Response, int]:
    settings: Settings = current_app.config["SETTINGS"]
    checks = readiness.check(settings, lambda: feedback_store().readiness_problem())
    failed = [result for result in checks.values() if result != readiness.OK]
    if failed:
        body = operation_outcome("transient", f"not ready: {'; '.join(failed)}", severity="error")
        return jsonify(body), 503
    body = {"status": "ready", "checks": dict(checks), "siteCodes": readiness.site_codes(settings)}
    return jsonify(body), 200


def install(app: Flask, settings: Settings) -> None:
    """The endpoints, and with ``MRCDS_METRICS_PORT`` the split between the two ports:
    /metrics is answered on that port alone, and that port answers nothing else (gunicorn
    gives the listener's port as ``SERVER_PORT``). Without it no check runs per request."""
    app.register_blueprint(blueprint)
    if not (settings.metrics and settings.metrics_port):
        return
    metrics_port = str(settings.metrics_port)

    @app.before_request
    def _metrics_port_serves_metrics_only() -> None:
        on_metrics_port = request.environ.get("SERVER_PORT") == metrics_port
        if on_metrics_port != (request.path == "/metrics"):
            abort(404)


@blueprint.get("/metrics")
def prometheus() -> Response:
    settings: Settings = current_app.config["SETTINGS"]
    if not settings.metrics:
        abort(404)
    return Response(metrics.exposition(), content_type=metrics.CONTENT_TYPE)
