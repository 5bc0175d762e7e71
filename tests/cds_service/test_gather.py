"""Gathering the chart: prefetch as sent, absent keys fetched, and what happens when that fails."""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses
import urllib3.exceptions
from requests import exceptions as rexc

from cds_service.calls.gather import CLIENT_FAILED, NOT_FHIR, REQUIRED_MISSING, gather, gather_chart
from cds_service.calls.hook_request import FhirAuthorization, HookRequest
from cds_service.calls.pipeline import run_hook
from cds_service.calls.services import registry
from cds_service.core.errors import DataUnavailable
from cds_service.core.settings import Settings
from cds_service.fhir import client as fhir_client
from cds_service.fhir import session as fhir_session
from cds_service.fhir.session import new_session
from cds_service.fhir.templates import fill_template
from fhir_mappings.requirements import prefetch_keys

BASE = "https://ehr.example/fhir"
TOKEN = "token-for-gather-tests"
KEYS = prefetch_keys()
KEY_NAMES = [k.key for k in KEYS]
RESOURCE_TYPE = {k.key: k.resource_type for k in KEYS}
SETTINGS = replace(Settings(), fhir_allowlist=(BASE,), fhir_timeout_s=5.0)


@pytest.fixture
def session() -> Iterator[requests.Session]:
    s = new_session()
    yield s
    s.close()


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def shared_session_closed() -> Iterator[None]:
    yield
    fhir_session.close_shared_session()


def request(prefetch: dict[str, Any] | None = None, **overrides: Any) -> HookRequest:
    fields: dict[str, Any] = {
        "hook": "patient-view",
        "hook_instance": "hook-1",
        "context": {"userId": "Practitioner/u1", "patientId": "p1"},
        "prefetch": prefetch or {},
        "fhir_server": BASE,
        "fhir_authorization": FhirAuthorization(access_token=TOKEN),
    }
    fields.update(overrides)
    return HookRequest(**fields)


def searchset(resource_type: str, *ids: str, next_url: str | None = None) -> dict[str, Any]:
    b: dict[str, Any] = {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [{"resource": {"resourceType": resource_type, "id": i}} for i in ids],
    }
    if next_url:
        b["link"] = [{"relation": "next", "url": next_url}]
    return b


def full_prefetch() -> dict[str, Any]:
    prefetch: dict[str, Any] = {"patient": {"resourceType": "Patient", "id": "p1"}}
    for name in KEY_NAMES[1:]:
        prefetch[name] = searchset(RESOURCE_TYPE[name], f"{name}-1")
    return prefetch


def key_of(url: str, patient_id: str = "p1") -> str | None:
    """Which key's query ``url`` is (path and parameters compared decoded), if any."""
    path, params = _split(url)
    for key in KEYS:
        if _split(f"{BASE}/{fill_template(key.template, {'patientId': patient_id})}") == (path, params):
            return key.key
    return None


def _split(url: str) -> tuple[str, dict[str, list[str]]]:
    parts = urlsplit(url)
    return parts.path, parse_qs(parts.query)


def param(url: str, name: str) -> str:
    (value,) = _split(url)[1][name]
    return value


