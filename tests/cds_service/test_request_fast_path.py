"""The request schema's fast path says "valid" only where jsonschema says so too.

``cds_service.calls.request_fast_path`` clears ordinary patient-view requests without jsonschema;
anything it does not clear goes to jsonschema. So it may never accept a body the schema
refuses, and it must clear the requests EHRs really send (else it would be no faster).
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cds_service.calls import request_fast_path
from cds_service.calls.schemas import _fast_limits, _validator, schema
from tests.conftest import hook_request, load_json

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = [
    *sorted((ROOT / "examples" / "patients").glob("*.json")),
    ROOT / "examples" / "hl7-patient-view.json",
    ROOT / "examples" / "empty-chart.json",
]


def fast(body: Any) -> bool:
    return request_fast_path.plainly_valid(body, _fast_limits())


def schema_accepts(body: Any) -> bool:
    return bool(_validator("request").is_valid(body))


def full_request() -> dict[str, Any]:
    """A patient-view request with every field the schema describes."""
    body = hook_request(
        {"patient": {"resourceType": "Patient", "id": "pat-1"}, "conditions": None},
        fhirServer="https://ehr.example.org/fhir",
        fhirAuthorization={
            "access_token": "tok",
            "token_type": "Bearer",
            "expires_in": 300,
            "scope": "patient/*.read",
            "subject": "cds-service",
            "patient": "pat-1",
        },
        extension={"org.example": {"x": 1}},
    )
    body["context"]["encounterId"] = "enc-1"
    return body


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_the_demo_and_example_requests_take_the_fast_path(path: Path) -> None:
    body = load_json(path)
    assert schema_accepts(body)
    assert fast(body)


def test_a_request_with_every_described_field_takes_the_fast_path() -> None:
    assert schema_accepts(full_request())
    assert fast(full_request())


# Paths into the body (a tuple of keys) whose values the property test replaces or deletes.
PATHS: list[tuple[str, ...]] = [
    ("hook",),
    ("hookInstance",),
    ("context",),
    ("context", "patientId"),
    ("context", "userId"),
    ("context", "encounterId"),
    ("fhirServer",),
    ("fhirAuthorization",),
    ("fhirAuthorization", "access_token"),
    ("fhirAuthorization", "token_type"),
    ("fhirAuthorization", "expires_in"),
    ("fhirAuthorization", "scope"),
    ("fhirAuthorization", "subject"),
    ("fhirAuthorization", "patient"),
    ("prefetch",),
    ("prefetch", "patient"),
    ("prefetch", "patient", "resourceType"),
    ("prefetch", "conditions"),
    ("extension",),
]

DELETE = object()

texts = st.one_of(
    st.text(max_size=8),
    st.sampled_from(
        [
            "",
            "patient-view",
            "order-sign",
            "Bearer",
            "bearer",
            "Bearer\n",
            "pat-1\n",
            "Practitioner/x",
            "Device/x",
            "https://x",
            "http://a b",
            "ftp://x",
            "Patient",
            "patient",
            "Bundle1",
            "a" * 65,
            "https://" + "a" * 2050,
            "٣",
        ]
    ),
)
json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.floats(allow_nan=False), texts),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.sampled_from(["resourceType", "a"]), inner, max_size=2),
    ),
    max_leaves=6,
)


def _set(body: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    target: Any = body
    for key in path[:-1]:
        if not isinstance(target, dict) or key not in target:
            return
        target = target[key]
    if not isinstance(target, dict):
        return
    if value is DELETE:
        target.pop(path[-1], None)
    else:
        target[path[-1]] = value


@settings(deadline=None, max_examples=600)
@given(st.lists(st.tuples(st.sampled_from(PATHS), st.one_of(st.just(DELETE), json_values)), max_size=3))
def test_the_fast_path_never_accepts_what_the_schema_refuses(
    changes: list[tuple[tuple[str, ...], Any]],
) -> None:
    body = full_request()
    for path, value in changes:
        _set(body, path, copy.deepcopy(value))
    if fast(body):
        assert schema_accepts(body), body


@settings(deadline=None, max_examples=200)
@given(json_values)
def test_the_fast_path_never_accepts_a_body_that_is_not_a_request(body: Any) -> None:
    if fast(body):
        assert schema_accepts(body)


def _keywords(node: Any, where: str) -> Iterator[tuple[str, str]]:
    """(where, keyword) for every constraint in ``node``, with properties followed."""
    for keyword, value in node.items():
        if keyword in ("description", "$comment", "title", "$schema", "$id", "$defs"):
            continue
        if keyword == "properties":
            for name, sub in value.items():
                yield from _keywords(sub, f"{where}.{name}")
        elif keyword == "additionalProperties":
            yield from _keywords(value, f"{where}.*")
        else:
            yield where, keyword


def test_the_fast_path_checks_every_constraint_of_the_patient_view_slice() -> None:
    """A keyword added to the schema's patient-view slice must be added to the fast path
    (``cds_service/calls/request_fast_path.py``) too; then update this list."""
    request = schema("request")
    top = {k: v for k, v in request.items() if k != "allOf"}
    found = set(_keywords(top, "(body)"))
    found |= set(_keywords(request["$defs"]["patientViewContext"], "(body).context"))
    patient_view = [
        branch for branch in request["allOf"] if branch["if"]["properties"]["hook"]["const"] == "patient-view"
    ]
    assert patient_view == [
        {
            "if": {"properties": {"hook": {"const": "patient-view"}}, "required": ["hook"]},
            "then": {"properties": {"context": {"$ref": "#/$defs/patientViewContext"}}},
        }
    ]
    assert found == {
        ("(body)", "type"),
        ("(body)", "required"),
        ("(body)", "dependentRequired"),
        ("(body).hook", "type"),
        ("(body).hook", "enum"),
        ("(body).hookInstance", "type"),
        ("(body).hookInstance", "pattern"),
        ("(body).fhirServer", "type"),
        ("(body).fhirServer", "pattern"),
        ("(body).fhirServer", "maxLength"),
        ("(body).fhirAuthorization", "type"),
        ("(body).fhirAuthorization", "required"),
        ("(body).fhirAuthorization.access_token", "type"),
        ("(body).fhirAuthorization.access_token", "minLength"),
        ("(body).fhirAuthorization.token_type", "type"),
        ("(body).fhirAuthorization.token_type", "pattern"),
        ("(body).fhirAuthorization.expires_in", "type"),
        ("(body).fhirAuthorization.expires_in", "minimum"),
        ("(body).fhirAuthorization.scope", "type"),
        ("(body).fhirAuthorization.subject", "type"),
        ("(body).fhirAuthorization.patient", "type"),
        ("(body).context", "type"),
        ("(body).prefetch", "type"),
        ("(body).prefetch.*", "type"),
        ("(body).prefetch.*", "required"),
        ("(body).prefetch.*.resourceType", "type"),
        ("(body).prefetch.*.resourceType", "pattern"),
        ("(body).extension", "type"),
        ("(body).context", "required"),
        ("(body).context.patientId", "type"),
        ("(body).context.patientId", "pattern"),
        ("(body).context.userId", "type"),
        ("(body).context.userId", "pattern"),
        ("(body).context.encounterId", "type"),
        ("(body).context.encounterId", "pattern"),
    }
    assert request["required"] == ["hook", "hookInstance", "context"]
    assert request["dependentRequired"] == {"fhirAuthorization": ["fhirServer"]}
    assert request["$defs"]["patientViewContext"]["required"] == ["patientId"]
    assert request["properties"]["fhirAuthorization"]["required"] == ["access_token", "token_type"]
    assert request["properties"]["fhirAuthorization"]["properties"]["expires_in"]["minimum"] == 0
