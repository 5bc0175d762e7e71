"""POST /cds-services/{id}: the request contract and its errors (OperationOutcome bodies)."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable
from typing import Any

import pytest
import responses
from flask import Flask
from flask.testing import FlaskClient

from cds_service.calls.schemas import validate_response
from tests.conftest import DATA, SERVICE_URL, all_keys_null, hook_request, load_json


def _outcome(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert body["resourceType"] == "OperationOutcome"
    issue = body["issue"][0]
    assert issue["severity"] == "error"
    assert issue["code"] == code
    assert "Traceback" not in issue["diagnostics"]
    return issue  # type: ignore[no-any-return]


def test_hl7_example_request_gets_412_naming_conditions_and_calls_no_server(client: FlaskClient) -> None:
    body = load_json(DATA / "hl7" / "Binary-CDSHooksRequestPV.json")
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        issue = _outcome(client.post(SERVICE_URL, json=body), 412, "incomplete")
        assert len(mock.calls) == 0  # nothing was fetched from the unlisted http server
    assert issue["expression"] == ["prefetch.conditions"]
    assert "conditions" in issue["diagnostics"]


def test_hl7_example_request_never_echoes_the_access_token(
    client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    body = load_json(DATA / "hl7" / "Binary-CDSHooksRequestPV.json")
    caplog.set_level(logging.DEBUG)
    response = client.post(SERVICE_URL, json=body)
    assert "some-opaque-fhir-access-token" not in response.get_data(as_text=True)
    assert "some-opaque-fhir-access-token" not in caplog.text


def test_every_key_null_is_a_chart_with_no_data_and_no_cards(client: FlaskClient) -> None:
    response = client.post(SERVICE_URL, json=hook_request(all_keys_null()))
    assert response.status_code == 200
    assert response.get_json() == {"cards": []}


def test_conditions_as_operation_outcome_is_412(client: FlaskClient) -> None:
    prefetch = all_keys_null()
    prefetch["conditions"] = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": "timeout"}],
    }
    issue = _outcome(client.post(SERVICE_URL, json=hook_request(prefetch)), 412, "incomplete")
    assert issue["expression"] == ["prefetch.conditions"]


def test_absent_optional_keys_degrade_instead_of_failing(client: FlaskClient) -> None:
    response = client.post(SERVICE_URL, json=hook_request({"conditions": None}))
    assert response.status_code == 200
    validate_response(response.get_json())


def test_prefetch_values_of_every_allowed_shape_are_accepted(client: FlaskClient) -> None:
    prefetch = all_keys_null()
    prefetch["patient"] = {"resourceType": "Patient", "id": "pat-1"}
    prefetch["conditions"] = {"resourceType": "Bundle", "type": "searchset", "entry": []}
    prefetch["labs"] = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": "timeout"}],
    }
    response = client.post(SERVICE_URL, json=hook_request(prefetch))
    assert response.status_code == 200
    validate_response(response.get_json())


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda b: b.pop("hook"), "hook"),
        (lambda b: b.pop("hookInstance"), "hookInstance"),
        (lambda b: b.pop("context"), "context"),
        (lambda b: b["context"].pop("patientId"), "context.patientId"),
        (lambda b: b["context"].update(patientId="../Patient/x"), "context.patientId"),
        (lambda b: b.update(hookInstance=""), "hookInstance"),
        (lambda b: b.update(prefetch={"conditions": 42}), "prefetch.conditions"),
        (lambda b: b.update(prefetch=[]), "prefetch"),
        (lambda b: b.update(fhirAuthorization={"access_token": "t", "token_type": "Bearer"}), "fhirServer"),
        (lambda b: b.update(fhirServer="ftp://x"), "fhirServer"),
    ],
    ids=[
        "no-hook",
        "no-hookInstance",
        "no-context",
        "no-patientId",
        "patientId-not-a-fhir-id",
        "empty-hookInstance",
        "prefetch-value-not-a-resource",
        "prefetch-not-an-object",
        "token-without-fhirServer",
        "fhirServer-not-http",
    ],
)
def test_schema_violation_is_400_naming_the_field(
    client: FlaskClient, mutate: Callable[[dict[str, Any]], Any], field: str
) -> None:
    body = hook_request(all_keys_null())
    mutate(body)
    issue = _outcome(client.post(SERVICE_URL, json=body), 400, "invalid")
    assert issue["expression"] == [field]
    assert field in issue["diagnostics"]


def test_a_hook_other_than_the_services_is_400(client: FlaskClient) -> None:
    body = hook_request(all_keys_null(), hook="order-sign")
    issue = _outcome(client.post(SERVICE_URL, json=body), 400, "invalid")
    assert issue["expression"] == ["hook"]


def test_malformed_json_is_400_without_echoing_the_body(client: FlaskClient) -> None:
    response = client.post(
        SERVICE_URL, data='{"hook": "patient-view", "name": "Jane', content_type="application/json"
    )
    issue = _outcome(response, 400, "structure")
    assert "Jane" not in issue["diagnostics"]


def test_json_that_is_not_an_object_is_400(client: FlaskClient) -> None:
    _outcome(client.post(SERVICE_URL, data="[1, 2]", content_type="application/json"), 400, "invalid")


def test_unknown_service_is_404(client: FlaskClient) -> None:
    issue = _outcome(client.post("/cds-services/no-such-service", json=hook_request()), 404, "not-found")
    assert issue["expression"] == ["id"]
    assert "no-such-service" not in issue["diagnostics"]  # the caller's text is never echoed


def test_unknown_path_is_404_operation_outcome(client: FlaskClient) -> None:
    _outcome(client.get("/nothing-here"), 404, "not-found")


def test_get_on_the_service_is_405_operation_outcome(client: FlaskClient) -> None:
    _outcome(client.get(SERVICE_URL), 405, "not-supported")


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
def test_body_that_is_not_json_typed_is_415(client: FlaskClient, content_type: str | None) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    response = client.post(SERVICE_URL, data=json.dumps(hook_request()), headers=headers)
    _outcome(response, 415, "not-supported")


def test_fhir_json_content_type_is_accepted(client: FlaskClient) -> None:
    response = client.post(
        SERVICE_URL, data=json.dumps(hook_request(all_keys_null())), content_type="application/fhir+json"
    )
    assert response.status_code == 200


class _ExplodingStream(io.RawIOBase):
    """A body that must never be read."""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        raise AssertionError("the body was read although Content-Length was over the limit")


def test_body_over_the_limit_is_413_decided_from_content_length(make_app: Callable[..., Flask]) -> None:
    client = make_app(max_body_bytes=1000).test_client()
    response = client.post(
        SERVICE_URL,
        content_type="application/json",
        environ_overrides={"wsgi.input": _ExplodingStream(), "CONTENT_LENGTH": "5000"},
    )
    issue = _outcome(response, 413, "too-long")
    assert "1000" in issue["diagnostics"]


def test_default_body_limit_is_five_mebibytes(client: FlaskClient) -> None:
    response = client.post(
        SERVICE_URL,
        content_type="application/json",
        environ_overrides={"wsgi.input": _ExplodingStream(), "CONTENT_LENGTH": str(5 * 1024 * 1024 + 1)},
    )
    _outcome(response, 413, "too-long")


def test_unexpected_error_is_500_with_an_error_id_that_is_logged(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # Built at run time so the stack's source lines cannot contain it: only the message can.
    patient_text = "".join(["Ja", "ne Doe, born 1950-01-01"])

    def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise ValueError(patient_text)  # patient data must reach neither log nor client

    monkeypatch.setattr("cds_service.http.views.run_hook_detailed", broken)
    issue = _outcome(client.post(SERVICE_URL, json=hook_request(all_keys_null())), 500, "exception")
    error_id = issue["diagnostics"].rsplit(" ", 1)[-1]
    assert error_id in caplog.text
    assert "ValueError" in caplog.text
    assert "Jane" not in caplog.text
    assert "Jane" not in json.dumps(issue)


def test_every_error_response_carries_cors_headers(make_app: Callable[..., Flask]) -> None:
    client = make_app(cors_origins="*").test_client()  # the default with JWT authentication
    origin = {"Origin": "https://sandbox.cds-hooks.org"}
    for response in (
        client.post(SERVICE_URL, data="{", content_type="application/json", headers=origin),
        client.post("/cds-services/nope", json=hook_request(), headers=origin),
        client.post(SERVICE_URL, json=hook_request({}), headers=origin),
    ):
        assert response.status_code >= 400
        assert response.headers["Access-Control-Allow-Origin"] == "*"
