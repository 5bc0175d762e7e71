"""Thresholds: defaults with sources, overrides by configuration, errors that name the field."""

from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path

import pytest

from fhir_mappings import load_thresholds
from fhir_mappings.facts import Status
from fhir_mappings.thresholds import Thresholds, documented_defaults
from tests.fhir_mappings.charts import facts


def _write(tmp_path: Path, doc: object) -> str:
    path = tmp_path / "thresholds.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return str(path)


def test_defaults_are_the_spec_values() -> None:
    t = load_thresholds()
    assert (t.sbp_below_mmhg, t.map_below_mmhg, t.lactate_at_least_mmol_l) == (90, 60, 2.0)
    assert (t.creatinine_at_least_mg_dl, t.creatinine_at_least_umol_l) == (2.0, 177)
    assert (t.bilirubin_at_least_mg_dl, t.bilirubin_at_least_umol_l) == (2.0, 34)
    assert t.platelets_below_10e3_ul == 100
    assert (t.vitals_window_hours, t.lactate_window_hours, t.labs_window_hours) == (24, 24, 48)
    assert (t.echo_grade_window_days, t.acute_trigger_window_days, t.support_procedure_window_days) == (
        365,
        30,
        30,
    )


def test_every_default_has_a_unit_and_a_source() -> None:
    documented = {d.name: d for d in documented_defaults()}
    assert set(documented) == {f.name for f in fields(Thresholds)}
    for entry in documented.values():
        assert entry.unit
        assert len(entry.source) > 20


def test_default_is_cached() -> None:
    assert load_thresholds() is load_thresholds(None)


def test_override_file_replaces_a_subset(tmp_path: Path) -> None:
    t = load_thresholds(_write(tmp_path, {"sbp_below_mmhg": 95, "labs_window_hours": 72}))
    assert (t.sbp_below_mmhg, t.labs_window_hours, t.map_below_mmhg) == (95, 72, 60)


def test_override_file_in_the_shape_of_the_defaults_file(tmp_path: Path) -> None:
    t = load_thresholds(_write(tmp_path, {"values": {"lactate_at_least_mmol_l": {"value": 4}}}))
    assert t.lactate_at_least_mmol_l == 4


def test_override_is_cached_per_path(tmp_path: Path) -> None:
    path = _write(tmp_path, {"sbp_below_mmhg": 95})
    assert load_thresholds(path) is load_thresholds(path)


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"sbp_below_mmHg": 95}, "unknown threshold 'sbp_below_mmHg'"),
        ({"sbp_below_mmhg": "95"}, "threshold 'sbp_below_mmhg' must be a number"),
        ({"map_below_mmhg": -1}, "threshold 'map_below_mmhg' must be a positive finite number"),
        ({"labs_window_hours": True}, "threshold 'labs_window_hours' must be a number"),
        ({"creatinine_at_least_mg_dl": 1.5}, "'creatinine_at_least_mg_dl' must be overridden together with"),
        ([1, 2], "must be a JSON object"),
    ],
)
def test_bad_override_raises_value_error_naming_the_field(tmp_path: Path, doc: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        load_thresholds(_write(tmp_path, doc))


def test_unreadable_override_file_raises_value_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="cannot be read"):
        load_thresholds(str(tmp_path / "missing.json"))


def test_overridden_sbp_cut_off_changes_hypotension(tmp_path: Path) -> None:
    stricter = load_thresholds(_write(tmp_path, {"sbp_below_mmhg": 91}))
    fact = facts(vital_signs="vitals/sbp_90_2h.json", thresholds=stricter).hypotension
    assert fact.status is Status.PRESENT
    assert fact.evidence[0].note == "SBP 90 mm[Hg] < 91 mm[Hg]"


def test_overridden_window_changes_what_counts(tmp_path: Path) -> None:
    longer = load_thresholds(_write(tmp_path, {"vitals_window_hours": 26}))
    assert facts(vital_signs="vitals/sbp_25h.json", thresholds=longer).hypotension.present
