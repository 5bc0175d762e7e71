"""Hypotension: at the NEWEST blood-pressure reading within 24 h, SBP < 90 or MAP < 60 mmHg
(docs/clinical-rules.md, sections 'Hypotension' and 'Time series').

SBP comes standalone (LOINC 8480-6) or as a component of the blood-pressure panel
(85354-9). MAP is measured (8478-0, standalone or in the panel) or computed as
(SBP + 2 * DBP) / 3 from the SBP and DBP of one panel, never across Observations, and
rounded to a whole mmHg. Readings at the same instant form one moment; the newest moment
decides (``series.judge``). Under mechanical circulatory support or a durable VAD only the
MAP is read: systolic pressure misleads under a balloon pump, ECMO or an LVAD.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from fhir_mappings.elements import Resource, codings
from fhir_mappings.facts import Fact, Status
from fhir_mappings.gaps import Missing
from fhir_mappings.numbers import fmt
from fhir_mappings.parse import Report
from fhir_mappings.series import (
    ARTEFACT,
    IMPOSSIBLE,
    Point,
    Timed,
    confirm_low,
    judge,
    problem_key,
    raw_value,
    timed,
    unknown_reason,
)
from fhir_mappings.thresholds import Thresholds
from fhir_mappings.timing import describe_window
from fhir_mappings.units import BLOOD_PRESSURE, MM_HG, UnitProblem, measure
from fhir_mappings.valuesets import ValueSetCode, value_set

PANEL = "85354-9"
#: How the trail writes units (the card's own words come from ``hooks``).
UNIT_WORDS: Mapping[str, str] = {MM_HG: "mmHg"}


@dataclass(frozen=True)
class Limits:
    """A reading's plausible range, read from the thresholds (docs/clinical-rules.md)."""

    label: str
    low: Callable[[Thresholds], float]
    high: Callable[[Thresholds], float]


SBP_LIMITS = Limits("SBP", lambda t: t.sbp_plausible_min_mmhg, lambda t: t.sbp_plausible_max_mmhg)
MAP_LIMITS = Limits("MAP", lambda t: t.map_plausible_min_mmhg, lambda t: t.map_plausible_max_mmhg)
_LIMITS = {"sbp": SBP_LIMITS, "map": MAP_LIMITS}


def implausible(value: float, low: float, high: float) -> bool:
    """Outside [low, high]: an artefact (arterial-line flush, zeroing), never a measurement."""
    return not low <= value <= high


@dataclass(frozen=True)
class BloodPressures:
    """Every SBP and MAP reading in the window, usable or not."""

    points: tuple[Point, ...]


def blood_pressures(
    resources: Iterable[Resource], *, now: datetime, thresholds: Thresholds, report: Report
) -> BloodPressures:
    """Collect SBP and MAP readings from standalone Observations and panels, newest first.

    Readings are read (validated, measured) only until older ones can no longer change
    ``hypotension``, with or without ``map_only`` (``_settled``); a long stay has hundreds
    in the window. Every reading of the window is still placed in time (``timed``)."""
    confirm = thresholds.bp_confirm_window
    found = timed(
        resources,
        ("systolic-bp", "mean-arterial-pressure"),
        now=now,
        window=thresholds.vitals_window,
        report=report,
    )
    mean_codes = value_set("mean-arterial-pressure").codes
    kinds = [_PANEL if e.code.code == PANEL else "map" if e.code in mean_codes else "sbp" for e in found]
    # From each position on: can a reading still give a MAP, or an SBP?
    map_later, sbp_later = [False] * (len(found) + 1), [False] * (len(found) + 1)
    for index in range(len(found) - 1, -1, -1):
        map_later[index] = map_later[index + 1] or kinds[index] != "sbp"
        sbp_later[index] = sbp_later[index + 1] or kinds[index] != "map"
    points: list[Point] = []
    for index, entry in enumerate(found):
        if _settled(points, entry.latest, confirm, map_later[index], sbp_later[index]):
            break
        # A reading without a usable time fails strict validation for that very reason; it is
        # only named (never read for its value), so it is kept to be named.
        if entry.precise and not report.valid(entry.resource):
            continue
        if kinds[index] == _PANEL:
            points.extend(_from_panel(entry, thresholds, report))
            continue
        quantity = entry.resource.get("valueQuantity")
        points.append(_point(kinds[index], entry, entry.code, quantity, thresholds, report))
    return BloodPressures(confirm_low(points, confirm))


