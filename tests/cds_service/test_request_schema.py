"""A prefetch value is a FHIR resource or null; anything else is a 400 that says so."""

from __future__ import annotations

from typing import Any

import pytest

from cds_service.calls.schemas import validate_request
from cds_service.core.errors import SchemaViolation

RESOURCE_OR_NULL = "'prefetch.conditions' must be a FHIR resource (an object with resourceType) or null"


def _request(value: Any) -> dict[str, Any]:
    return {
        "hook": "patient-view",
        "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
        "context": {"patientId": "p-1"},
        "prefetch": {"conditions": value},
    }


@pytest.mark.parametrize("value", [None, {"resourceType": "Bundle", "type": "searchset"}])
def test_null_or_resource_is_accepted(value: Any) -> None:
    validate_request(_request(value))


@pytest.mark.parametrize("value", ["Condition", 3, [], True], ids=["string", "number", "array", "bool"])
def test_value_that_is_no_object_names_the_key_and_the_rule(value: Any) -> None:
    with pytest.raises(SchemaViolation) as caught:
        validate_request(_request(value))
    assert str(caught.value) == RESOURCE_OR_NULL


def test_object_without_resource_type_names_the_missing_field() -> None:
    with pytest.raises(SchemaViolation) as caught:
        validate_request(_request({"entry": []}))
    assert str(caught.value) == "missing required field 'prefetch.conditions.resourceType'"


def test_resource_type_that_is_not_a_type_name_is_refused_without_its_value() -> None:
    with pytest.raises(SchemaViolation) as caught:
        validate_request(_request({"resourceType": "John Smith"}))
    assert "John Smith" not in str(caught.value)
    assert "prefetch.conditions.resourceType" in str(caught.value)
