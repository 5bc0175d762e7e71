"""Hypotension: latest SBP < 90 mm[Hg] or latest MAP < 60 mm[Hg] within 24 h (docs/clinical-rules.md).

SBP comes standalone (LOINC 8480-6) or as a component of the blood-pressure panel
(85354-9). MAP is measured (8478-0, standalone or in the panel) or computed as
(SBP + 2 * DBP) / 3 from the SBP and DBP of one panel, never across Observations.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime

from fhir_mappings.elements import Resource, codings
from fhir_mappings.facts import Evidence, Fact, Status
from fhir_mappings.gaps import Missing
from fhir_mappings.numbers import fmt
from fhir_mappings.observations import Candidate, Reading, reading_of, select
from fhir_mappings.parse import Report
from fhir_mappings.thresholds import Thresholds
from fhir_mappings.timing import describe_window
from fhir_mappings.units import BLOOD_PRESSURE, MM_HG, Measured
from fhir_mappings.valuesets import value_set

PANEL = "85354-9"


@dataclass(frozen=True)
class BloodPressures:
    """Usable SBP and MAP readings in the window, newest first."""

    systolic: tuple[Reading, ...]
    mean: tuple[Reading, ...]
    left_out: tuple[str, ...]


def blood_pressures(
    resources: Iterable[Resource], *, now: datetime, thresholds: Thresholds, report: Report
) -> BloodPressures:
    """Collect SBP and MAP readings from standalone Observations and panels."""
    candidates = select(
        resources,
        ("systolic-bp", "mean-arterial-pressure"),
        now=now,
        window=thresholds.vitals_window,
        need_time_of_day=True,
        report=report,
    )
    systolic: list[Reading] = []
    mean: list[Reading] = []
    left_out: list[str] = []
    for candidate in candidates:
        # Newest first: once the latest SBP and MAP are known, older readings cannot decide.
        if systolic and mean:
            break
        if not _can_still_decide(candidate, bool(systolic), bool(mean)) or not report.valid(
            candidate.resource
        ):
            continue
        if candidate.code.code == PANEL:
            sbp, map_ = _from_panel(candidate, report, left_out)
            kept = _plausible(sbp, SBP_LIMITS, thresholds, report, candidate, left_out)
            if len(kept) < len(sbp):
                map_ = [m for m in map_ if not m.computed]  # never computed from an artefact
            systolic.extend(kept)
            mean.extend(_plausible(map_, MAP_LIMITS, thresholds, report, candidate, left_out))
            continue
        result = reading_of(candidate, BLOOD_PRESSURE, report)
        if isinstance(result, str):
            left_out.append(result)
        elif candidate.code in value_set("mean-arterial-pressure").codes:
            mean.extend(_plausible([result], MAP_LIMITS, thresholds, report, candidate, left_out))
        else:
            systolic.extend(_plausible([result], SBP_LIMITS, thresholds, report, candidate, left_out))
    # Sorted is stable: at equal times a measured MAP (appended first) stays ahead of a computed one.
    return BloodPressures(
        tuple(sorted(systolic, key=lambda r: r.time, reverse=True)),
        tuple(sorted(mean, key=lambda r: r.time, reverse=True)),
        tuple(left_out),
    )


@dataclass(frozen=True)
class Limits:
    """A reading's plausible range, read from the thresholds (docs/clinical-rules.md)."""

    label: str
    low: Callable[[Thresholds], float]
    high: Callable[[Thresholds], float]


SBP_LIMITS = Limits("SBP", lambda t: t.sbp_plausible_min_mmhg, lambda t: t.sbp_plausible_max_mmhg)
MAP_LIMITS = Limits("MAP", lambda t: t.map_plausible_min_mmhg, lambda t: t.map_plausible_max_mmhg)


def implausible(value: float, low: float, high: float) -> bool:
    """Outside [low, high]: an artefact (arterial-line flush, zeroing), never a measurement."""
    return not low <= value <= high