_PANEL = "panel"


def _settled(
    points: list[Point], next_latest: datetime, confirm: timedelta, map_later: bool, sbp_later: bool
) -> bool:
    """Whether readings no newer than ``next_latest`` (the rest, newest first) can no longer
    change hypotension, with or without ``map_only`` (docs/clinical-rules.md, 'Time series').

    For each way of reading (every pressure; the MAP only) the newest reading that is usable
    whatever else is found (a time of day, a unit, a plausible value) bounds the moment that
    decides: only readings newer than it, or within ``confirm`` of it or of a newer one (a
    low reading's confirming partner), can still matter. Without such a reading, every
    reading that could give one must be read. Whether an SBP was read at all is said too.
    """
    newest_all = newest_map = None
    has_sbp = False
    for point in points:
        if point.what == "sbp":
            has_sbp = True
        if point.problem is None and point.timed.precise:
            start = point.timed.start
            if newest_all is None or start > newest_all:
                newest_all = start
            if point.what == "map" and (newest_map is None or start > newest_map):
                newest_map = start
    if newest_all is None or next_latest >= newest_all - confirm:
        return False
    if newest_map is None:
        if map_later:
            return False
    elif next_latest >= newest_map - confirm:
        return False
    return has_sbp or not sbp_later


def _point(
    what: str, entry: Timed, code: ValueSetCode, quantity: object, thresholds: Thresholds, report: Report
) -> Point:
    """One reading in mmHg (kPa converted and rounded), or why it cannot be used."""
    label = _LIMITS[what].label
    try:
        measured = measure(quantity, BLOOD_PRESSURE)
    except UnitProblem as problem:
        report.note(entry.resource, f"{code.display}: {problem}")
        return Point(what, label, entry, code, raw_value(quantity), None, problem_key(str(problem)))
    value, recorded = measured.value, None
    if measured.unit != MM_HG:
        recorded = f"{fmt(measured.value)} {measured.unit}"
        value = float(round(measured.value * BLOOD_PRESSURE.to_canonical[measured.unit]))
    point = Point(what, label, entry, code, value, MM_HG, recorded=recorded)
    return _plausible(point, thresholds, report)


def _plausible(point: Point, thresholds: Thresholds, report: Report) -> Point:
    limits = _LIMITS[point.what]
    low, high = limits.low(thresholds), limits.high(thresholds)
    if point.value is None or not implausible(point.value, low, high):
        return point
    report.note(
        point.resource,
        f"{limits.label} outside the plausible {fmt(low)}-{fmt(high)} {MM_HG}: artefact unless confirmed",
    )
    return replace(point, problem=ARTEFACT, low=point.value < low)


def _from_panel(entry: Timed, thresholds: Thresholds, report: Report) -> list[Point]:
    found: dict[str, Point] = {}
    diastolic: float | None = None
    roles = {"systolic-bp": "sbp", "diastolic-bp": "dbp", "mean-arterial-pressure": "map"}
    components = entry.resource.get("component")
    for component in components if isinstance(components, list) else ():
        if not isinstance(component, Mapping) or component.get("valueQuantity") is None:
            continue
        for vs_id, role in roles.items():
            hit = value_set(vs_id).match(codings(component.get("code")))
            if hit is None or hit.code == PANEL or role in found or (role == "dbp" and diastolic is not None):
                continue
            if role == "dbp":
                diastolic = _mm_hg(component["valueQuantity"], entry, hit, report)
            else:
                found[role] = _point(role, entry, hit, component["valueQuantity"], thresholds, report)
    sbp, mean = found.get("sbp"), found.get("map")
    if sbp is not None and sbp.value is not None and diastolic is not None and sbp.value <= diastolic:
        # An impossible panel (transposed or mistyped): neither its SBP nor its MAP is used.
        report.note(entry.resource, "blood pressure panel: systolic not above diastolic, not used")
        return [replace(p, problem=IMPOSSIBLE, low=False) for p in (sbp, mean) if p is not None]
    points = [p for p in (sbp, mean) if p is not None]
    if mean is None and sbp is not None and sbp.usable and diastolic is not None:
        assert sbp.value is not None
        computed = float(round((sbp.value + 2 * diastolic) / 3))
        code = value_set("mean-arterial-pressure").codes[0]
        points.append(
            _plausible(Point("map", "MAP", entry, code, computed, MM_HG, computed=True), thresholds, report)
        )
    return points


