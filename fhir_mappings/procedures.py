"""Organ support: Procedures, Devices and DeviceUseStatements (spec section 1).

Mechanical circulatory support (``ecmo-circulatory``, ``iabp``, ``percutaneous-vad``): a
Procedure in progress, or completed whose performedPeriod started within 30 days and has
no end (inserted, not yet removed); or an active Device / DeviceUseStatement. Veno-venous
ECMO (``ecmo-respiratory``) and invasive ventilation support the lungs: respiratory organ
support, never circulatory.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from fhir_mappings.elements import (
    Resource,
    codings,
    reference_of,
    resolve,
    resource_id,
    resource_type,
    token,
)
from fhir_mappings.facts import Evidence
from fhir_mappings.parse import Report
from fhir_mappings.timing import TimeProblem, describe_window, parse_time, within
from fhir_mappings.valuesets import ValueSetCode, value_set

CIRCULATORY = ("ecmo-circulatory", "iabp", "percutaneous-vad")
RESPIRATORY = ("ecmo-respiratory", "invasive-ventilation")

#: SNOMED 233573008 "Extracorporeal membrane oxygenation" does not say veno-arterial or
#: veno-venous; terminology.md files it under ecmo-circulatory, and the card must say so.
GENERIC_ECMO = "233573008"

PROCEDURE_STATUSES = frozenset(
    {
        "preparation",
        "in-progress",
        "not-done",
        "on-hold",
        "stopped",
        "completed",
        "entered-in-error",
        "unknown",
    }
)
DEVICE_STATUSES = frozenset({"active", "inactive", "entered-in-error", "unknown"})
DUS_STATUSES = frozenset({"active", "completed", "entered-in-error", "intended", "stopped", "on-hold"})


@dataclass(frozen=True)
class Support:
    """One ongoing support, with the value set that names its kind."""

    value_set: str
    evidence: Evidence


@dataclass(frozen=True)
class Supports:
    """Ongoing supports, and active device uses whose device could not be identified."""

    found: tuple[Support, ...]
    unresolved: tuple[str, ...] = ()


def _match(concept: object, value_set_ids: tuple[str, ...]) -> tuple[str, ValueSetCode] | None:
    for vs_id in value_set_ids:
        hit = value_set(vs_id).match(codings(concept))
        if hit is not None:
            return vs_id, hit
    return None


def _display(hit: ValueSetCode) -> str:
    if hit.code == GENERIC_ECMO:
        return f"{hit.display}: configuration (veno-arterial or veno-venous) not coded"
    return hit.display


def procedures(
    resources: Iterable[Resource],
    value_set_ids: tuple[str, ...],
    *,
    now: datetime,
    window: timedelta,
    report: Report,
) -> tuple[Support, ...]:
    """Procedures in progress, or completed with an open performedPeriod started in the window."""
    found: list[Support] = []
    for resource in resources:
        match = _match(resource.get("code"), value_set_ids)
        if match is None:
            continue
        note = _ongoing(resource, now, window, report)
        if note is None or not report.valid(resource):
            continue
        vs_id, hit = match
        time = _start(resource)
        evidence = Evidence(
            "Procedure", resource_id(resource), hit.system, hit.code, _display(hit), time=time, note=note
        )
        found.append(Support(vs_id, evidence))
    return tuple(found)


def _ongoing(resource: Resource, now: datetime, window: timedelta, report: Report) -> str | None:
    """The rule the Procedure satisfies, or None (reported unless it simply ended)."""
    status = token(resource.get("status"))
    if status == "in-progress":
        return "procedure in progress"
    if status not in PROCEDURE_STATUSES:
        shown = status[:30] if isinstance(status, str) else None
        report.note(resource, f"status {shown!r} is not a Procedure status")
        return None
    if status != "completed":
        report.note(resource, f"status {status}")
        return None
    period = resource.get("performedPeriod")
    if not isinstance(period, Mapping) or period.get("end") is not None:
        return None  # completed and ended (or a single point in time): support is over
    try:
        start = parse_time(period.get("start"))
    except TimeProblem as problem:
        report.note(resource, f"performedPeriod start: {problem}")
        return None
    try:
        inside = start.start <= now and within(start, now, window, need_time_of_day=False)
    except TimeProblem as problem:
        report.note(resource, f"performedPeriod start: {problem}")
        return None
    if not inside:
        report.note(
            resource, f"performedPeriod started outside the {describe_window(window)} window", routine=True
        )
        return None
    return f"inserted within {describe_window(window)}, no end recorded"


def _start(resource: Resource) -> datetime | None:
    period = resource.get("performedPeriod")
    raw = period.get("start") if isinstance(period, Mapping) else resource.get("performedDateTime")
    try:
        return parse_time(raw).start
    except TimeProblem:
        return None


def devices(
    resources: Iterable[Resource],
    by_reference: Mapping[str, Resource],
    value_set_ids: tuple[str, ...],
    report: Report,
) -> Supports:
    """Active Devices of a listed type, and active DeviceUseStatements of such a Device."""
    found: list[Support] = []
    unresolved: list[str] = []
    for resource in resources:
        kind = resource_type(resource)
        if kind == "Device":
            support = _active_device(resource, value_set_ids, report)
        elif kind == "DeviceUseStatement":
            support = _device_use(resource, by_reference, value_set_ids, report, unresolved)
        else:
            continue
        if support is not None:
            found.append(support)
    return Supports(tuple(found), tuple(unresolved))


def _active_device(device: Resource, value_set_ids: tuple[str, ...], report: Report) -> Support | None:
    match = _match(device.get("type"), value_set_ids)
    if match is None or not _status_ok(device, "active", DEVICE_STATUSES, report) or not report.valid(device):
        return None
    vs_id, hit = match
    evidence = Evidence(
        "Device", resource_id(device), hit.system, hit.code, _display(hit), note="active device"
    )
    return Support(vs_id, evidence)


def _device_use(
    statement: Resource,
    by_reference: Mapping[str, Resource],
    value_set_ids: tuple[str, ...],
    report: Report,
    unresolved: list[str],
) -> Support | None:
    if statement.get("status") != "active":
        _status_ok(statement, "active", DUS_STATUSES, report)
        return None
    device = _resolve_device(statement, by_reference)
    if device is None:
        if report.valid(statement):
            report.note(statement, "device reference could not be resolved")
            unresolved.append(
                f"DeviceUseStatement/{resource_id(statement)}: active, but its device is not available"
            )
        return None
    match = _match(device.get("type"), value_set_ids)
    if match is None or not report.valid(statement):
        return None
    if device.get("status") == "entered-in-error":
        report.note(statement, "its Device is entered-in-error")
        return None
    vs_id, hit = match
    note = f"active device use of Device/{resource_id(device)}"
    evidence = Evidence(
        "DeviceUseStatement", resource_id(statement), hit.system, hit.code, _display(hit), note=note
    )
    return Support(vs_id, evidence)


def _resolve_device(statement: Resource, by_reference: Mapping[str, Resource]) -> Resource | None:
    return resolve(reference_of(statement.get("device")), statement, by_reference, "Device")


def _status_ok(resource: Resource, wanted: str, known: frozenset[str], report: Report) -> bool:
    status = token(resource.get("status"))
    if status == wanted:
        return True
    if status not in known:
        shown = status[:30] if isinstance(status, str) else None
        report.note(resource, f"status {shown!r} is not a {resource_type(resource)} status")
    elif status in ("entered-in-error", "unknown"):
        report.note(resource, f"status {status}")
    return False