def serve_all(
    rsps: responses.RequestsMock, *, answers: dict[str, tuple[int, Any]] | None = None, patient_id: str = "p1"
) -> None:
    """Answer every key's query as ``full_prefetch`` has it, or with ``answers[key]`` (status, body)."""
    data = full_prefetch()

    def answer(req: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        key = key_of(str(req.url), patient_id)
        if key is None:
            return 404, {}, ""
        status, body = (answers or {}).get(key, (200, data[key]))
        return status, {"Content-Type": "application/fhir+json"}, json.dumps(body)

    for resource_type in {*RESOURCE_TYPE.values()}:
        rsps.add_callback(
            responses.GET, re.compile(re.escape(f"{BASE}/{resource_type}") + r"[/?]"), callback=answer
        )


def calls_to(rsps: responses.RequestsMock, resource_type: str) -> list[str]:
    prefix = f"{BASE}/{resource_type}"
    return [str(c.request.url) for c in rsps.calls if str(c.request.url).startswith(prefix)]


# --------------------------------------------------------------------------- present keys


def test_full_prefetch_makes_no_request(session: requests.Session, rsps: responses.RequestsMock) -> None:
    chart = gather(request(full_prefetch()), KEYS, SETTINGS, session=session)
    assert chart.prefetch == full_prefetch()
    assert chart.unavailable == {}
    assert len(rsps.calls) == 0


def test_null_key_is_used_as_no_data_and_not_fetched(
    session: requests.Session, rsps: responses.RequestsMock
) -> None:
    prefetch = full_prefetch() | {"vital-signs": None}
    chart = gather(request(prefetch), KEYS, SETTINGS, session=session)
    assert chart.prefetch["vital-signs"] is None
    assert "vital-signs" not in chart.unavailable
    assert len(rsps.calls) == 0


def test_operation_outcome_key_is_unavailable_and_not_retried(
    session: requests.Session, rsps: responses.RequestsMock
) -> None:
    outcome = {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "timeout"}]}
    chart = gather(request(full_prefetch() | {"labs": outcome}), KEYS, SETTINGS, session=session)
    assert chart.unavailable == {"labs": CLIENT_FAILED}
    assert "labs" not in chart.prefetch
    assert len(rsps.calls) == 0


def test_prefetch_value_that_is_not_fhir_is_unavailable(
    session: requests.Session, rsps: responses.RequestsMock
) -> None:
    chart = gather(request(full_prefetch() | {"labs": "<html>error</html>"}), KEYS, SETTINGS, session=session)
    assert chart.unavailable == {"labs": NOT_FHIR}
    assert len(rsps.calls) == 0


def test_operation_outcome_for_conditions_stops_all_fetching(
    session: requests.Session, rsps: responses.RequestsMock
) -> None:
    prefetch = {"conditions": {"resourceType": "OperationOutcome", "issue": []}}
    chart = gather(request(prefetch), KEYS, SETTINGS, session=session)
    assert chart.unavailable["conditions"] == CLIENT_FAILED
    assert {chart.unavailable[k] for k in KEY_NAMES if k != "conditions"} == {REQUIRED_MISSING}
    assert len(rsps.calls) == 0


# --------------------------------------------------------------------------- absent keys


def test_absent_keys_are_fetched_with_filled_templates(
    session: requests.Session, rsps: responses.RequestsMock
) -> None:
    serve_all(rsps)
    gathered = gather_chart(request(), KEYS, SETTINGS, session=session)
    assert gathered.chart.prefetch == full_prefetch()
    assert gathered.chart.unavailable == {}
    assert set(gathered.fetched) == set(KEY_NAMES)
    sent = {str(c.request.url).split("?")[0].removeprefix(BASE + "/") for c in rsps.calls}
    assert sent == {"Patient/p1"} | {RESOURCE_TYPE[k] for k in KEY_NAMES[1:]}
    for call in rsps.calls:
        assert call.request.headers["Authorization"] == f"Bearer {TOKEN}"
        if "?" in str(call.request.url):
            assert param(str(call.request.url), "patient") == "p1"


def test_conditions_query_carries_the_template_codes(
    session: requests.Session, rsps: responses.RequestsMock
) -> None:
    serve_all(rsps)
    prefetch = full_prefetch()
    del prefetch["conditions"]
    gather(request(prefetch), KEYS, SETTINGS, session=session)
    (url,) = calls_to(rsps, "Condition")
    template = next(k for k in KEYS if k.key == "conditions").template
    assert param(str(rsps.calls[0].request.url), "code") == template.split("code=")[1]
    assert url.startswith(f"{BASE}/Condition?patient=p1&code=")


