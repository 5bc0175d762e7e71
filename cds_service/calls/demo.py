"""Demo hook requests that give the same cards on any day.

A demo request (``examples/patients/*.json``) carries absolute FHIR times around a fixed
instant, stored in the request's extension ``org.mr-cds-hooks.demo`` as ``asOf``.
``mr-cds evaluate`` evaluates it as of that instant; ``shift_times`` moves every FHIR
date and time in the prefetch by ``to - asOf`` instead, so that a server that uses the
real clock sees the chart exactly as old as it was at ``asOf``.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any

DEMO_EXTENSION = "org.mr-cds-hooks.demo"

#: FHIR dateTime / instant with a time (seconds required, fraction and offset optional).
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?$")
#: FHIR date (or dateTime) to the day; years and year-months are left as they are.
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
#: Keys whose strings are never times, even when they look like one.
_NOT_TIMES = frozenset(
    {"id", "reference", "system", "code", "display", "text", "div", "url", "value", "valueString"}
)


def as_of(body: Mapping[str, Any]) -> datetime | None:
    """The demo's reference instant, if the request is a demo; ValueError if it is malformed."""
    extension = body.get("extension")
    if not isinstance(extension, Mapping) or DEMO_EXTENSION not in extension:
        return None
    demo = extension[DEMO_EXTENSION]
    raw = demo.get("asOf") if isinstance(demo, Mapping) else None
    if not isinstance(raw, str):
        raise ValueError(f"extension {DEMO_EXTENSION}.asOf must be an ISO-8601 instant")
    return parse_instant(raw)


def parse_instant(text: str) -> datetime:
    """An ISO-8601 instant with a timezone (``Z`` or an offset); ValueError otherwise."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{text!r} has no timezone (add Z or an offset)")
    return moment


def shift_times(body: Mapping[str, Any], to: datetime) -> dict[str, Any]:
    """The request with prefetch times moved by ``to - asOf`` and the demo extension removed."""
    reference = as_of(body)
    shifted = copy.deepcopy(dict(body))
    if reference is None:
        return shifted
    if to.tzinfo is None or to.utcoffset() is None:
        raise ValueError("to must be timezone-aware")
    delta = to - reference
    days = to.date() - reference.astimezone(to.tzinfo).date()
    if "prefetch" in shifted:
        shifted["prefetch"] = _shift(shifted["prefetch"], delta, days)
    _drop_extension(shifted)
    return shifted


def _shift(value: Any, delta: timedelta, days: timedelta, key: str = "") -> Any:
    if isinstance(value, dict):
        return {k: _shift(v, delta, days, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_shift(v, delta, days, key) for v in value]
    if isinstance(value, str) and key not in _NOT_TIMES:
        return _shift_text(value, delta, days)
    return value


def _shift_text(text: str, delta: timedelta, days: timedelta) -> str:
    if _DATETIME.match(text):
        moment = datetime.fromisoformat(text)
        out = (moment + delta).isoformat()
        return out.replace("+00:00", "Z") if text.endswith("Z") else out
    if _DATE.match(text):
        return (date.fromisoformat(text) + days).isoformat()
    return text


def _drop_extension(body: dict[str, Any]) -> None:
    extension = dict(body.get("extension") or {})
    extension.pop(DEMO_EXTENSION, None)
    if extension:
        body["extension"] = extension
    else:
        body.pop("extension", None)


def transaction_bundle(body: Mapping[str, Any]) -> dict[str, Any]:
    """A FHIR transaction that PUTs every resource of the request's prefetch (reads and
    searchset entries) under its own id, to load a demo patient into a FHIR server."""
    resources: dict[str, Mapping[str, Any]] = {}
    for value in (body.get("prefetch") or {}).values():
        if not isinstance(value, Mapping) or value.get("resourceType") == "OperationOutcome":
            continue  # an OperationOutcome says the EHR failed to fetch: nothing to load
        found = (
            [e.get("resource") for e in value.get("entry") or [] if isinstance(e, Mapping)]
            if value.get("resourceType") == "Bundle"
            else [value]
        )
        for resource in found:
            if isinstance(resource, Mapping) and resource.get("resourceType") and resource.get("id"):
                resources[f"{resource['resourceType']}/{resource['id']}"] = resource
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"resource": dict(resource), "request": {"method": "PUT", "url": url}}
            for url, resource in resources.items()
        ],
    }
