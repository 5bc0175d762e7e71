"""Observations: status, effective time and window, then the latest usable value.

docs/clinical-rules.md: only final, amended or corrected count; "latest" is the valid one with the
latest effective time; for each lab the latest value in its window decides (not the
worst). A value in an unknown unit is left out and reported, and the next one decides.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from fhir_mappings.elements import Resource, resource_id, token
from fhir_mappings.facts import Evidence
from fhir_mappings.numbers import fmt
from fhir_mappings.parse import Report
from fhir_mappings.statuses import report_status
from fhir_mappings.timing import FhirTime, TimeProblem, describe_window, instant, parse_time, within
from fhir_mappings.units import Analyte, Measured, UnitProblem, measure
from fhir_mappings.valuesets import ValueSetCode, first_listed

COUNTED = frozenset({"final", "amended", "corrected"})
NOT_YET = frozenset({"registered", "preliminary", "unknown"})
WITHDRAWN = frozenset({"cancelled", "entered-in-error"})


@dataclass(frozen=True)
class Candidate:
    """A counted Observation in its window, matched to a value-set code."""

    resource: Resource
    code: ValueSetCode
    time: FhirTime


@dataclass(frozen=True)
class Reading:
    """One usable value: from an Observation or from a component of a panel."""

    code: ValueSetCode
    measured: Measured
    time: datetime
    resource_id: str | None
    #: A MAP computed from the SBP and DBP of one panel, not measured.
    computed: bool = False

    def evidence(self, note: str, what: str) -> Evidence:
        display = self.code.display + (" (computed from SBP and DBP of the panel)" if self.computed else "")
        return Evidence(
            "Observation",
            self.resource_id,
            self.code.system,
            self.code.code,
            display,
            value=self.measured.value,
            unit=self.measured.unit,
            # A bound (">15") is never shown as a measurement ("15").
            value_text=f"{self.measured.comparator}{fmt(self.measured.value)}"
            if self.measured.comparator
            else None,
            time=self.time,
            note=note,
            what=what,
            status="computed" if self.computed else None,
        )


@dataclass(frozen=True)
class Latest:
    """The deciding reading (if any) and newer values that were left out, in words."""

    reading: Reading | None
    left_out: tuple[str, ...] = ()


def effective_time(resource: Resource) -> FhirTime:
    """effectiveDateTime / effectiveInstant, else effectivePeriod end or start."""
    for name in ("effectiveDateTime", "effectiveInstant"):
        if (raw := resource.get(name)) is not None:
            return parse_time(raw)
    period = resource.get("effectivePeriod")
    if isinstance(period, Mapping):
        return parse_time(period.get("end") or period.get("start"))
    raise TimeProblem("no effective time")


def select(
    resources: Iterable[Resource],
    value_set_ids: tuple[str, ...],
    *,
    now: datetime,
    window: timedelta,
    need_time_of_day: bool,
    report: Report,
    statuses: frozenset[str] = COUNTED,
) -> tuple[Candidate, ...]:
    """Counted Observations coded in the value sets and within the window, newest first.

    ``statuses``: the statuses that count (an echo grade also counts when preliminary).

    Not yet validated: only the newest decide, so callers validate lazily (``Report.valid``)
    and skip to the next on failure; the rest never pay for validation.
    """
    match = first_listed(value_set_ids)
    found: list[Candidate] = []
    # Runs once per result of a long stay (thousands): plain loops, no generators.
    for resource in resources:
        hit = match(resource.get("code"))
        if hit is None or not _counted(resource, report, statuses):
            continue
        time = _time_in_window(resource, now, window, need_time_of_day, hit, report)
        if time is not None:
            found.append(Candidate(resource, hit, time))
    return tuple(sorted(found, key=lambda c: c.time.end, reverse=True))


def _counted(resource: Resource, report: Report, statuses: frozenset[str] = COUNTED) -> bool:
    status = token(resource.get("status"))
    if status in statuses:
        return True
    known = COUNTED | NOT_YET | WITHDRAWN
    report_status(resource, status, known=known, reported=(NOT_YET | WITHDRAWN) - statuses, report=report)
    return False


def _time_in_window(
    resource: Resource,
    now: datetime,
    window: timedelta,
    need_time_of_day: bool,
    hit: ValueSetCode,
    report: Report,
) -> FhirTime | None:
    raw = resource.get("effectiveDateTime")  # read first by ``effective_time``
    if type(raw) is str and (moment := instant(raw)) is not None:
        # Nearly every result of a long stay, most of them outside the window: the checks
        # below as they fall out for an instant, without a FhirTime for those left out.
        if moment > now:
            report.note(resource, f"{hit.display}: effective time is after the evaluation time")
            return None
        if moment < now - window:
            report.note(
                resource, f"{hit.display}: outside the {describe_window(window)} window", routine=True
            )
            return None
        return FhirTime(moment, "instant")
    try:
        time = effective_time(resource)
    except TimeProblem as problem:
        report.note(resource, f"{hit.display}: {problem}")
        return None
    if need_time_of_day and not time.precise:
        report.note(resource, f"{hit.display}: effective time has no time of day")
        return None
    if time.start > now:
        report.note(resource, f"{hit.display}: effective time is after the evaluation time")
        return None
    try:
        inside = within(time, now, window, need_time_of_day=need_time_of_day)
    except TimeProblem as problem:
        report.note(resource, f"{hit.display}: {problem}")
        return None
    if not inside:
        report.note(resource, f"{hit.display}: outside the {describe_window(window)} window", routine=True)
        return None
    return time


def reading_of(
    candidate: Candidate,
    analyte: Analyte,
    report: Report,
    quantity: Any = None,
    code: ValueSetCode | None = None,
) -> Reading | str:
    """The reading of an Observation (or of one component), or why it was left out."""
    source = candidate.resource.get("valueQuantity") if quantity is None else quantity
    shown = code or candidate.code
    try:
        measured = measure(source, analyte)
    except UnitProblem as problem:
        report.note(candidate.resource, f"{shown.display}: {problem}")
        return f"a {analyte.name} value left out: {problem}"  # the short name: read on cards
    return Reading(shown, measured, candidate.time.end, resource_id(candidate.resource))


def latest(
    candidates: Iterable[Candidate],
    analyte: Analyte,
    report: Report,
    rejects: Callable[[Reading], str | None] = lambda _reading: None,
) -> Latest:
    """The newest usable reading; newer unusable ones (``rejects`` gives why) are named."""
    left_out: list[str] = []
    for candidate in candidates:
        if not report.valid(candidate.resource):
            continue
        result = reading_of(candidate, analyte, report)
        if isinstance(result, Reading) and (reason := rejects(result)) is not None:
            report.note(candidate.resource, reason)
            result = f"a {analyte.name} value left out: {reason}"
        if isinstance(result, Reading):
            return Latest(result, tuple(left_out))
        left_out.append(result)
    return Latest(None, tuple(left_out))
