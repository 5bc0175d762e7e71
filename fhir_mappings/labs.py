"""Laboratory criteria: the latest value in its window against its cut-off (docs/clinical-rules.md).

Lactate (24 h, >= 2.0 mmol/L; mg/dL / 9.008), creatinine (48 h, >= 2.0 mg/dL or >= 177
umol/L), total bilirubin (48 h, >= 2.0 mg/dL or >= 34 umol/L), platelets (48 h,
< 100 x10^3/uL; 10*9/L is the same number). Cut-offs stated in a unit are compared in
that unit; other accepted units are converted.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from fhir_mappings.elements import Resource, resource_id
from fhir_mappings.facts import Evidence, Status
from fhir_mappings.numbers import fmt
from fhir_mappings.observations import Reading, latest, select
from fhir_mappings.parse import Report
from fhir_mappings.series import (
    ARTEFACT,
    BOUND,
    Point,
    Timed,
    judge,
    problem_key,
    raw_value,
    timed,
    unknown_reason,
)
from fhir_mappings.thresholds import Thresholds
from fhir_mappings.timing import describe_window
from fhir_mappings.units import (
    BILIRUBIN,
    CREATININE,
    LACTATE,
    MMOL_L,
    PLATELETS,
    THOUSAND_PER_UL,
    Analyte,
    Measured,
    UnitProblem,
    convert,
    measure,
    to_canonical,
)


@dataclass(frozen=True)
class LabRule:
    """One lab criterion: value set, analyte, direction, cut-off and window."""

    label: str
    value_set: str
    analyte: Analyte
    #: True: a value below the cut-off meets the criterion; False: at or above it.
    below: bool
    #: Thresholds and the reading's unit -> (cut-off, unit it is stated in).
    cut_off: Callable[[Thresholds, str], tuple[float, str]]
    window: Callable[[Thresholds], timedelta]
    #: The plausible range in the canonical unit, or None when every value is plausible.
    plausible: Callable[[Thresholds], tuple[float, float]] | None = None


LACTATE_RULE = LabRule(
    "lactate",
    "lactate",
    LACTATE,
    below=False,
    cut_off=lambda t, _unit: (t.lactate_at_least_mmol_l, MMOL_L),
    window=lambda t: t.lactate_window,
    plausible=lambda t: (0.0, t.lactate_plausible_max_mmol_l),
)
CREATININE_RULE = LabRule(
    "creatinine",
    "creatinine",
    CREATININE,
    below=False,
    cut_off=lambda t, unit: (t.creatinine_cut_off(unit), unit),
    window=lambda t: t.labs_window,
)
BILIRUBIN_RULE = LabRule(
    "total bilirubin",
    "bilirubin-total",
    BILIRUBIN,
    below=False,
    cut_off=lambda t, unit: (t.bilirubin_cut_off(unit), unit),
    window=lambda t: t.labs_window,
)
PLATELETS_RULE = LabRule(
    "platelets",
    "platelets",
    PLATELETS,
    below=True,
    cut_off=lambda t, _unit: (t.platelets_below_10e3_ul, THOUSAND_PER_UL),
    window=lambda t: t.labs_window,
)


@dataclass(frozen=True)
class LabFinding:
    """PRESENT/ABSENT when a value decided; UNKNOWN when none was usable in the window."""

    status: Status
    evidence: tuple[Evidence, ...] = ()
    missing: tuple[str, ...] = ()
    #: Newer readings that could not be used (a time series only), named on the cards.
    shown: tuple[Evidence, ...] = ()


def assess(
    rule: LabRule, resources: Iterable[Resource], *, now: datetime, thresholds: Thresholds, report: Report
) -> LabFinding:
    """Decide ``rule`` on the latest usable value within its window."""
    window = rule.window(thresholds)
    candidates = select(
        resources, (rule.value_set,), now=now, window=window, need_time_of_day=True, report=report
    )
    found = latest(candidates, rule.analyte, report, _implausible(rule, thresholds))
    if found.reading is None:
        return none_found(rule, thresholds, found.left_out)
    met, note = _compare(rule, found.reading, thresholds)
    status = Status.PRESENT if met else Status.ABSENT
    return LabFinding(status, (found.reading.evidence(note, rule.value_set),), found.left_out)


def assess_series(
    rule: LabRule, resources: Iterable[Resource], *, now: datetime, thresholds: Thresholds, report: Report
) -> LabFinding:
    """Decide ``rule`` at the NEWEST reading in its window (lactate: docs/clinical-rules.md,
    section 'Time series'): an unusable newest reading leaves a normal older one unknown."""
    window = rule.window(thresholds)
    rejects = _implausible(rule, thresholds)
    points: list[Point] = []
    for entry in timed(resources, (rule.value_set,), now=now, window=window, report=report):
        if not entry.precise or report.valid(entry.resource):  # an imprecise one is only named
            points.append(_lab_point(rule, entry, rejects, report))
    verdict = judge(points, lambda p: _compare(rule, _reading(p), thresholds)[0])
    evidence = tuple(p.evidence(_compare(rule, _reading(p), thresholds)[1]) for p in verdict.deciding)
    shown = tuple(p.evidence(f"{rule.label} not used: {p.why}") for p in verdict.newer_unusable[:2])
    if not points:
        return none_found(rule, thresholds)
    missing = (unknown_reason(verdict, {}),) if verdict.status is Status.UNKNOWN else ()
    return LabFinding(verdict.status, evidence, missing, shown)


def none_found(rule: LabRule, thresholds: Thresholds, left_out: tuple[str, ...] = ()) -> LabFinding:
    """No usable reading in the rule's window (what ``assess`` and ``assess_series`` find in
    a chart without one: the mapper asks for it directly when no Observation is coded for
    the rule)."""
    window = describe_window(rule.window(thresholds))
    return LabFinding(Status.UNKNOWN, (), (f"no {rule.label} in the last {window}", *left_out))


def _lab_point(
    rule: LabRule, entry: Timed, rejects: Callable[[Reading], str | None], report: Report
) -> Point:
    quantity = entry.resource.get("valueQuantity")
    try:
        measured = measure(quantity, rule.analyte)
    except UnitProblem as problem:
        report.note(entry.resource, f"{entry.code.display}: {problem}")
        key = problem_key(str(problem))
        return Point(rule.value_set, rule.label, entry, entry.code, raw_value(quantity), None, key)
    what, label, code = rule.value_set, rule.label, entry.code
    point = Point(what, label, entry, code, measured.value, measured.unit, comparator=measured.comparator)
    reason = rejects(_reading(point))
    if reason is not None:
        report.note(entry.resource, reason)
        return replace(point, problem=BOUND if "bound" in reason else ARTEFACT)
    return point


def _reading(point: Point) -> Reading:
    assert point.value is not None
    assert point.unit is not None
    return Reading(
        point.code,
        Measured(point.value, point.unit, point.comparator),
        point.timed.start,
        resource_id(point.resource),
    )


def _implausible(rule: LabRule, thresholds: Thresholds) -> Callable[[Reading], str | None]:
    """Why a reading is an artefact (outside the rule's plausible range), else None."""
    if rule.plausible is None:
        return lambda _reading: None
    low, high = rule.plausible(thresholds)
    unit = rule.analyte.canonical

    def rejects(reading: Reading) -> str | None:
        if not low <= to_canonical(reading.measured, rule.analyte) <= high:
            return f"{rule.label} outside the plausible {fmt(low)}-{fmt(high)} {unit}: artefact, not used"
        if reading.measured.comparator and _bound_decides(rule, reading, thresholds) is None:
            bound = f"{reading.measured.comparator}{fmt(reading.measured.value)}"
            return f"{rule.label} {bound}: the bound does not decide"
        return None

    return rejects


def _bound_decides(rule: LabRule, reading: Reading, thresholds: Thresholds) -> bool | None:
    """Whether a bound (">15") meets the rule, or None when the bound cannot tell."""
    cut_off, cut_unit = rule.cut_off(thresholds, reading.measured.unit)
    bound = convert(reading.measured.value, reading.measured.unit, cut_unit, rule.analyte)
    above = reading.measured.comparator in (">", ">=")
    if rule.below:
        return None  # only "at least" rules (lactate) read bounds
    # ">15" meets ">= 2"; "<1.5" and "<2" do not; "<=2" or ">1" cannot tell.
    if above and bound >= cut_off:
        return True
    if not above and (bound < cut_off or (bound == cut_off and reading.measured.comparator == "<")):
        return False
    return None


def _compare(rule: LabRule, reading: Reading, thresholds: Thresholds) -> tuple[bool, str]:
    cut_off, cut_unit = rule.cut_off(thresholds, reading.measured.unit)
    value = convert(reading.measured.value, reading.measured.unit, cut_unit, rule.analyte)
    bound = _bound_decides(rule, reading, thresholds) if reading.measured.comparator else None
    met = bound if bound is not None else value < cut_off if rule.below else value >= cut_off
    relation = ("<" if met else ">=") if rule.below else (">=" if met else "<")
    shown = f"{reading.measured.comparator or ''}{fmt(reading.measured.value)} {reading.measured.unit}"
    if reading.measured.unit != cut_unit:
        shown += f" (= {fmt(value)} {cut_unit})"
    outcome = "" if met else " (not met)"
    return met, f"{rule.label} {shown} {relation} {fmt(cut_off)} {cut_unit}{outcome}"
