"""Thresholds and time windows of docs/clinical-rules.md, as data with their sources.

Defaults live in ``thresholds.json`` (each value with its unit and source). A site can
override any subset with its own JSON file, either flat (``{"sbp_below_mmhg": 85}``) or
in the shape of the defaults file (``{"values": {"sbp_below_mmhg": {"value": 85}}}``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from datetime import timedelta
from functools import cache, cached_property
from importlib import resources
from typing import Any


@dataclass(frozen=True)
class Threshold:
    """One default value as documented in the data file."""

    name: str
    value: float
    unit: str
    source: str


@dataclass(frozen=True)
class Thresholds:
    """Cut-offs (in the units named in the field) and look-back windows."""

    sbp_below_mmhg: float
    map_below_mmhg: float
    lactate_at_least_mmol_l: float
    creatinine_at_least_mg_dl: float
    creatinine_at_least_umol_l: float
    bilirubin_at_least_mg_dl: float
    bilirubin_at_least_umol_l: float
    platelets_below_10e3_ul: float
    vitals_window_hours: float
    lactate_window_hours: float
    labs_window_hours: float
    echo_grade_window_days: float
    acute_trigger_window_days: float
    support_procedure_window_days: float
    mr_on_echo_window_days: float
    #: Plausibility limits: a reading outside is an artefact, left out (docs/clinical-rules.md).
    sbp_plausible_min_mmhg: float
    sbp_plausible_max_mmhg: float
    map_plausible_min_mmhg: float
    map_plausible_max_mmhg: float
    lactate_plausible_max_mmol_l: float
    #: Echo windows of docs/clinical-rules.md, sections 'MR grade' and 'grade-severity'.
    echo_fallback_window_days: float
    problem_list_severity_window_days: float
    echo_recent_days: float
    echo_graded_urgent_hours: float
    #: Scope, goals of care and organ-failure acuity (docs/clinical-rules.md, sections
    #: 'Scope: age and death' and 'Organ failure acuity').
    pulmonary_edema_window_days: float
    acute_condition_window_days: float
    adult_age_years: float
    durable_vad_after_days: float
    kdigo_creatinine_rise_ratio: float
    kdigo_baseline_window_days: float
    new_organ_support_window_days: float
    pregnancy_status_window_days: float
    #: A second reading this close confirms an SBP or MAP below the plausible minimum.
    bp_confirm_window_minutes: float = 30

    def creatinine_cut_off(self, unit: str) -> float:
        """The creatinine cut-off in ``unit`` (mg/dL or umol/L), as stated in the data file."""
        return self.creatinine_at_least_umol_l if unit == "umol/L" else self.creatinine_at_least_mg_dl

    def bilirubin_cut_off(self, unit: str) -> float:
        """The total-bilirubin cut-off in ``unit`` (mg/dL or umol/L), as stated in the data file."""
        return self.bilirubin_at_least_umol_l if unit == "umol/L" else self.bilirubin_at_least_mg_dl

    @cached_property
    def vitals_window(self) -> timedelta:
        return timedelta(hours=self.vitals_window_hours)

    @cached_property
    def lactate_window(self) -> timedelta:
        return timedelta(hours=self.lactate_window_hours)

    @cached_property
    def labs_window(self) -> timedelta:
        return timedelta(hours=self.labs_window_hours)

    @cached_property
    def echo_grade_window(self) -> timedelta:
        return timedelta(days=self.echo_grade_window_days)

    @cached_property
    def acute_trigger_window(self) -> timedelta:
        return timedelta(days=self.acute_trigger_window_days)

    @cached_property
    def support_procedure_window(self) -> timedelta:
        return timedelta(days=self.support_procedure_window_days)

    @cached_property
    def bp_confirm_window(self) -> timedelta:
        return timedelta(minutes=self.bp_confirm_window_minutes)

    @cached_property
    def mr_on_echo_window(self) -> timedelta:
        return timedelta(days=self.mr_on_echo_window_days)

    @cached_property
    def echo_fallback_window(self) -> timedelta:
        return timedelta(days=self.echo_fallback_window_days)

    @cached_property
    def problem_list_severity_window(self) -> timedelta:
        return timedelta(days=self.problem_list_severity_window_days)

    @cached_property
    def echo_recent_window(self) -> timedelta:
        return timedelta(days=self.echo_recent_days)

    @cached_property
    def echo_graded_urgent_window(self) -> timedelta:
        return timedelta(hours=self.echo_graded_urgent_hours)

    @cached_property
    def pulmonary_edema_window(self) -> timedelta:
        return timedelta(days=self.pulmonary_edema_window_days)

    @cached_property
    def acute_condition_window(self) -> timedelta:
        return timedelta(days=self.acute_condition_window_days)

    @cached_property
    def durable_vad_after(self) -> timedelta:
        return timedelta(days=self.durable_vad_after_days)

    @cached_property
    def kdigo_baseline_window(self) -> timedelta:
        return timedelta(days=self.kdigo_baseline_window_days)

    @cached_property
    def new_organ_support_window(self) -> timedelta:
        return timedelta(days=self.new_organ_support_window_days)

    @cached_property
    def pregnancy_status_window(self) -> timedelta:
        return timedelta(days=self.pregnancy_status_window_days)


FIELD_NAMES: tuple[str, ...] = tuple(f.name for f in fields(Thresholds))

#: Cut-offs stated in two units: overriding one alone would leave the other inconsistent.
PAIRED: tuple[tuple[str, str], ...] = (
    ("creatinine_at_least_mg_dl", "creatinine_at_least_umol_l"),
    ("bilirubin_at_least_mg_dl", "bilirubin_at_least_umol_l"),
)


@cache
def documented_defaults() -> tuple[Threshold, ...]:
    """Every default with its unit and source, in file order (for the docs)."""
    raw = resources.files("fhir_mappings").joinpath("thresholds.json").read_text(encoding="utf-8")
    values = json.loads(raw)["values"]
    return tuple(
        Threshold(name, float(v["value"]), str(v["unit"]), str(v["source"])) for name, v in values.items()
    )


@cache
def default_thresholds() -> Thresholds:
    """The shipped defaults."""
    found = {t.name: t.value for t in documented_defaults()}
    missing = [name for name in FIELD_NAMES if name not in found]
    if missing:
        raise ValueError(f"thresholds.json lacks {', '.join(missing)}")
    return Thresholds(**{name: found[name] for name in FIELD_NAMES})


def load_thresholds(path: str | None = None) -> Thresholds:
    """Defaults, overridden by the JSON file at ``path`` (any subset); cached per path."""
    if path is None:
        return default_thresholds()
    return _load_override(path)


@cache
def _load_override(path: str) -> Thresholds:
    try:
        with open(path, encoding="utf-8") as handle:
            doc = json.load(handle)
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"thresholds file {path!r} cannot be read: {exc}") from None
    return apply_overrides(default_thresholds(), doc)


def apply_overrides(base: Thresholds, doc: Any) -> Thresholds:
    """Return ``base`` with the values in ``doc`` replaced; ValueError names a bad field."""
    if not isinstance(doc, Mapping):
        raise ValueError("thresholds override must be a JSON object")
    values = doc.get("values", doc)
    if not isinstance(values, Mapping):
        raise ValueError("thresholds override 'values' must be a JSON object")
    changes: dict[str, float] = {}
    for name, raw in values.items():
        if name == "source":
            continue
        if name not in FIELD_NAMES:
            raise ValueError(f"unknown threshold {name!r}")
        changes[name] = _number(name, raw)
    for first, second in PAIRED:
        if (first in changes) != (second in changes):
            given, other = (first, second) if first in changes else (second, first)
            raise ValueError(f"threshold {given!r} must be overridden together with {other!r}")
    return replace(base, **changes)


def _number(name: str, raw: Any) -> float:
    value = raw.get("value") if isinstance(raw, Mapping) else raw
    # bool is an int in Python; a JSON true is not a threshold.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"threshold {name!r} must be a number")
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"threshold {name!r} must be a positive finite number")
    return float(value)
