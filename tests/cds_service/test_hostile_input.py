"""Hostile input gets a 4xx OperationOutcome naming a JSON path, never a 500 and never
the caller's own text back."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from cds_service.calls.schemas import validate_feedback, validate_request
from cds_service.core import json_codec
from cds_service.core.errors import MalformedJson, SchemaViolation
from cds_service.db.tables import feedback
from cds_service.http.input import check_structure
from tests.conftest import SERVICE_URL, all_keys_null, hook_request

FEEDBACK_URL = f"{SERVICE_URL}/feedback"
MARKER = "Maria Rossi 1948-07-19"


def _post_raw(client: FlaskClient, path: str, raw: str | bytes) -> Any:
    return client.post(path, data=raw, content_type="application/json")


def _issue(response: Any) -> dict[str, Any]:
    body = response.get_json()
    assert body["resourceType"] == "OperationOutcome"
    return body["issue"][0]  # type: ignore[no-any-return]


def _feedback(**changes: Any) -> dict[str, Any]:
    item = {
        "card": "9368d37b-283f-44a0-93ea-547cebab93ed",
        "outcome": "overridden",
        "overrideReason": {"reason": {"code": "already-addressed", "system": "urn:x"}, "userComment": "ok"},
        "outcomeTimestamp": "2026-11-30T10:00:00Z",
    }
    item.update(changes)
    return {"feedback": [item]}


def test_deeply_nested_arrays_are_400(client: FlaskClient) -> None:
    response = _post_raw(client, SERVICE_URL, "[" * 100_000)
    assert response.status_code == 400
    assert _issue(response)["expression"] == ["(body)"]


def test_nesting_within_the_parser_but_over_the_limit_is_400_with_a_path(client: FlaskClient) -> None:
    nested: Any = "leaf"
    for _ in range(600):
        nested = {"a": nested}
    # Written by the standard library: orjson (the app's encoder) stops at 255 levels.
    response = _post_raw(client, SERVICE_URL, json.dumps(hook_request(all_keys_null(), extension=nested)))
    assert response.status_code == 400
    assert _issue(response)["expression"][0].startswith("extension.a.a.a")


def test_five_thousand_digit_integer_is_400(client: FlaskClient) -> None:
    body = json.dumps(hook_request(all_keys_null())).replace('"hook"', '"n": ' + "9" * 5000 + ', "hook"', 1)
    response = _post_raw(client, SERVICE_URL, body)
    assert response.status_code == 400
    assert "9999" not in response.get_data(as_text=True)


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_non_json_numbers_are_400(client: FlaskClient, constant: str) -> None:
    body = json.dumps(hook_request(all_keys_null())).replace('"hook"', f'"n": {constant}, "hook"', 1)
    assert _post_raw(client, SERVICE_URL, body).status_code == 400


def _deep_condition(element: str | None) -> dict[str, Any]:
    extension: dict[str, Any] = {"url": "http://example.org/x", "valueString": "leaf"}
    for _ in range(120):
        extension = {"url": "http://example.org/x", "extension": [extension]}
    condition = {
        "resourceType": "Condition",
        "id": "deep",
        "subject": {"reference": "Patient/pat-1"},
        "code": {"coding": [{"system": "http://snomed.info/sct", "code": "48724000"}]},
    }
    if element is not None:
        condition[element] = [extension]
    prefetch = all_keys_null()
    entry = [{"resource": condition}]
    prefetch["conditions"] = {"resourceType": "Bundle", "type": "searchset", "entry": entry}
    return prefetch


def test_condition_with_120_nested_modifier_extensions_is_left_out_not_a_500(client: FlaskClient) -> None:
    # A modifier extension is read (it may change the meaning): validated, too deep, left out.
    response = client.post(SERVICE_URL, json=hook_request(_deep_condition("modifierExtension")))
    assert response.status_code == 200
    assert response.get_json() == {"cards": []}


def test_condition_with_120_nested_extensions_no_rule_reads_counts_not_a_500(client: FlaskClient) -> None:
    # ``extension`` is not read, so not validated (issue 18): the Condition counts as without it.
    response = client.post(SERVICE_URL, json=hook_request(_deep_condition("extension")))
    plain = client.post(SERVICE_URL, json=hook_request(_deep_condition(None)))
    assert response.status_code == plain.status_code == 200
    summaries = [c["summary"] for c in response.get_json()["cards"]]
    assert summaries == [c["summary"] for c in plain.get_json()["cards"]]
    assert summaries


def test_lone_surrogate_in_feedback_is_400_and_nothing_is_stored(client: FlaskClient, app: Flask) -> None:
    raw = json.dumps(_feedback()).replace('"userComment": "ok"', '"userComment": "\\ud800"')
    response = _post_raw(client, FEEDBACK_URL, raw)
    assert response.status_code == 400
    # orjson refuses the surrogate while parsing (no path to give); the standard library
    # parses it and the structure check names where it is.
    where = "(body)" if json_codec.BACKEND == "orjson" else "feedback.0.overrideReason.userComment"
    assert _issue(response)["expression"] == [where]
    with app.extensions["mrcds_store"].engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(feedback)).scalar_one() == 0


def test_lone_surrogate_in_a_key_is_400(client: FlaskClient) -> None:
    raw = json.dumps(hook_request(all_keys_null())).replace('"hook"', '"\\udfff": 1, "hook"', 1)
    assert _post_raw(client, SERVICE_URL, raw).status_code == 400


def test_nul_in_feedback_is_400_and_nothing_is_stored(client: FlaskClient, app: Flask) -> None:
    # PostgreSQL text cannot hold NUL: the insert failed with a 500 there.
    raw = json.dumps(_feedback()).replace('"userComment": "ok"', '"userComment": "a\\u0000b"')
    response = _post_raw(client, FEEDBACK_URL, raw)
    assert response.status_code == 400
    assert _issue(response)["expression"] == ["feedback.0.overrideReason.userComment"]
    assert "NUL" in _issue(response)["diagnostics"]
    with app.extensions["mrcds_store"].engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(feedback)).scalar_one() == 0


def test_nul_in_a_hook_request_string_or_key_is_400(client: FlaskClient) -> None:
    body = json.dumps(hook_request(all_keys_null()))
    in_value = body.replace('"pat-1"', '"pat\\u0000-1"', 1)
    in_key = body.replace('"hook"', '"x\\u0000": 1, "hook"', 1)
    assert _issue(_post_raw(client, SERVICE_URL, in_value))["expression"] == ["context.patientId"]
    assert _post_raw(client, SERVICE_URL, in_key).status_code == 400


def test_an_escaped_backslash_before_u0000_is_not_a_nul(client: FlaskClient) -> None:
    body = json.dumps(hook_request(all_keys_null(), extension={"note": "C:\\u0000"}))
    assert "\\\\u0000" in body
    assert _post_raw(client, SERVICE_URL, body).status_code == 200


def test_more_resources_than_the_cap_is_413(make_app: Callable[..., Flask]) -> None:
    client = make_app(max_resources=10).test_client()
    prefetch = all_keys_null()
    prefetch["conditions"] = {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [{"resource": {"resourceType": "Condition", "id": f"c{i}"}} for i in range(11)],
    }
    response = client.post(SERVICE_URL, json=hook_request(prefetch))
    assert response.status_code == 413
    assert "MRCDS_MAX_RESOURCES" in _issue(response)["diagnostics"]


def test_wrong_method_is_405_with_allow(client: FlaskClient) -> None:
    response = client.put(SERVICE_URL, json={})
    assert response.status_code == 405
    assert set(response.headers["Allow"].replace(" ", "").split(",")) >= {"POST", "OPTIONS"}
    assert "PUT" not in response.get_data(as_text=True)
    assert SERVICE_URL not in response.get_data(as_text=True)


def test_discovery_405_allows_get(client: FlaskClient) -> None:
    response = client.post("/cds-services", json={})
    assert response.status_code == 405
    assert "GET" in response.headers["Allow"]


def test_unknown_path_is_404_without_echoing_it(client: FlaskClient) -> None:
    response = client.get("/Maria-Rossi-1948-07-19")
    assert response.status_code == 404
    assert "Maria" not in response.get_data(as_text=True)


def test_unknown_service_is_404_without_echoing_its_id(client: FlaskClient) -> None:
    response = client.post("/cds-services/Maria-Rossi", json=hook_request(all_keys_null()))
    assert response.status_code == 404
    assert "Maria" not in response.get_data(as_text=True)


def test_content_type_is_not_echoed(client: FlaskClient) -> None:
    response = client.post(SERVICE_URL, data="{}", content_type="text/maria-rossi")
    assert response.status_code == 415
    assert "maria" not in response.get_data(as_text=True).lower()


def test_unknown_hook_is_400_without_echoing_it(client: FlaskClient) -> None:
    response = client.post(SERVICE_URL, json=hook_request(all_keys_null(), hook=MARKER))
    assert response.status_code == 400
    assert _issue(response)["expression"] == ["hook"]
    assert "Maria" not in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("hookInstance", "d1577c69\n"),
        ("hookInstance", MARKER),
        ("fhirServer", "https://fhir.example.org\n"),
    ],
)
def test_pattern_fields_refuse_a_trailing_newline_and_do_not_echo(
    client: FlaskClient, field: str, value: str
) -> None:
    response = client.post(SERVICE_URL, json=hook_request(all_keys_null(), **{field: value}))
    assert response.status_code == 400
    assert _issue(response)["expression"] == [field]
    assert value.strip() not in response.get_data(as_text=True)


def test_context_patient_id_with_a_trailing_newline_is_refused() -> None:
    body = hook_request(all_keys_null())
    body["context"]["patientId"] = "pat-1\n"
    with pytest.raises(Exception, match=r"context\.patientId"):
        validate_request(body)


@pytest.mark.parametrize(
    "stamp",
    [
        "\u0662\u0660\u0662\u0666-\u0661\u0661-\u0663\u0660T10:00:00Z",  # Arabic-Indic digits
        "2026-11-30T10:00:00Z\n",
        "2026-11-30T10:00:00." + "1" * 40 + "Z",
    ],
    ids=["arabic-indic-digits", "trailing-newline", "unbounded-fraction"],
)
def test_outcome_timestamp_is_ascii_anchored_and_bounded(client: FlaskClient, stamp: str) -> None:
    response = client.post(FEEDBACK_URL, json=_feedback(outcomeTimestamp=stamp))
    assert response.status_code == 400
    assert _issue(response)["expression"] == ["feedback.0.outcomeTimestamp"]


def test_outcome_timestamp_with_nanoseconds_fits_the_column() -> None:
    stamp = "2026-11-30T10:00:00.123456789+05:30"
    validate_feedback(_feedback(outcomeTimestamp=stamp))
    assert len(stamp) <= 40


def test_structure_check_names_the_field_holding_a_lone_surrogate() -> None:
    # What the standard-library parser lets through (orjson already refuses it).
    body = {"feedback": [{"overrideReason": {"userComment": "\ud800"}}]}
    with pytest.raises(MalformedJson) as caught:
        check_structure(body, None)
    assert caught.value.expression == ("feedback.0.overrideReason.userComment",)


# --- limits before work (issue 17) ----------------------------------------------------


def test_a_huge_invalid_feedback_array_is_refused_before_validation(client: FlaskClient) -> None:
    # 170,000 invalid entries grew a worker to 1.36 GiB: every error was collected and sorted.
    raw = '{"feedback": [' + ",".join(["{}"] * 170_000) + "]}"
    response = _post_raw(client, FEEDBACK_URL, raw)
    assert response.status_code == 400
    assert _issue(response)["expression"] == ["feedback"]


def test_the_feedback_entry_cap_is_the_schemas_max_items() -> None:
    from cds_service.calls.schemas import MAX_FEEDBACK_ENTRIES, schema

    assert schema("feedback")["properties"]["feedback"]["maxItems"] == MAX_FEEDBACK_ENTRIES


def test_an_object_with_too_many_keys_is_refused_before_validation(client: FlaskClient) -> None:
    context = {f"k{i}": i for i in range(5000)} | {"userId": "Practitioner/x", "patientId": "p"}
    response = client.post(SERVICE_URL, json=hook_request(all_keys_null(), context=context))
    assert response.status_code == 413
    assert _issue(response)["expression"] == ["context"]


def test_many_invalid_entries_are_reported_by_one_error_without_collecting_them_all(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from jsonschema import Draft202012Validator

    from cds_service.calls import schemas

    seen = []
    real = Draft202012Validator.iter_errors

    def counting(self: Any, instance: Any, *args: Any) -> Any:
        for error in real(self, instance, *args):
            seen.append(error)
            yield error

    monkeypatch.setattr(Draft202012Validator, "iter_errors", counting)
    with pytest.raises(SchemaViolation):
        validate_feedback({"feedback": [{}] * 400})
    assert len(seen) <= schemas.FIRST_ERRORS