def test_only_absent_keys_are_fetched(session: requests.Session, rsps: responses.RequestsMock) -> None:
    serve_all(rsps)
    prefetch = full_prefetch()
    for name in ("vital-signs", "labs"):
        del prefetch[name]
    chart = gather(request(prefetch), KEYS, SETTINGS, session=session)
    assert chart.prefetch == full_prefetch()
    assert len(rsps.calls) == 2
    assert all("/Observation?" in str(c.request.url) for c in rsps.calls)


def test_fetched_search_with_no_results_is_null_like_an_ehr_sends_it(
    session: requests.Session, rsps: responses.RequestsMock
) -> None:
    rsps.get(f"{BASE}/Device", json={"resourceType": "Bundle", "type": "searchset", "total": 0})
    prefetch = full_prefetch()
    del prefetch["devices"]
    chart = gather(request(prefetch), KEYS, SETTINGS, session=session)
    assert chart.prefetch["devices"] is None
    assert "devices" not in chart.unavailable


def test_hl7_example_request_without_our_keys_makes_no_request_and_is_412(
    rsps: responses.RequestsMock, shared_session_closed: None
) -> None:
    body = {
        "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
        "fhirServer": "http://hooks.smarthealthit.org:9080",
        "hook": "patient-view",
        "fhirAuthorization": {
            "access_token": "some-opaque-fhir-access-token",
            "token_type": "Bearer",
            "expires_in": 300,
            "scope": "user/Patient.read user/Observation.read",
            "subject": "cds-service4",
        },
        "context": {"userId": "Practitioner/example", "patientId": "1288992", "encounterId": "89284"},
        "prefetch": {"patientToGreet": {"resourceType": "Patient", "gender": "male", "id": "1288992"}},
    }
    service = next(iter(registry().values()))
    for allowlist in ((), ("http://hooks.smarthealthit.org:9080",)):
        settings = replace(SETTINGS, fhir_allowlist=allowlist)
        with pytest.raises(DataUnavailable) as caught:
            run_hook(service, body, settings=settings, now=datetime(2026, 11, 22, tzinfo=UTC))
        assert caught.value.keys == ("conditions",)
        assert "conditions" in caught.value.diagnostics
    assert len(rsps.calls) == 0


def test_absent_conditions_with_401_from_fhir_server_is_412(
    rsps: responses.RequestsMock, shared_session_closed: None
) -> None:
    serve_all(rsps, answers={"conditions": (401, {})})
    body = {
        "hook": "patient-view",
        "hookInstance": "hook-401",
        "fhirServer": BASE,
        "fhirAuthorization": {
            "access_token": TOKEN,
            "token_type": "Bearer",
            "expires_in": 300,
            "scope": "user/*.read",
            "subject": "mr-cds",
        },
        "context": {"userId": "Practitioner/u1", "patientId": "p1"},
    }
    service = next(iter(registry().values()))
    with pytest.raises(DataUnavailable) as caught:
        run_hook(service, body, settings=SETTINGS, now=datetime(2026, 11, 22, tzinfo=UTC))
    assert caught.value.status == 412
    assert caught.value.keys == ("conditions",)
    assert "conditions: the FHIR server refused access (HTTP 401)" in caught.value.diagnostics
    assert caught.value.to_operation_outcome()["issue"][0]["expression"] == ["prefetch.conditions"]
    assert TOKEN not in json.dumps(caught.value.to_operation_outcome())


def test_absent_optional_key_with_403_is_unavailable_and_the_rest_is_kept(
    session: requests.Session, rsps: responses.RequestsMock
) -> None:
    serve_all(rsps, answers={"labs": (403, {})})
    prefetch = full_prefetch()
    del prefetch["labs"]
    chart = gather(request(prefetch), KEYS, SETTINGS, session=session)
    assert chart.unavailable == {"labs": "the FHIR server refused access (HTTP 403)"}
    assert "conditions" in chart.prefetch


