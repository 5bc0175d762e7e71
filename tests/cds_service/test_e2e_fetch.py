"""End to end: a real FHIR server on loopback answers what the EHR did not prefetch.

The same chart must give the same cards with full prefetch, partial prefetch (including a
first page whose ``next`` link the service follows) and no prefetch at all; a FHIR server
that is too slow must not hold the answer past the deadline.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from flask.testing import FlaskClient

from cds_service.calls.gather import gather_chart
from cds_service.calls.hook_request import HookRequest
from cds_service.core.settings import Settings
from cds_service.fhir.client import next_link
from cds_service.fhir.session import close_shared_session
from cds_service.fhir.templates import fill_template
from cds_service.http.app import create_app
from fhir_mappings.requirements import prefetch_keys
from tests.cds_service.fhir_server import PATIENT_ID, FixtureFhirServer, load_chart
from tests.serving import Served, serve

pytestmark = pytest.mark.e2e

TOKEN = "e2e-access-token"
SERVICE_URL = "/cds-services/severe-mitral-regurgitation"
KEYS = prefetch_keys()
CONTEXT = {"userId": "Practitioner/e2e-clinician", "patientId": PATIENT_ID}
DEADLINE_S = 1.0
MARGIN_S = 1.5  # a behaviour bound (the answer does not wait for the server), not a benchmark
MODES = ("full", "partial", "none")


@pytest.fixture(scope="module")
def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


@pytest.fixture(scope="module")
def fhir(now: datetime) -> Iterator[FixtureFhirServer]:
    with FixtureFhirServer(load_chart(now), token=TOKEN) as server:
        yield server


@pytest.fixture(scope="module")
def slow_fhir(now: datetime) -> Iterator[FixtureFhirServer]:
    with FixtureFhirServer(load_chart(now), token=TOKEN, delay_s=DEADLINE_S + 2) as server:
        yield server


@pytest.fixture(autouse=True)
def _close_shared_session() -> Iterator[None]:
    yield
    close_shared_session()


@pytest.fixture
def client(fhir: FixtureFhirServer, slow_fhir: FixtureFhirServer, tmp_path: Path) -> FlaskClient:
    app = create_app(
        {
            "database_url": f"sqlite:///{tmp_path / 'feedback.sqlite3'}",
            "fhir_allowlist": f"{fhir.base},{slow_fhir.base}",
            "fhir_timeout_s": DEADLINE_S,
        }
    )
    return app.test_client()


def hook_body(fhir_base: str, prefetch: dict[str, Any] | None, *, token: str = TOKEN) -> dict[str, Any]:
    body: dict[str, Any] = {
        "hook": "patient-view",
        "hookInstance": "5f2b8a8e-7c7a-4a53-9b7e-0d4c9a3f1e21",
        "fhirServer": fhir_base,
        "fhirAuthorization": {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": 300,
            "scope": "user/Patient.read user/Condition.read user/Observation.read",
            "subject": "mr-cds-hooks",
        },
        "context": CONTEXT,
    }
    if prefetch is not None:
        body["prefetch"] = prefetch
    return body


def full_prefetch(fhir: FixtureFhirServer) -> dict[str, Any]:
    """What an EHR sends when it satisfies every template: complete results, null when none."""
    return {k.key: fhir.answer(fill_template(k.template, CONTEXT)) for k in KEYS}


def partial_prefetch(fhir: FixtureFhirServer) -> dict[str, Any]:
    """Some keys complete, Conditions as a first page with a ``next`` link, the rest absent."""
    full = full_prefetch(fhir)
    template = next(k.template for k in KEYS if k.key == "conditions")
    with requests.Session() as session:
        response = session.get(
            f"{fhir.base}/{fill_template(template, CONTEXT)}",
            headers={"Authorization": f"Bearer {TOKEN}", "Accept": "application/fhir+json"},
            timeout=5,
        )
        first_page = response.json()
    assert next_link(first_page) is not None  # the server pages: the service must follow
    return {
        "patient": full["patient"],
        "conditions": first_page,
        "labs": full["labs"],
        "devices": full["devices"],
    }


def prefetch_for(mode: str, fhir: FixtureFhirServer) -> dict[str, Any] | None:
    if mode == "full":
        return full_prefetch(fhir)
    if mode == "partial":
        return partial_prefetch(fhir)
    return None


def comparable(cards: list[dict[str, Any]]) -> Any:
    """Cards without their random uuids and without the minute the call was made at."""

    def strip(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k != "uuid"}
        if isinstance(value, list):
            return [strip(v) for v in value]
        if isinstance(value, str):
            return re.sub(r"as of \d{4}-\d\d-\d\d \d\d:\d\d UTC", "as of <now>", value)
        return value

    return strip(cards)


# --------------------------------------------------------------------------- same data, same cards


def test_gathered_chart_is_the_same_with_full_partial_and_no_prefetch(fhir: FixtureFhirServer) -> None:
    settings = replace(Settings(), fhir_allowlist=(fhir.base,), fhir_timeout_s=5.0)
    charts = {}
    requests_made = {}
    for mode in MODES:
        before = fhir.request_count
        request = HookRequest.from_json(hook_body(fhir.base, prefetch_for(mode, fhir)))
        gathered = gather_chart(request, KEYS, settings)
        assert gathered.chart.unavailable == {}
        assert gathered.incomplete == {}
        charts[mode] = gathered.chart
        requests_made[mode] = fhir.request_count - before
    assert charts["full"] == charts["partial"] == charts["none"]
    assert requests_made["full"] == 0
    assert 0 < requests_made["partial"] < requests_made["none"]
    assert charts["none"].prefetch["devices"] is None  # an empty search reads like the EHR's null


def test_cards_are_the_same_with_full_partial_and_no_prefetch(
    client: FlaskClient, fhir: FixtureFhirServer
) -> None:
    cards = {}
    for mode in MODES:
        response = client.post(SERVICE_URL, json=hook_body(fhir.base, prefetch_for(mode, fhir)))
        assert response.status_code == 200, response.get_json()
        cards[mode] = comparable(response.get_json()["cards"])
    assert cards["full"], "the fixture chart (severe MR in shock) should give cards"
    assert cards["full"] == cards["partial"] == cards["none"]


def test_wrong_token_for_conditions_is_412_naming_the_key(
    client: FlaskClient, fhir: FixtureFhirServer
) -> None:
    response = client.post(SERVICE_URL, json=hook_body(fhir.base, None, token="not-the-token"))
    assert response.status_code == 412
    issue = response.get_json()["issue"][0]
    assert issue["expression"] == ["prefetch.conditions"]
    assert "conditions: the FHIR server refused access (HTTP 401)" in issue["diagnostics"]
    assert "not-the-token" not in response.get_data(as_text=True)


def test_fhir_server_not_on_the_allowlist_is_never_called(now: datetime, tmp_path: Path) -> None:
    app = create_app(
        {"database_url": f"sqlite:///{tmp_path / 'f.sqlite3'}", "fhir_allowlist": "https://ehr.example"}
    )
    # A server of its own: requests of earlier tests still in flight must not be counted here.
    with FixtureFhirServer(load_chart(now), token=TOKEN) as fhir:
        response = app.test_client().post(SERVICE_URL, json=hook_body(fhir.base, None))
        assert fhir.request_count == 0
    assert response.status_code == 412
    assert "not on the allowlist" in response.get_json()["issue"][0]["diagnostics"]


# --------------------------------------------------------------------------- deadline


def test_slow_fhir_server_for_conditions_gives_412_within_the_deadline(
    client: FlaskClient, slow_fhir: FixtureFhirServer
) -> None:
    started = time.monotonic()
    response = client.post(SERVICE_URL, json=hook_body(slow_fhir.base, None))
    elapsed = time.monotonic() - started
    assert response.status_code == 412
    assert (
        "conditions: the FHIR server did not answer in time" in response.get_json()["issue"][0]["diagnostics"]
    )
    assert elapsed < DEADLINE_S + MARGIN_S


def test_slow_fhir_server_for_an_optional_key_gives_cards_within_the_deadline(
    client: FlaskClient, fhir: FixtureFhirServer, slow_fhir: FixtureFhirServer
) -> None:
    prefetch = full_prefetch(fhir)
    del prefetch["vital-signs"]
    started = time.monotonic()
    response = client.post(SERVICE_URL, json=hook_body(slow_fhir.base, prefetch))
    elapsed = time.monotonic() - started
    assert response.status_code == 200
    assert response.get_json()["cards"]
    # The cards say what could not be retrieved in clinical words, never the server's (spec 2.1).
    text = response.get_data(as_text=True)
    assert "vital signs could not be read" in text
    assert "did not answer in time" not in text
    assert elapsed < DEADLINE_S + MARGIN_S


def test_slow_later_pages_keep_the_first_page_within_the_deadline(now: datetime) -> None:
    settings = replace(Settings(), fhir_timeout_s=DEADLINE_S)
    chart = load_chart(now)
    with FixtureFhirServer(
        chart, token=TOKEN, delay_s=DEADLINE_S + 2, delay_later_pages_only=True
    ) as slow_pages:
        request = HookRequest.from_json(hook_body(slow_pages.base, None))
        started = time.monotonic()
        gathered = gather_chart(request, KEYS, replace(settings, fhir_allowlist=(slow_pages.base,)))
        elapsed = time.monotonic() - started
    assert "conditions" not in gathered.chart.unavailable  # no 412: the first page is data
    assert len(gathered.chart.prefetch["conditions"]["entry"]) == 3  # the server's page size
    assert gathered.incomplete["conditions"] == (
        "a further page could not be read: the FHIR server did not answer in time"
    )
    assert elapsed < DEADLINE_S + MARGIN_S


# --------------------------------------------------------------------------- the real service


@pytest.fixture(scope="module")
def served(
    fhir: FixtureFhirServer, slow_fhir: FixtureFhirServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    """``mr-cds serve`` under gunicorn, allowed to call the two loopback FHIR servers."""
    tmp = tmp_path_factory.mktemp("serve-fetch")
    env = {
        "MRCDS_DATABASE_URL": f"sqlite:///{tmp / 'x.sqlite3'}",
        "MRCDS_FHIR_ALLOWLIST": f"{fhir.base},{slow_fhir.base}",
        "MRCDS_FHIR_TIMEOUT_S": str(DEADLINE_S),
    }
    with serve(tmp, env) as running:
        yield running


def _post(url: str, body: dict[str, Any]) -> requests.Response:
    with requests.Session() as session:
        return session.post(
            url, data=json.dumps(body), headers={"Content-Type": "application/json"}, timeout=15
        )


def test_served_service_gives_the_same_cards_without_prefetch(
    served: Served, fhir: FixtureFhirServer
) -> None:
    cards = {}
    for mode in MODES:
        response = _post(f"{served.base}{SERVICE_URL}", hook_body(fhir.base, prefetch_for(mode, fhir)))
        assert response.status_code == 200, response.text
        cards[mode] = comparable(response.json()["cards"])
    assert cards["full"]
    assert cards["full"] == cards["partial"] == cards["none"]


def test_served_service_answers_412_within_the_deadline_when_the_server_is_slow(
    served: Served, slow_fhir: FixtureFhirServer
) -> None:
    started = time.monotonic()
    response = _post(f"{served.base}{SERVICE_URL}", hook_body(slow_fhir.base, None))
    elapsed = time.monotonic() - started
    assert response.status_code == 412
    assert "did not answer in time" in response.json()["issue"][0]["diagnostics"]
    assert elapsed < DEADLINE_S + MARGIN_S


def test_served_logs_name_keys_and_statuses_but_no_token_or_patient(
    served: Served, fhir: FixtureFhirServer
) -> None:
    assert _post(f"{served.base}{SERVICE_URL}", hook_body(fhir.base, None)).status_code == 200
    log = served.log()
    assert "conditions: 200 in" in log  # each fetch is logged with key, status and time
    assert TOKEN not in log
    assert PATIENT_ID not in log
