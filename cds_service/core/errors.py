"""The service's exceptions; turned into HTTP in one place (``cds_service.http.app``).

::

    CdsError                         500 exception     (base; anything unplanned)
    ├── ConfigurationError           500 exception     settings that cannot be used
    ├── BadRequest                   400 invalid
    │   ├── MalformedJson            400 structure     body is not JSON
    │   └── SchemaViolation          400 invalid       body does not match the schema
    ├── Unauthorized                 401 login         (no detail is ever given)
    ├── UnknownService               404 not-found
    ├── RequestTimeout               408 timeout       the body did not arrive within its deadline
    ├── PayloadTooLarge              413 too-long      decided from Content-Length
    ├── UnsupportedMediaType         415 not-supported
    ├── DataUnavailable              412 incomplete    required prefetch data cannot be obtained
    └── StorageBusy                  503 transient     the database stayed locked or unreachable

405 comes from Flask's routing (with its ``Allow`` header) and is rendered by the same
handler. Every error becomes a FHIR OperationOutcome whose diagnostics name the offending field.
Messages never carry patient data or tokens: they name keys, fields and resource ids.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


class CdsError(Exception):
    """Base of every error the service raises on purpose."""

    status: int = 500
    issue_code: str = "exception"
    #: Extra response headers (``WWW-Authenticate`` on 401).
    headers: Mapping[str, str] = {}

    def __init__(self, diagnostics: str, *, expression: Sequence[str] = ()) -> None:
        super().__init__(diagnostics)
        self.diagnostics = diagnostics
        self.expression = tuple(expression)

    def to_operation_outcome(self) -> dict[str, Any]:
        return operation_outcome(self.issue_code, self.diagnostics, self.expression)


class ConfigurationError(CdsError):
    """A setting has a value the service cannot use."""


class BadRequest(CdsError):
    status = 400
    issue_code = "invalid"


class MalformedJson(BadRequest):
    issue_code = "structure"


class SchemaViolation(BadRequest):
    issue_code = "invalid"


class Unauthorized(CdsError):
    """Never says why (the reason is logged): an attacker learns nothing from it."""

    status = 401
    issue_code = "login"
    headers = {"WWW-Authenticate": "Bearer"}


class UnknownService(CdsError):
    status = 404
    issue_code = "not-found"


class RequestTimeout(CdsError):
    status = 408
    issue_code = "timeout"


class PayloadTooLarge(CdsError):
    status = 413
    issue_code = "too-long"


class UnsupportedMediaType(CdsError):
    status = 415
    issue_code = "not-supported"


class DataUnavailable(CdsError):
    """Required prefetch data is absent and cannot be fetched (CDS Hooks 2.0: 412)."""

    status = 412
    issue_code = "incomplete"

    def __init__(self, diagnostics: str, *, keys: Sequence[str]) -> None:
        super().__init__(diagnostics, expression=tuple(f"prefetch.{k}" for k in keys))
        self.keys = tuple(keys)


class StorageBusy(CdsError):
    """The database did not take the write in time; nothing was stored, the client may retry."""

    status = 503
    issue_code = "transient"
    retry_after_s = 1


def operation_outcome(
    code: str, diagnostics: str, expression: Sequence[str] = (), *, severity: str = "error"
) -> dict[str, Any]:
    """A minimal FHIR R4 OperationOutcome with one issue."""
    issue: dict[str, Any] = {"severity": severity, "code": code, "diagnostics": diagnostics}
    if expression:
        issue["expression"] = list(expression)
    return {"resourceType": "OperationOutcome", "issue": [issue]}