def test_5xx_then_success_gives_the_data(session: requests.Session, rsps: responses.RequestsMock) -> None:
    rsps.get(f"{BASE}/Condition", status=503)
    rsps.get(f"{BASE}/Condition", json=searchset("Condition", "conditions-1"))
    prefetch = full_prefetch()
    del prefetch["conditions"]
    chart = gather(request(prefetch), KEYS, SETTINGS, session=session)
    assert chart.prefetch == full_prefetch()
    assert len(rsps.calls) == 2


def test_malformed_json_from_the_server_makes_the_key_unavailable(
    session: requests.Session, rsps: responses.RequestsMock
) -> None:
    rsps.get(
        f"{BASE}/Procedure",
        body='{"resourceType": "Bundle", "entry": [',
        content_type="application/fhir+json",
    )
    prefetch = full_prefetch()
    del prefetch["procedures"]
    chart = gather(request(prefetch), KEYS, SETTINGS, session=session)
    assert chart.unavailable == {"procedures": "the FHIR server's answer is not valid FHIR JSON"}


def test_timeout_on_an_optional_key_degrades_to_a_reason(
    session: requests.Session, rsps: responses.RequestsMock
) -> None:
    rsps.get(f"{BASE}/Observation", body=rexc.ReadTimeout())
    prefetch = full_prefetch()
    del prefetch["vital-signs"]
    chart = gather(request(prefetch), KEYS, SETTINGS, session=session)
    assert chart.unavailable == {"vital-signs": "the FHIR server did not answer in time"}


def test_connection_refused_makes_the_key_unavailable(
    session: requests.Session, rsps: responses.RequestsMock
) -> None:
    refused = rexc.ConnectionError(ConnectionRefusedError(111, "Connection refused"))
    rsps.get(f"{BASE}/Observation", body=refused)
    prefetch = full_prefetch()
    del prefetch["mr-grade"]
    chart = gather(request(prefetch), KEYS, SETTINGS, session=session)
    assert chart.unavailable == {"mr-grade": "the FHIR server could not be reached"}
    assert len(rsps.calls) == 1


def test_connection_reset_then_success_gives_the_data(
    session: requests.Session, rsps: responses.RequestsMock
) -> None:
    reset = rexc.ConnectionError(
        urllib3.exceptions.ProtocolError("aborted", ConnectionResetError(104, "reset"))
    )
    rsps.get(f"{BASE}/Procedure", body=reset)
    rsps.get(f"{BASE}/Procedure", json=searchset("Procedure", "procedures-1"))
    prefetch = full_prefetch()
    del prefetch["procedures"]
    assert gather(request(prefetch), KEYS, SETTINGS, session=session).prefetch == full_prefetch()


def test_read_answered_with_another_resource_type_is_unavailable(
    session: requests.Session, rsps: responses.RequestsMock
) -> None:
    rsps.get(f"{BASE}/Patient/p1", json={"resourceType": "Practitioner", "id": "p1"})
    prefetch = full_prefetch()
    del prefetch["patient"]
    chart = gather(request(prefetch), KEYS, SETTINGS, session=session)
    assert "another resource type" in chart.unavailable["patient"]


def test_search_answered_with_a_resource_is_unavailable(
    session: requests.Session, rsps: responses.RequestsMock
) -> None:
    rsps.get(f"{BASE}/Condition", json={"resourceType": "Condition", "id": "c1"})
    prefetch = full_prefetch()
    del prefetch["conditions"]
    chart = gather(request(prefetch), KEYS, SETTINGS, session=session)
    assert "other than a Bundle" in chart.unavailable["conditions"]


# --------------------------------------------------------------------------- no usable server


