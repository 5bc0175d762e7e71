"""JSON Schemas (draft 2020-12) of the CDS Hooks 2.0 messages, loaded once.

Validation errors name the offending field by its JSON path, never its value (the value
may be patient data).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from cds_service.calls import request_fast_path
from cds_service.core.errors import SchemaViolation
from cds_service.core.json_path import json_path


@cache
def _validator(name: str) -> Draft202012Validator:
    text = (
        resources.files("cds_service.calls")
        .joinpath("schemas", f"{name}.schema.json")
        .read_text(encoding="utf-8")
    )
    schema = json.loads(text)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def schema(name: str) -> Mapping[str, Any]:
    """The raw schema document (``request``, ``response``, ``feedback`` or ``feedback-response``)."""
    return _validator(name).schema  # type: ignore[no-any-return]


@cache
def _fast_limits() -> request_fast_path._Limits:
    return request_fast_path.limits(schema("request"))


def validate_request(body: Any) -> None:
    if request_fast_path.plainly_valid(body, _fast_limits()):
        return  # the common case, without jsonschema (cds_service/calls/request_fast_path.py)
    _validate("request", body)


def validate_feedback(body: Any) -> None:
    # The array's length first: 170,000 invalid entries made the validator collect (and
    # sort) every error, 1.4 GiB, before answering.
    entries = body.get("feedback") if isinstance(body, dict) else None
    if isinstance(entries, list) and len(entries) > MAX_FEEDBACK_ENTRIES:
        raise SchemaViolation("'feedback' is too long", expression=["feedback"])
    _validate("feedback", body)


def validate_feedback_result(body: Any) -> None:
    """Check a feedback answer we produce (used by tests)."""
    _validate("feedback-response", body)


def validate_response(body: Any) -> None:
    """Check a response we produce; raises ``SchemaViolation`` (used by tests and debug checks)."""
    _validate("response", body)


#: The schema's ``maxItems`` for ``feedback``, checked before validation.
MAX_FEEDBACK_ENTRIES = 500
#: Errors looked at before answering: the answer names one, the shallowest of these.
FIRST_ERRORS = 8


def _validate(name: str, body: Any) -> None:
    first = itertools.islice(_validator(name).iter_errors(body), FIRST_ERRORS)
    errors = sorted(first, key=lambda e: (len(e.path), list(map(str, e.path))))
    if errors:
        first = errors[0]
        raise SchemaViolation(_describe(first), expression=[_field(first)])


def _path(error: ValidationError) -> str:
    return json_path(error.absolute_path)


def _field(error: ValidationError) -> str:
    """The offending field; for a missing field, the field that is missing."""
    where = _path(error)
    if error.validator in ("required", "dependentRequired") and isinstance(error.instance, dict):
        wanted = error.validator_value
        if error.validator == "dependentRequired":
            wanted = [m for deps in wanted.values() for m in deps]
        missing = [m for m in wanted if m not in error.instance]
        if missing:
            return missing[0] if where == "(body)" else f"{where}.{missing[0]}"
    return where


def _describe(error: ValidationError) -> str:
    """Say which field is wrong and how, without echoing the value."""
    where = _field(error)
    validator = error.validator
    if validator == "required":
        return f"missing required field '{where}'"
    if validator == "dependentRequired":
        return f"missing field '{where}': it is required when fhirAuthorization is present"
    if validator == "type" and error.validator_value == ["object", "null"]:
        return f"'{where}' must be a FHIR resource (an object with resourceType) or null"
    if validator == "type":
        return f"'{where}' must be of type {error.validator_value}"
    if validator == "pattern":
        return f"'{where}' does not have the expected format"
    if validator in ("enum", "const"):
        return f"'{where}' must be one of {error.validator_value}"
    if validator in ("minLength", "minItems"):
        return f"'{where}' must not be empty"
    if validator in ("maxLength", "maxItems"):
        return f"'{where}' is too long"
    return f"'{where}' is not valid ({validator})"
