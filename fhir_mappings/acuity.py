"""Organ failure with acuity (docs/clinical-rules.md, section 'Organ failure acuity').

Chronic organ disease must not read as a new organ failure: a patient on maintenance
dialysis has a high creatinine every day. Two measurements of acuity live here: the KDIGO
2012 creatinine rise (>= 1.5 times the lowest value of the previous 7 days) and renal
replacement therapy newly started (within 30 days, in progress or within 48 h).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from fhir_mappings.elements import Resource, codings, reference_of, resolve, resource_id, token
from fhir_mappings.facts import Evidence
from fhir_mappings.numbers import fmt
from fhir_mappings.observations import Reading, reading_of, select
from fhir_mappings.parse import Report
from fhir_mappings.thresholds import Thresholds
from fhir_mappings.timing import TimeProblem, describe_window, parse_time, within
from fhir_mappings.units import CREATININE, to_canonical
from fhir_mappings.valuesets import ValueSetCode, value_set

RRT = "renal-replacement-therapy"


@dataclass(frozen=True)
class Rise:
    """Whether the latest creatinine is >= ratio x the lowest of the previous days."""

    met: bool
    evidence: tuple[Evidence, ...] = ()
    why: str = ""


def creatinine_rise(
    resources: Iterable[Resource], *, now: datetime, thresholds: Thresholds, report: Report
) -> Rise:
    """KDIGO 2012: the latest creatinine (within the labs window) against the lowest value
    of the ``kdigo_baseline_window`` before it; no earlier value: no rise can be shown."""
    baseline = thresholds.kdigo_baseline_window
    window = thresholds.labs_window + baseline
    readings: list[Reading] = []
    for candidate in select(
        resources, ("creatinine",), now=now, window=window, need_time_of_day=True, report=report
    ):
        if not report.valid(candidate.resource):
            continue
        result = reading_of(candidate, CREATININE, report)
        if isinstance(result, Reading) and result.measured.comparator is None:
            readings.append(result)
    if not readings:
        return Rise(False, (), "no creatinine to compare")
    latest = readings[0]  # select() orders newest first
    if now - latest.time > thresholds.labs_window:
        return Rise(False, (), f"no creatinine in the last {describe_window(thresholds.labs_window)}")
    earlier = [r for r in readings[1:] if timedelta(0) < latest.time - r.time <= baseline]
    if not earlier:
        return Rise(False, (), f"no earlier creatinine within {describe_window(baseline)} to compare")
    lowest = min(earlier, key=lambda r: to_canonical(r.measured, CREATININE))
    now_value = to_canonical(latest.measured, CREATININE)
    low_value = to_canonical(lowest.measured, CREATININE)
    ratio = now_value / low_value if low_value > 0 else 0.0
    met = ratio >= thresholds.kdigo_creatinine_rise_ratio
    note = (
        f"creatinine {fmt(now_value)} mg/dL is {fmt(round(ratio, 2))} x the lowest of the previous "
        f"{describe_window(baseline)} ({fmt(low_value)} mg/dL)"
        + ("" if met else f": below {fmt(thresholds.kdigo_creatinine_rise_ratio)} x (not met)")
    )
    evidence = (
        latest.evidence(note, "creatinine"),
        lowest.evidence("lowest creatinine of the previous 7 days", "creatinine"),
    )
    return Rise(met, evidence, note)


def new_rrt(
    procedures: Iterable[Resource], *, now: datetime, thresholds: Thresholds, report: Report
) -> tuple[Evidence, ...]:
    """Renal replacement therapy in progress, or ended within the labs window (48 h), that
    started within ``new_organ_support_window`` (30 days): maintenance dialysis is not new."""
    vs = value_set(RRT)
    started_within = thresholds.new_organ_support_window
    found: list[Evidence] = []
    for resource in procedures:
        hit = vs.match(codings(resource.get("code")))
        if hit is None:
            continue
        status = token(resource.get("status"))
        period = resource.get("performedPeriod")
        start_raw = period.get("start") if isinstance(period, Mapping) else resource.get("performedDateTime")
        end_raw = period.get("end") if isinstance(period, Mapping) else resource.get("performedDateTime")
        try:
            start = parse_time(start_raw)
            if not within(start, now, started_within, need_time_of_day=False):
                report.note(resource, f"renal replacement started before {describe_window(started_within)}")
                continue
            if status == "completed":
                end = parse_time(end_raw)
                if not within(end, now, thresholds.labs_window, need_time_of_day=False):
                    report.note(resource, "renal replacement ended outside the 48 h window", routine=True)
                    continue
            elif status != "in-progress":
                continue
        except TimeProblem as problem:
            report.note(resource, f"renal replacement therapy: {problem}")
            continue
        if not report.valid(resource):
            continue
        note = f"renal replacement therapy started within {describe_window(started_within)}"
        state = "in-progress" if status == "in-progress" else "performed"
        found.append(_support(resource, hit, start.start, note, RRT, state))
    return tuple(found)


VENTILATOR_DEVICE = "ventilator-device"


def new_ventilation(
    resources: Iterable[Resource],
    by_reference: Mapping[str, Resource],
    *,
    now: datetime,
    thresholds: Thresholds,
    report: Report,
) -> tuple[Evidence, ...]:
    """Active ventilator device uses that started within ``new_organ_support_window`` (30
    days). A ventilator Device alone says nothing about when its use began (home
    ventilators look the same): it is listed in ``--explain`` and not counted."""
    vs = value_set(VENTILATOR_DEVICE)
    window = thresholds.new_organ_support_window
    found: list[Evidence] = []
    for resource in resources:
        kind = resource.get("resourceType")
        if kind == "Device":
            if (
                vs.match(codings(resource.get("type"))) is not None
                and token(resource.get("status")) == "active"
            ):
                report.note(
                    resource, "ventilator device without a start of use: not counted as new ventilation"
                )
            continue
        if kind != "DeviceUseStatement" or token(resource.get("status")) != "active":
            continue
        device = resolve(reference_of(resource.get("device")), resource, by_reference, "Device")
        hit = vs.match(codings(device.get("type"))) if device is not None else None
        if hit is None:
            continue
        period = resource.get("timingPeriod")
        raw = period.get("start") if isinstance(period, Mapping) else resource.get("timingDateTime")
        try:
            start = parse_time(raw)
            inside = within(start, now, window, need_time_of_day=False)
        except TimeProblem as problem:
            report.note(resource, f"ventilator use: {problem}; not counted as new ventilation")
            continue
        if not inside:
            report.note(resource, f"ventilator use started before {describe_window(window)}", routine=True)
            continue
        if not report.valid(resource):
            continue
        note = f"ventilator in use, started within {describe_window(window)}"
        found.append(_support(resource, hit, start.start, note, VENTILATOR_DEVICE, "active-device"))
    return tuple(found)


def _support(
    resource: Resource, hit: ValueSetCode, start: datetime, note: str, what: str, state: str
) -> Evidence:
    """Organ support as evidence, dated by when it started."""
    return Evidence(
        str(resource.get("resourceType")),
        resource_id(resource),
        hit.system,
        hit.code,
        hit.display,
        time=start,
        note=note,
        what=what,
        status=state,
    )