@pytest.mark.parametrize(
    ("overrides", "allowlist", "reason_part"),
    [
        ({"fhir_server": None, "fhir_authorization": None}, (BASE,), "gives no FHIR server"),
        ({}, (), "turned off (empty allowlist)"),
        ({"fhir_server": "https://other.example/fhir"}, (BASE,), "not on the allowlist"),
        ({"fhir_server": "http://ehr.example/fhir"}, ("http://ehr.example/fhir",), "does not use https"),
    ],
)
def test_absent_keys_without_a_usable_fhir_server_make_no_request(
    session: requests.Session,
    rsps: responses.RequestsMock,
    overrides: dict[str, Any],
    allowlist: tuple[str, ...],
    reason_part: str,
) -> None:
    prefetch = full_prefetch()
    del prefetch["labs"]
    settings = replace(SETTINGS, fhir_allowlist=allowlist)
    chart = gather(request(prefetch, **overrides), KEYS, settings, session=session)
    assert list(chart.unavailable) == ["labs"]
    assert reason_part in chart.unavailable["labs"]
    assert len(rsps.calls) == 0


def test_open_fhir_server_without_token_is_fetched_without_authorization(
    session: requests.Session, rsps: responses.RequestsMock
) -> None:
    serve_all(rsps)
    chart = gather(request(fhir_authorization=None), KEYS, SETTINGS, session=session)
    assert chart.unavailable == {}
    assert all("Authorization" not in c.request.headers for c in rsps.calls)


def test_patient_id_that_would_climb_the_path_is_not_fetched(
    session: requests.Session, rsps: responses.RequestsMock
) -> None:
    context = {"userId": "Practitioner/u1", "patientId": ".."}
    chart = gather(request(context=context), KEYS, SETTINGS, session=session)
    assert set(chart.unavailable) == set(KEY_NAMES)
    assert "{{context.patientId}}" in chart.unavailable["patient"]
    assert len(rsps.calls) == 0


def test_patient_id_with_url_syntax_is_encoded(
    session: requests.Session, rsps: responses.RequestsMock
) -> None:
    rsps.get(f"{BASE}/Condition", json=searchset("Condition", "c"))
    context = {"userId": "Practitioner/u1", "patientId": "p1&patient=p2#x"}
    prefetch = {k: v for k, v in full_prefetch().items() if k != "conditions"}
    gather(request(prefetch, context=context), KEYS, SETTINGS, session=session)
    assert param(str(rsps.calls[0].request.url), "patient") == "p1&patient=p2#x"
    assert "%26patient%3Dp2%23x" in str(rsps.calls[0].request.url)


# --------------------------------------------------------------------------- paging


def test_prefetched_bundle_with_next_link_is_completed_from_the_server(
    session: requests.Session, rsps: responses.RequestsMock
) -> None:
    rsps.get(f"{BASE}/Condition", json=searchset("Condition", "c2"))
    prefetch = full_prefetch() | {
        "conditions": searchset("Condition", "c1", next_url=f"{BASE}/Condition?page=2")
    }
    gathered = gather_chart(request(prefetch), KEYS, SETTINGS, session=session)
    entries = gathered.chart.prefetch["conditions"]["entry"]
    assert [e["resource"]["id"] for e in entries] == ["c1", "c2"]
    assert gathered.incomplete == {}
    assert gathered.fetched == ()
    assert "link" not in gathered.chart.prefetch["conditions"]


def test_fetched_search_pages_are_merged(session: requests.Session, rsps: responses.RequestsMock) -> None:
    rsps.get(f"{BASE}/Condition", json=searchset("Condition", "c1", next_url=f"{BASE}/Condition?page=2"))
    rsps.get(f"{BASE}/Condition", json=searchset("Condition", "c2", next_url=f"{BASE}/Condition?page=3"))
    rsps.get(f"{BASE}/Condition", json=searchset("Condition", "c3"))
    prefetch = {k: v for k, v in full_prefetch().items() if k != "conditions"}
    chart = gather(request(prefetch), KEYS, SETTINGS, session=session)
    assert [e["resource"]["id"] for e in chart.prefetch["conditions"]["entry"]] == ["c1", "c2", "c3"]


