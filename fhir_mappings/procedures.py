"""Organ support: Procedures, Devices and DeviceUseStatements (docs/clinical-rules.md).

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
from fhir_mappings.statuses import report_status
from fhir_mappings.timing import TimeProblem, describe_window, parse_time, within
from fhir_mappings.valuesets import ValueSetCode, value_set, value_sets_of

CIRCULATORY = ("ecmo-circulatory", "iabp", "percutaneous-vad")
#: ECMO coded without its configuration: it may be veno-venous (lungs only) or
#: veno-arterial, so circulatory support is unknown, never assumed (docs/clinical-rules.md).
ECMO_UNSPECIFIED = "ecmo-unspecified"
RESPIRATORY = ("ecmo-respiratory", "invasive-ventilation")
VV_ECMO = "ecmo-respiratory"
#: Device-type value sets -> the support kind they name; an ECMO device type does not say
#: its configuration either.
DEVICE_TYPES = {
    "ecmo-device": ECMO_UNSPECIFIED,
    "iabp-device": "iabp",
    "percutaneous-vad-device": "percutaneous-vad",
}
#: Support kinds a circulatory-support search looks for (procedure codes and device types).
SUPPORT_SEARCH = (*CIRCULATORY, ECMO_UNSPECIFIED)

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
_REPORTED = frozenset({"entered-in-error", "unknown"})
DEVICE_STATUSES = frozenset({"active", "inactive", "entered-in-error", "unknown"})
DUS_STATUSES = frozenset({"active", "completed", "entered-in-error", "intended", "stopped", "on-hold"})


@dataclass(frozen=True)
class Support:
    """One support, with the value set that names its kind.

    ``evidence.reason`` is set when the support cannot be counted as present or absent
    (configuration not coded, removal not recorded): the clinician must check.
    """

    value_set: str
    evidence: Evidence

    @property
    def certain(self) -> bool:
        return self.evidence.reason is None


@dataclass(frozen=True)
class Supports:
    """Supports, and active device uses whose device could not be identified."""

    found: tuple[Support, ...]
    unresolved: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Hit:
    kind: str  # the support kind: a procedure value-set id
    value_set: str  # the value set that matched (a device-type set names its own device)
    code: ValueSetCode


#: Support kind -> the value sets that name it: its own, then the device types of that kind.
_SEARCHED = {
    kind: (kind, *(d for d, named in DEVICE_TYPES.items() if named == kind))
    for kind in (*CIRCULATORY, *RESPIRATORY, ECMO_UNSPECIFIED)
}


def searched(value_set_ids: Iterable[str]) -> frozenset[str]:
    """Every value set a search for these support kinds matches codes against."""
    return frozenset(search for vs_id in value_set_ids for search in _SEARCHED.get(vs_id) or (vs_id,))


def _match(concept: object, value_set_ids: tuple[str, ...]) -> _Hit | None:
    coded_as = codings(concept)
    if not coded_as:
        return None
    # Every set listing a coding, in one lookup per coding: a set that lists none is not
    # asked (a device is searched for four kinds of support, in up to eight sets).
    listed = value_sets_of(coded_as)
    if not listed:
        return None
    for vs_id in value_set_ids:
        for search in _SEARCHED.get(vs_id) or (vs_id,):
            if search not in listed:
                continue
            hit = value_set(search).match(coded_as)
            if hit is not None:
                return _Hit(vs_id, search, hit)
    return None


def _unspecified(vs_id: str) -> str | None:
    return "configuration-not-coded" if vs_id == ECMO_UNSPECIFIED else None


def procedures(
    resources: Iterable[Resource],
    value_set_ids: tuple[str, ...],
    *,
    now: datetime,
    window: timedelta,
    report: Report,
) -> tuple[Support, ...]:
    """Procedures in progress, completed with an open performedPeriod started in the window,
    or completed with only a performedDateTime in the window (removal not recorded)."""
    found: list[Support] = []
    for resource in resources:
        match = _match(resource.get("code"), value_set_ids)
        if match is None:
            continue
        state = _ongoing(resource, now, window, report)
        if state is None or not report.valid(resource):
            continue
        reason = _unspecified(match.kind) or ("end-not-recorded" if state == "inserted-no-end" else None)
        evidence = Evidence(
            "Procedure",
            resource_id(resource),
            match.code.system,
            match.code.code,
            match.code.display,
            time=_start(resource),
            note=_NOTES[state].format(window=describe_window(window)),
            what=match.value_set,
            status=state,
            reason=reason,
        )
        found.append(Support(match.kind, evidence))
    return tuple(found)


_NOTES = {
    "in-progress": "procedure in progress",
    "inserted-open": "inserted within {window}, no end recorded",
    "inserted-no-end": "performed within {window} (a point in time): removal not recorded, check",
}


def _ongoing(resource: Resource, now: datetime, window: timedelta, report: Report) -> str | None:
    """The state in which the Procedure may still be running, or None (reported unless it ended)."""
    status = token(resource.get("status"))
    if status == "in-progress":
        return "in-progress"
    if status != "completed":
        known = PROCEDURE_STATUSES
        report_status(resource, status, known=known, reported=known - {"completed"}, report=report)
        return None
    period = resource.get("performedPeriod")
    if isinstance(period, Mapping):
        if period.get("end") is not None:
            return None  # completed and ended: support is over
        raw, state = period.get("start"), "inserted-open"
    elif resource.get("performedDateTime") is not None:
        # Insertion recorded as a point in time: whether the device is still in is unknown.
        raw, state = resource.get("performedDateTime"), "inserted-no-end"
    else:
        return None
    try:
        start = parse_time(raw)
        inside = within(start, now, window, need_time_of_day=False)
    except TimeProblem as problem:
        report.note(resource, f"performed time: {problem}")
        return None
    if not inside:
        report.note(resource, f"performed outside the {describe_window(window)} window", routine=True)
        return None
    return state


#: Mitral valve repair or replacement, surgical or transcatheter (a value set of its own).
MITRAL_INTERVENTION = "mitral-valve-intervention"


def interventions(resources: Iterable[Resource], report: Report) -> tuple[Evidence, ...]:
    """Completed mitral valve repairs or replacements, dated by when they were performed."""
    return _performed(
        resources,
        MITRAL_INTERVENTION,
        frozenset({"completed"}),
        report,
        note="completed mitral valve repair or replacement",
        undated="mitral valve intervention not dated",
    )


#: Echocardiography procedures (SNOMED, CPT 93306 and the like): an echo was done.
ECHOCARDIOGRAPHY = "echocardiography"


def echo_procedures(resources: Iterable[Resource], report: Report) -> tuple[Evidence, ...]:
    """Echocardiograms done (completed or in progress), dated by when they were performed:
    they feed the "recent echo" test, never a grade (a Procedure carries no MR grade)."""
    return _performed(
        resources,
        ECHOCARDIOGRAPHY,
        frozenset({"completed", "in-progress"}),
        report,
        note="echocardiogram performed",
        undated="echocardiogram not dated",
    )


def _performed(
    resources: Iterable[Resource],
    value_set_id: str,
    statuses: frozenset[str],
    report: Report,
    *,
    note: str,
    undated: str,
) -> tuple[Evidence, ...]:
    """Procedures of the value set in one of ``statuses``, dated by performedPeriod.end (else
    its start) or performedDateTime; an undated one is left out and said."""
    vs = value_set(value_set_id)
    found: list[Evidence] = []
    for resource in resources:
        hit = vs.match(codings(resource.get("code")))
        if hit is None or token(resource.get("status")) not in statuses or not report.valid(resource):
            continue
        period = resource.get("performedPeriod")
        raw = (period.get("end") or period.get("start")) if isinstance(period, Mapping) else None
        try:
            when = parse_time(raw or resource.get("performedDateTime")).start
        except TimeProblem as problem:
            report.note(resource, f"{undated}: {problem}")
            continue
        evidence = Evidence(
            "Procedure",
            resource_id(resource),
            hit.system,
            hit.code,
            hit.display,
            time=when,
            note=note,
            what=value_set_id,
            status="performed",
        )
        found.append(evidence)
    return tuple(found)


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
    evidence = Evidence(
        "Device",
        resource_id(device),
        match.code.system,
        match.code.code,
        match.code.display,
        note="active device",
        what=match.value_set,
        status="active-device",
        reason=_unspecified(match.kind),
    )
    return Support(match.kind, evidence)


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
            unresolved.append("an active device use whose device is not available")
        return None
    match = _match(device.get("type"), value_set_ids)
    if match is None or not report.valid(statement):
        return None
    if device.get("status") == "entered-in-error":
        report.note(statement, "its Device is entered-in-error")
        return None
    note = f"active device use of Device/{resource_id(device)}"
    evidence = Evidence(
        "DeviceUseStatement",
        resource_id(statement),
        match.code.system,
        match.code.code,
        match.code.display,
        note=note,
        what=match.value_set,
        status="active-device",
        reason=_unspecified(match.kind),
    )
    return Support(match.kind, evidence)


def _resolve_device(statement: Resource, by_reference: Mapping[str, Resource]) -> Resource | None:
    return resolve(reference_of(statement.get("device")), statement, by_reference, "Device")


def _status_ok(resource: Resource, wanted: str, known: frozenset[str], report: Report) -> bool:
    status = token(resource.get("status"))
    if status == wanted:
        return True
    report_status(resource, status, known=known, reported=_REPORTED, report=report)
    return False