def _plausible(
    readings: list[Reading],
    limits: Limits,
    thresholds: Thresholds,
    report: Report,
    candidate: Candidate,
    left_out: list[str],
) -> list[Reading]:
    """The readings inside the plausible range; the others are reported and listed."""
    low, high = limits.low(thresholds), limits.high(thresholds)
    kept: list[Reading] = []
    for reading in readings:
        if not implausible(reading.measured.value, low, high):
            kept.append(reading)
            continue
        reason = f"{limits.label} outside the plausible {fmt(low)}-{fmt(high)} {MM_HG}: artefact, not used"
        report.note(candidate.resource, reason)
        left_out.append(f"{limits.label} left out: {reason}")
    return kept


def _can_still_decide(candidate: Candidate, have_systolic: bool, have_mean: bool) -> bool:
    if candidate.code.code == PANEL:
        return True
    is_mean = candidate.code in value_set("mean-arterial-pressure").codes
    return not (have_mean if is_mean else have_systolic)


def _from_panel(
    candidate: Candidate, report: Report, left_out: list[str]
) -> tuple[list[Reading], list[Reading]]:
    by_role: dict[str, Reading] = {}
    roles = {"systolic-bp": "sbp", "diastolic-bp": "dbp", "mean-arterial-pressure": "map"}
    components = candidate.resource.get("component")
    for component in components if isinstance(components, list) else ():
        if not isinstance(component, Mapping) or component.get("valueQuantity") is None:
            continue
        for vs_id, role in roles.items():
            hit = value_set(vs_id).match(codings(component.get("code")))
            if hit is None or hit.code == PANEL or role in by_role:
                continue
            result = reading_of(candidate, BLOOD_PRESSURE, report, component["valueQuantity"], hit)
            if isinstance(result, str):
                left_out.append(result)
            else:
                by_role[role] = result
    systolic = [by_role["sbp"]] if "sbp" in by_role else []
    if "map" in by_role:
        return systolic, [by_role["map"]]
    if "sbp" in by_role and "dbp" in by_role:
        return systolic, [_computed_map(by_role["sbp"], by_role["dbp"])]
    return systolic, []


def _computed_map(sbp: Reading, dbp: Reading) -> Reading:
    value = (sbp.measured.value + 2 * dbp.measured.value) / 3
    code = value_set("mean-arterial-pressure").codes[0]
    return replace(sbp, code=code, measured=Measured(value, MM_HG), computed=True)


def hypotension(pressures: BloodPressures, thresholds: Thresholds, unavailable: Missing | None) -> Fact:
    """Latest SBP < cut-off or latest MAP < cut-off, within the vitals window."""
    window = describe_window(thresholds.vitals_window)
    evidence: list[Evidence] = []
    met = False
    if pressures.systolic:
        sbp = pressures.systolic[0]
        hit = sbp.measured.value < thresholds.sbp_below_mmhg
        met |= hit
        evidence.append(sbp.evidence(_note("SBP", sbp, thresholds.sbp_below_mmhg, hit), "sbp"))
    if pressures.mean:
        mean = pressures.mean[0]
        hit = mean.measured.value < thresholds.map_below_mmhg
        met |= hit
        label = "MAP (SBP + 2 x DBP) / 3" if mean.computed else "MAP"
        evidence.append(mean.evidence(_note(label, mean, thresholds.map_below_mmhg, hit), "map"))
    missing = list(pressures.left_out)
    if not pressures.systolic and not pressures.mean:
        missing.insert(0, f"no blood pressure in the last {window}")
    elif not pressures.mean:
        missing.append(f"no mean arterial pressure in the last {window}")
    elif not pressures.systolic:
        missing.append(f"no systolic blood pressure in the last {window}")
    if met:
        return Fact("hypotension", Status.PRESENT, tuple(evidence), tuple(missing))
    if unavailable is not None:
        return Fact("hypotension", Status.UNKNOWN, tuple(evidence), (unavailable, *missing))
    status = Status.ABSENT if evidence else Status.UNKNOWN
    return Fact("hypotension", status, tuple(evidence), tuple(missing))


def _note(label: str, reading: Reading, cut_off: float, met: bool) -> str:
    relation = "<" if met else ">="
    outcome = "" if met else " (not met)"
    return f"{label} {fmt(reading.measured.value)} {MM_HG} {relation} {fmt(cut_off)} {MM_HG}{outcome}"