def test_page_cap_keeps_the_pages_read_and_says_so(
    session: requests.Session, rsps: responses.RequestsMock
) -> None:
    for n in range(2, 6):
        rsps.get(
            f"{BASE}/Condition", json=searchset("Condition", f"c{n}", next_url=f"{BASE}/Condition?p={n + 1}")
        )
    prefetch = full_prefetch() | {
        "conditions": searchset("Condition", "c1", next_url=f"{BASE}/Condition?p=2")
    }
    gathered = gather_chart(request(prefetch), KEYS, replace(SETTINGS, fhir_max_pages=2), session=session)
    assert len(gathered.chart.prefetch["conditions"]["entry"]) == 3
    assert gathered.incomplete == {"conditions": "only the first 3 pages of results were read (page limit)"}
    assert "conditions" not in gathered.chart.unavailable
    # The mapping sees it too, so "nothing found" on a cut-short search is never "absent".
    assert gathered.chart.incomplete == {
        "conditions": "only the first 3 pages of results were read (page limit)"
    }


def test_foreign_next_link_in_prefetch_is_not_followed(
    session: requests.Session, rsps: responses.RequestsMock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="cds_service")
    first = searchset("Condition", "c1", next_url="https://attacker.example/fhir/Condition?page=2")
    gathered = gather_chart(request(full_prefetch() | {"conditions": first}), KEYS, SETTINGS, session=session)
    assert [e["resource"]["id"] for e in gathered.chart.prefetch["conditions"]["entry"]] == ["c1"]
    assert gathered.incomplete == {"conditions": "a further page is on another server and was not read"}
    assert len(rsps.calls) == 0
    assert "conditions: partial results" in caplog.text


def test_prefetched_next_link_without_a_usable_server_keeps_the_first_page(
    session: requests.Session, rsps: responses.RequestsMock
) -> None:
    first = searchset("Condition", "c1", next_url=f"{BASE}/Condition?page=2")
    settings = replace(SETTINGS, fhir_allowlist=())
    gathered = gather_chart(request(full_prefetch() | {"conditions": first}), KEYS, settings, session=session)
    assert gathered.chart.prefetch["conditions"] == first
    assert gathered.chart.unavailable == {}
    assert gathered.incomplete["conditions"].startswith("further pages were not read: ")
    assert len(rsps.calls) == 0


def test_failing_later_page_of_prefetched_conditions_does_not_stop_other_fetches(
    session: requests.Session, rsps: responses.RequestsMock
) -> None:
    rsps.get(f"{BASE}/Condition", status=500)  # registered first: it answers the next page
    serve_all(rsps)
    first = searchset("Condition", "c1", next_url=f"{BASE}/Condition?page=2")
    gathered = gather_chart(request({"conditions": first}), KEYS, SETTINGS, session=session)
    assert gathered.chart.unavailable == {}
    assert gathered.chart.prefetch["conditions"]["entry"] == first["entry"]
    assert gathered.chart.prefetch["labs"] == full_prefetch()["labs"]
    assert gathered.incomplete == {
        "conditions": "a further page could not be read: the FHIR server answered with an error (HTTP 500)"
    }


# --------------------------------------------------------------------------- concurrency and deadline


