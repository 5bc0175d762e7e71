"""Watching the service: /readyz, /metrics and the JSON request log line."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import create_engine

from cds_service.calls.demo import shift_times
from cds_service.core import metrics
from cds_service.db.store import Store
from cds_service.fhir.session import close_shared_session
from hooks import rules as rules_module
from tests.cds_service.fhir_server import PATIENT_ID, FixtureFhirServer, load_chart
from tests.conftest import SERVICE_URL, all_keys_null, hook_request, load_json

ROOT = Path(__file__).resolve().parents[2]
SHOCK = ROOT / "examples" / "patients" / "02-cardiogenic-shock.json"


@pytest.fixture
def watched(make_app: Callable[..., Flask]) -> FlaskClient:
    return make_app(metrics="on").test_client()


def sample(client: FlaskClient, name: str, **labels: str) -> float:
    """One sample of ``GET /metrics`` (0 when the series does not exist yet)."""
    text = client.get("/metrics").get_data(as_text=True)
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                return float(s.value)
    return 0.0


def shock_request() -> dict[str, Any]:
    """Demo patient 02 as of now: three cards whatever the day."""
    return shift_times(load_json(SHOCK), datetime.now(UTC))


# --------------------------------------------------------------------------- /readyz


def test_readyz_is_200_when_value_sets_thresholds_and_database_are_usable(client: FlaskClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.get_json() == {
        "status": "ready",
        "checks": {"valuesets": "ok", "thresholds": "ok", "database": "ok"},
        "siteCodes": [],
    }


def test_readyz_is_503_naming_the_database_when_it_cannot_be_reached(make_app: Callable[..., Flask]) -> None:
    # The database went away after start-up: a SQLite file under /proc can never be opened.
    app = make_app()
    app.extensions["mrcds_store"] = Store(
        create_engine("sqlite:////proc/mr-cds-no-such-dir/feedback.sqlite3")
    )
    client = app.test_client()
    response = client.get("/readyz")
    assert response.status_code == 503
    issue = response.get_json()["issue"][0]
    assert issue["code"] == "transient"
    assert issue["diagnostics"] == "not ready: database unreachable"
    assert client.get("/healthz").status_code == 200  # liveness stays cheap and independent


def test_readyz_never_quotes_the_database_error(
    make_app: Callable[..., Flask], monkeypatch: pytest.MonkeyPatch
) -> None:
    def refused(_store: Any) -> str | None:
        raise OSError("password authentication failed for user mrcds with password hunter2")

    monkeypatch.setattr(Store, "readiness_problem", refused)
    response = make_app().test_client().get("/readyz")
    assert response.status_code == 503
    assert "hunter2" not in response.get_data(as_text=True)


# --------------------------------------------------------------------------- /metrics


def test_metrics_are_off_by_default(client: FlaskClient) -> None:
    assert client.get("/metrics").status_code == 404


def test_metrics_are_prometheus_text_when_on(watched: FlaskClient) -> None:
    response = watched.get("/metrics")
    assert response.status_code == 200
    assert response.content_type.startswith("text/plain; version=0.0.4")
    names = {family.name for family in text_string_to_metric_families(response.get_data(as_text=True))}
    assert {
        "mrcds_http_requests",
        "mrcds_http_request_duration_seconds",
        "mrcds_cards_issued",
        "mrcds_fhir_fetch_duration_seconds",
        "mrcds_fhir_fetch_errors",
        "mrcds_jwt_rejections",
        "mrcds_rule_failures",
    } <= names


def test_requests_are_counted_by_route_and_status_never_by_path_as_sent(watched: FlaskClient) -> None:
    route = "/cds-services/<service_id>"
    before_200 = sample(watched, "mrcds_http_requests_total", endpoint=route, status="200")
    before_404 = sample(watched, "mrcds_http_requests_total", endpoint=route, status="404")
    watched.post(SERVICE_URL, json=hook_request(all_keys_null()))
    watched.post("/cds-services/pat-1-secret", json=hook_request(all_keys_null()))
    assert sample(watched, "mrcds_http_requests_total", endpoint=route, status="200") == before_200 + 1
    assert sample(watched, "mrcds_http_requests_total", endpoint=route, status="404") == before_404 + 1
    assert "pat-1-secret" not in watched.get("/metrics").get_data(as_text=True)


def test_cards_are_counted_by_recommendation_and_indicator(watched: FlaskClient) -> None:
    labels = {"recommendation": "mechanical-support", "indicator": "critical"}
    before = sample(watched, "mrcds_cards_issued_total", **labels)
    response = watched.post(SERVICE_URL, json=shock_request())
    assert "mechanical-support" in [c["source"]["topic"]["code"] for c in response.get_json()["cards"]]
    assert sample(watched, "mrcds_cards_issued_total", **labels) == before + 1


def test_metric_objects_are_untouched_when_metrics_are_off(
    make_app: Callable[..., Flask], monkeypatch: pytest.MonkeyPatch
) -> None:
    client = make_app().test_client()  # MRCDS_METRICS defaults to off

    def touched() -> Any:
        raise AssertionError("a metric was recorded with metrics off")

    monkeypatch.setattr(metrics, "_instruments", touched)
    response = client.post(SERVICE_URL, json=shock_request())
    assert response.status_code == 200
    assert len(response.get_json()["cards"]) == 3
    metrics.jwt_rejected("expired")
    metrics.fhir_fetched(0.1, "timeout")
    metrics.issued_cards_written(3)
    metrics.issued_cards_dropped("buffer-full", 1)


def test_metrics_record_again_when_an_app_with_metrics_on_is_made(make_app: Callable[..., Flask]) -> None:
    make_app()
    assert not metrics.recording()
    make_app(metrics="on")
    assert metrics.recording()


def test_warm_up_cards_are_not_counted_as_issued(make_app: Callable[..., Flask]) -> None:
    labels = {"recommendation": "mechanical-support", "indicator": "critical"}
    client = make_app(metrics="on").test_client()
    before = sample(client, "mrcds_cards_issued_total", **labels)
    make_app(metrics="on", warm_up=True)  # evaluates the synthetic chart, which gives this card
    assert sample(client, "mrcds_cards_issued_total", **labels) == before


def test_rule_failures_are_counted_by_rule(watched: FlaskClient, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_: Any) -> Any:
        raise ValueError("boom")

    rules = tuple((rid, broken if rid == "surgical-repair" else rule) for rid, rule in rules_module.RULES)
    monkeypatch.setattr(rules_module, "RULES", rules)
    before = sample(watched, "mrcds_rule_failures_total", rule="surgical-repair")
    watched.post(SERVICE_URL, json=shock_request())
    assert sample(watched, "mrcds_rule_failures_total", rule="surgical-repair") == before + 1


def test_jwt_rejections_are_counted_by_reason(watched: FlaskClient) -> None:
    before = sample(watched, "mrcds_jwt_rejections_total", reason="expired")
    metrics.jwt_rejected("expired")
    assert sample(watched, "mrcds_jwt_rejections_total", reason="expired") == before + 1


@pytest.fixture
def fhir_refusing() -> Iterator[FixtureFhirServer]:
    with FixtureFhirServer(load_chart(datetime.now(UTC)), token="the-right-token") as server:
        yield server
    close_shared_session()


def test_fhir_fetches_are_timed_and_their_errors_counted_by_reason(
    make_app: Callable[..., Flask], fhir_refusing: FixtureFhirServer
) -> None:
    client = make_app(metrics="on", fhir_allowlist=fhir_refusing.base).test_client()
    fetches = sample(client, "mrcds_fhir_fetch_duration_seconds_count")
    refused = sample(client, "mrcds_fhir_fetch_errors_total", reason="http_401")
    body = hook_request(
        None,
        fhirServer=fhir_refusing.base,
        fhirAuthorization={
            "access_token": "a-wrong-token",
            "token_type": "Bearer",
            "expires_in": 300,
            "scope": "user/Condition.read",
            "subject": "mr-cds-hooks",
        },
        context={"userId": "Practitioner/example", "patientId": PATIENT_ID},
    )
    assert client.post(SERVICE_URL, json=body).status_code == 412
    assert sample(client, "mrcds_fhir_fetch_duration_seconds_count") > fetches
    assert sample(client, "mrcds_fhir_fetch_errors_total", reason="http_401") > refused


# --------------------------------------------------------------------------- request log


def access_lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    return [r.fields for r in caplog.records if r.name == "cds_service.access"]  # type: ignore[attr-defined]


def test_one_log_line_per_request_with_the_hook_instance_as_id_and_the_card_topics(
    client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    body = shock_request()
    with caplog.at_level(logging.INFO, logger="cds_service.access"):
        client.post(SERVICE_URL, json=body)
    (line,) = access_lines(caplog)
    assert line["request_id"] == body["hookInstance"]
    assert line["method"] == "POST"
    assert line["endpoint"] == "/cds-services/<service_id>"
    assert line["status"] == 200
    assert line["ms"] >= 0
    assert line["cards"] == ["mechanical-support", "medical-therapy", "surgical-repair"]


def test_a_call_answered_from_its_prefetch_writes_one_log_line_at_info(
    client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        response = client.post(SERVICE_URL, json=shock_request())
    assert response.status_code == 200
    # The call's own thread only: an issued-card writer left by an earlier test's app (its
    # database already removed) may log from its own thread at any moment.
    this_call = threading.get_ident()
    lines = [r.name for r in caplog.records if r.levelno >= logging.INFO and r.thread == this_call]
    assert lines == ["cds_service.access"]


def test_the_request_log_line_carries_no_patient_data(
    client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    body = shock_request()
    patient = body["prefetch"]["patient"]
    with caplog.at_level(logging.INFO, logger="cds_service.access"):
        client.post(SERVICE_URL, json=body)
    (line,) = access_lines(caplog)
    text = json.dumps(line)
    for private in (body["context"]["patientId"], patient["name"][0]["family"], patient["birthDate"]):
        assert private not in text


def test_a_request_without_hook_instance_gets_an_id_of_its_own(
    client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="cds_service.access"):
        client.get("/cds-services")
        client.get("/cds-services", headers={"X-Request-ID": "nginx-req-42"})
        client.get("/cds-services", headers={"X-Request-ID": "Jane Doe, 1950-01-01"})
    first, second, third = access_lines(caplog)
    assert len(first["request_id"]) == 36
    assert second["request_id"] == "nginx-req-42"
    assert "Jane" not in third["request_id"]
    assert "cards" not in first


def test_an_unmatched_path_is_logged_as_unmatched_not_as_sent(
    client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="cds_service.access"):
        client.get("/Patient/pat-1")
    (line,) = access_lines(caplog)
    assert line["endpoint"] == "unmatched"
    assert line["status"] == 404


def test_json_formatter_writes_one_json_object_per_line() -> None:
    from cds_service.http.request_log import JsonFormatter

    record = logging.LogRecord("cds_service.access", logging.INFO, __file__, 1, "request", None, None)
    record.fields = {"status": 200, "endpoint": "/healthz"}
    text = JsonFormatter().format(record)
    assert "\n" not in text
    entry = json.loads(text)
    assert entry["status"] == 200
    assert entry["message"] == "request"
    assert entry["time"].endswith("+00:00")
