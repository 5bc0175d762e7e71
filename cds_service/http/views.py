"""HTTP endpoints. Thin: read, validate, hand over, return a dict (the hook call: its Response)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from importlib import resources
from typing import Any

from flask import Blueprint, Response, abort, current_app, request

from cds_service.calls.pipeline import run_hook_detailed
from cds_service.calls.schemas import validate_feedback
from cds_service.calls.services import Service, registry
from cds_service.core import metrics
from cds_service.core.errors import UnknownService
from cds_service.core.settings import Settings
from cds_service.db.store import Store
from cds_service.http import request_log
from cds_service.http.input import read_json_object

log = logging.getLogger(__name__)

blueprint = Blueprint("cds", __name__)


def _settings() -> Settings:
    settings: Settings = current_app.config["SETTINGS"]
    return settings


def _service(service_id: str) -> Service:
    service = registry().get(service_id)
    if service is None:
        raise UnknownService("no CDS service with this id", expression=["id"])
    return service


def feedback_store() -> Store:
    # Opened (and its schema upgraded) once, in create_app.
    store: Store = current_app.extensions["mrcds_store"]
    return store


@blueprint.get("/cds-services")
def discovery() -> dict[str, Any]:
    return {"services": [service.discovery() for service in registry().values()]}


@blueprint.post("/cds-services/<service_id>")
def call_service(service_id: str) -> Response:
    service = _service(service_id)
    # The app and the request behind their proxies, looked up once (each use of a proxy
    # looks up the context again; read_json_object reads the request 7 times, issue 18).
    app = request_log.unproxied(current_app)
    settings: Settings = app.config["SETTINGS"]
    body = read_json_object(
        request_log.unproxied(request),
        settings.max_body_bytes,
        max_resources=settings.max_resources,
        deadline_s=settings.body_read_timeout_s,
    )
    request_log.set_request_id(body.get("hookInstance"))
    now = datetime.now(UTC)
    result = run_hook_detailed(service, body, settings=settings, now=now)
    cards = result.response["cards"]
    if cards:
        # Into this worker's buffer, written in the background: the answer never waits.
        store: Store = app.extensions["mrcds_store"]
        store.record_issued(service.id, body["hookInstance"], cards, issued_at=now)
    request_log.set_card_topics(cards)  # the request's log line says which cards it got
    metrics.cards_issued(cards)
    if result.evaluation is not None:
        metrics.rules_failed(result.evaluation.failed_rules)
    # The response Flask would make of the dict, made here: Flask's make_response spent
    # 4 us of its 9 deciding what a dict is (issue 18).
    response: Response = app.json.response(result.response)
    return response


@blueprint.post("/cds-services/<service_id>/feedback")
def feedback(service_id: str) -> dict[str, Any]:
    service = _service(service_id)
    settings = _settings()
    body = read_json_object(request, settings.max_body_bytes, deadline_s=settings.body_read_timeout_s)
    validate_feedback(body)
    result = feedback_store().add_feedback(service.id, body["feedback"], received_at=datetime.now(UTC))
    log.info(
        "feedback for %s: %d stored, %d duplicate(s), %d for unknown card(s)",
        service.id,
        result.stored,
        result.duplicates,
        result.unknown_cards,
    )
    return result.as_json()


@blueprint.get("/openapi.yaml")
def openapi() -> Response:
    if not _settings().expose_openapi:
        abort(404)
    text = resources.files("cds_service").joinpath("openapi.yaml").read_text(encoding="utf-8")
    return Response(text, mimetype="application/yaml")


@blueprint.get("/healthz")
def health() -> dict[str, str]:
    """Liveness for load balancers and containers: the process answers and the registry loads."""
    registry()
    return {"status": "ok"}