def _mm_hg(quantity: object, entry: Timed, code: ValueSetCode, report: Report) -> float | None:
    """A diastolic pressure in mmHg (kPa converted), or None when its unit is not usable."""
    try:
        measured = measure(quantity, BLOOD_PRESSURE)
    except UnitProblem as problem:
        report.note(entry.resource, f"{code.display}: {problem}")
        return None
    return measured.value * BLOOD_PRESSURE.to_canonical[measured.unit]


def hypotension(
    pressures: BloodPressures,
    thresholds: Thresholds,
    unavailable: Missing | None,
    *,
    map_only: bool = False,
) -> Fact:
    """At the newest reading within the vitals window: SBP < cut-off or MAP < cut-off.

    ``map_only``: the patient is on mechanical circulatory support (or a durable VAD): only
    a MAP below its cut-off is hypotension, and SBP readings are not read.
    """
    window = describe_window(thresholds.vitals_window)
    points = [p for p in pressures.points if not (map_only and p.what == "sbp")]
    verdict = judge(points, lambda p: _below(p, thresholds))
    # The reading that met the cut-off first: cards name it ("MAP 55"), not a normal SBP
    # taken at the same moment.
    deciding = sorted(verdict.deciding, key=lambda p: not _below(p, thresholds))
    evidence = tuple(p.evidence(_note(p, thresholds)) for p in deciding)
    shown = tuple(p.evidence(_note(p, thresholds)) for p in verdict.newer_unusable[:2])
    missing: list[str] = []
    if not points:
        kind = "mean arterial pressure" if map_only else "blood pressure"
        missing.append(f"no {kind} in the last {window}")
    elif verdict.status is Status.UNKNOWN:
        missing.append(unknown_reason(verdict, UNIT_WORDS))
    if map_only and any(p.what == "sbp" for p in pressures.points):
        missing.append("on mechanical circulatory support: only the MAP is read")
    if verdict.status is Status.PRESENT:
        return Fact("hypotension", Status.PRESENT, evidence, tuple(missing), shown)
    if unavailable is not None:
        return Fact("hypotension", Status.UNKNOWN, evidence, (unavailable, *missing), shown)
    return Fact("hypotension", verdict.status, evidence, tuple(missing), shown)


def _below(point: Point, thresholds: Thresholds) -> bool:
    cut_off = thresholds.map_below_mmhg if point.what == "map" else thresholds.sbp_below_mmhg
    return point.value is not None and point.value < cut_off


def _note(point: Point, thresholds: Thresholds) -> str:
    if point.why is not None:
        return f"{point.label} not used: {point.why}"
    label = "MAP (SBP + 2 x DBP) / 3, rounded" if point.computed else point.label
    cut_off = thresholds.map_below_mmhg if point.what == "map" else thresholds.sbp_below_mmhg
    met = _below(point, thresholds)
    relation = "<" if met else ">="
    outcome = "" if met else " (not met)"
    recorded = f" (recorded {point.recorded})" if point.recorded else ""
    confirmed = "; below the plausible minimum, confirmed by a second reading" if point.confirmed else ""
    assert point.value is not None
    value = f"{fmt(point.value)} {MM_HG}{recorded}"
    return f"{label} {value} {relation} {fmt(cut_off)} {MM_HG}{outcome}{confirmed}"