def test_absent_keys_are_fetched_concurrently_up_to_the_worker_bound(
    session: requests.Session, rsps: responses.RequestsMock
) -> None:
    lock = threading.Lock()
    state = {"now": 0, "peak": 0}
    enough = threading.Event()

    def answer(req: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        with lock:
            state["now"] += 1
            state["peak"] = max(state["peak"], state["now"])
            if state["now"] >= 3:
                enough.set()
        enough.wait(timeout=2)  # hold the worker until three run at once (or give up)
        with lock:
            state["now"] -= 1
        path = str(req.url).split("?")[0].removeprefix(BASE + "/")
        if path.startswith("Patient/"):
            return 200, {}, json.dumps({"resourceType": "Patient", "id": "p1"})
        return 200, {}, json.dumps({"resourceType": "Bundle", "type": "searchset"})

    for resource_type in {*RESOURCE_TYPE.values()}:
        rsps.add_callback(responses.GET, f"{BASE}/{resource_type}", callback=answer)
    rsps.add_callback(responses.GET, f"{BASE}/Patient/p1", callback=answer)
    chart = gather(request(), KEYS, replace(SETTINGS, fhir_max_workers=3), session=session)
    assert chart.unavailable == {}
    assert state["peak"] == 3
    assert len(rsps.calls) == len(KEYS)


def test_stuck_fhir_server_cannot_hold_the_call_past_the_deadline(
    session: requests.Session, rsps: responses.RequestsMock
) -> None:
    release = threading.Event()

    def never_answer(_req: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        release.wait(timeout=10)  # a read that the deadline must not wait for
        return 200, {}, json.dumps({"resourceType": "Bundle", "type": "searchset"})

    rsps.add_callback(responses.GET, f"{BASE}/Observation", callback=never_answer)
    prefetch = full_prefetch()
    del prefetch["vital-signs"]
    settings = replace(SETTINGS, fhir_timeout_s=0.3)
    started = time.monotonic()
    try:
        chart = gather(request(prefetch), KEYS, settings, session=session)
        elapsed = time.monotonic() - started
    finally:
        release.set()
    assert chart.unavailable == {"vital-signs": "the FHIR server did not answer in time"}
    assert elapsed < 0.3 + 1.5


def test_required_key_failure_stops_waiting_for_the_others(
    session: requests.Session, rsps: responses.RequestsMock
) -> None:
    release = threading.Event()

    def slow(_req: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        release.wait(timeout=10)
        return 200, {}, json.dumps({"resourceType": "Bundle", "type": "searchset"})

    rsps.get(f"{BASE}/Condition", status=401)
    rsps.add_callback(responses.GET, f"{BASE}/Observation", callback=slow)
    prefetch = {k: v for k, v in full_prefetch().items() if k not in ("conditions", "labs")}
    try:
        chart = gather(request(prefetch), KEYS, replace(SETTINGS, fhir_timeout_s=30), session=session)
    finally:
        release.set()
    assert chart.unavailable == {
        "conditions": "the FHIR server refused access (HTTP 401)",
        "labs": REQUIRED_MISSING,
    }


def test_logs_carry_hook_key_and_status_but_no_token_or_patient(
    session: requests.Session, rsps: responses.RequestsMock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="cds_service")
    serve_all(rsps, answers={"labs": (503, {})}, patient_id="patient-secret-id")
    context = {"userId": "Practitioner/u1", "patientId": "patient-secret-id"}
    gather(request(context=context), KEYS, SETTINGS, session=session)
    assert "hook-1 conditions: 200" in caplog.text
    assert TOKEN not in caplog.text
    assert "patient-secret-id" not in caplog.text


def test_default_pool_runs_every_key_at_once() -> None:
    # More keys than workers would queue a whole search behind another (issue 12: 456 ms
    # against a 343 ms slowest chain with 4 workers); pages of one search stay sequential.
    assert Settings().fhir_max_workers >= len(KEYS)


def test_a_bug_while_fetching_propagates_instead_of_passing_for_an_unavailable_server(
    session: requests.Session, rsps: responses.RequestsMock, monkeypatch: pytest.MonkeyPatch
) -> None:
    serve_all(rsps)

    def broken(body: bytes) -> dict[str, Any]:
        raise KeyError("a bug of ours")

    monkeypatch.setattr(fhir_client, "parse_resource", broken)
    with pytest.raises(KeyError):
        gather(request({}), KEYS, SETTINGS, session=session)
