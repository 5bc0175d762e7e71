"""Hypotension: latest SBP < 90 or latest MAP < 60 mm[Hg] within 24 h."""

from __future__ import annotations

import pytest

from fhir_mappings import ChartInput, map_chart
from fhir_mappings.facts import Status
from fhir_mappings.gaps import Gap, Reason
from tests.fhir_mappings.charts import NOW, chart, facts, reasons, references


def test_sbp_89_within_24h_is_hypotension() -> None:
    fact = facts(vital_signs="vitals/sbp_89_2h.json").hypotension
    assert fact.status is Status.PRESENT
    evidence = fact.evidence[0]
    assert (evidence.reference, evidence.code, evidence.value, evidence.unit) == (
        "Observation/bp-1",
        "8480-6",
        89.0,
        "mm[Hg]",
    )
    assert evidence.note == "SBP 89 mm[Hg] < 90 mm[Hg]"


def test_sbp_90_is_not_hypotension() -> None:
    fact = facts(vital_signs="vitals/sbp_90_2h.json").hypotension
    assert fact.status is Status.ABSENT
    assert fact.evidence[0].note == "SBP 90 mm[Hg] >= 90 mm[Hg] (not met)"


def test_sbp_as_component_of_bp_panel_counts() -> None:
    fact = facts(vital_signs="vitals/panel_sbp_85.json").hypotension
    assert fact.status is Status.PRESENT
    assert fact.evidence[0].code == "8480-6"
    assert fact.evidence[0].reference == "Observation/bpp-1"


def test_map_computed_from_one_panel_below_60_is_hypotension() -> None:
    fact = facts(vital_signs="vitals/panel_map_computed_58.json").hypotension
    assert fact.status is Status.PRESENT
    (computed,) = [ev for ev in fact.evidence if ev.code == "8478-0"]
    assert fact.evidence[0] is computed  # the reading that met the cut-off comes first
    assert computed.value == 58  # (95 + 2 x 40) / 3 = 58.33, rounded to a whole mmHg
    assert computed.note is not None
    assert computed.note.startswith("MAP (SBP + 2 x DBP) / 3, rounded 58 mm[Hg] < 60")
    assert "computed" in (computed.display or "")


def test_map_computed_exactly_60_is_not_hypotension() -> None:
    assert facts(vital_signs="vitals/panel_map_computed_60.json").hypotension.status is Status.ABSENT


def test_measured_map_below_60_is_hypotension() -> None:
    fact = facts(vital_signs="vitals/map_measured_55.json").hypotension
    assert fact.status is Status.PRESENT
    # The reading that met its cut-off first (cards name it), then the other one.
    assert [e.note for e in fact.evidence] == [
        "MAP 55 mm[Hg] < 60 mm[Hg]",
        "SBP 110 mm[Hg] >= 90 mm[Hg] (not met)",
    ]


def test_sbp_and_dbp_from_different_observations_make_no_map() -> None:
    fact = facts(vital_signs="vitals/sbp_dbp_separate.json").hypotension
    assert fact.status is Status.ABSENT
    assert references(fact) == ["Observation/bp-15"]


def test_latest_sbp_decides_not_the_worst() -> None:
    fact = facts(vital_signs="vitals/sbp_latest_decides.json").hypotension
    assert fact.status is Status.ABSENT
    assert references(fact) == ["Observation/bp-new"]


def test_sbp_25h_old_is_ignored_and_reported() -> None:
    result = facts(vital_signs="vitals/sbp_25h.json")
    assert result.hypotension.status is Status.UNKNOWN
    assert result.hypotension.missing[0] == "no blood pressure in the last 24 h"
    assert reasons(result)["Observation/bp-4"] == ["Systolic blood pressure: outside the 24 h window"]


def test_sbp_exactly_24h_old_counts() -> None:
    assert facts(vital_signs="vitals/sbp_exactly_24h.json").hypotension.status is Status.PRESENT


def test_sbp_time_with_offset_is_compared_in_utc() -> None:
    # 2026-11-19T13:30+02:00 is 11:30Z, 24.5 h before now: outside the window.
    assert facts(vital_signs="vitals/sbp_with_timezone_offset.json").hypotension.status is Status.UNKNOWN


def test_preliminary_sbp_is_ignored_and_reported() -> None:
    result = facts(vital_signs="vitals/sbp_preliminary.json")
    assert result.hypotension.status is Status.UNKNOWN
    assert reasons(result)["Observation/bp-6"] == ["status preliminary"]


def test_entered_in_error_sbp_is_ignored_and_the_next_decides() -> None:
    result = facts(vital_signs="vitals/sbp_entered_in_error.json")
    assert result.hypotension.status is Status.ABSENT
    assert references(result.hypotension) == ["Observation/bp-8"]
    assert reasons(result)["Observation/bp-7"] == ["status entered-in-error"]


def test_sbp_with_bogus_status_is_ignored_and_reported() -> None:
    result = facts(vital_signs="vitals/sbp_bogus_status.json")
    assert result.hypotension.status is Status.UNKNOWN
    assert reasons(result)["Observation/bp-9"] == ["status 'bogus' is not an Observation status"]


def test_amended_sbp_counts() -> None:
    assert facts(vital_signs="vitals/sbp_amended.json").hypotension.status is Status.PRESENT


def test_sbp_in_kpa_is_converted_and_rounded() -> None:
    result = facts(vital_signs="vitals/sbp_unknown_unit.json")
    # 11.2 kPa x 7.50062 = 84.0 mmHg: the newest reading decides, in mmHg.
    assert result.hypotension.status is Status.PRESENT
    assert references(result.hypotension) == ["Observation/bp-11"]
    evidence = result.hypotension.evidence[0]
    assert (evidence.value, evidence.unit) == (84, "mm[Hg]")
    assert evidence.note == "SBP 84 mm[Hg] (recorded 11.2 kPa) < 90 mm[Hg]"


def test_sbp_with_mmhg_text_and_no_ucum_system_is_accepted() -> None:
    assert facts(vital_signs="vitals/sbp_mmhg_text.json").hypotension.status is Status.PRESENT


def test_sbp_with_unknown_unit_spelling_is_not_guessed() -> None:
    result = facts(vital_signs="vitals/sbp_mmhg_typo_text.json")
    assert result.hypotension.status is Status.UNKNOWN
    assert reasons(result)["Observation/bp-14"] == ["Systolic blood pressure: unit 'mm hg' not recognised"]


def test_malformed_neighbour_resource_is_skipped_and_reported() -> None:
    result = facts(vital_signs="vitals/sbp_with_malformed_neighbour.json")
    assert result.hypotension.status is Status.PRESENT
    assert references(result.hypotension) == ["Observation/bp-16"]
    (reason,) = reasons(result)["Observation/bp-bad"]
    assert reason.startswith("failed validation: valueQuantity.value")
    assert "low" not in reason


def test_sbp_with_a_date_but_no_time_of_day_is_left_out() -> None:
    result = facts(vital_signs="vitals/sbp_date_only.json")
    assert result.hypotension.status is Status.UNKNOWN
    assert reasons(result)["Observation/bp-17"] == [
        "Systolic blood pressure: time of day or zone not recorded, not used"
    ]
    assert result.hypotension.shown[0].reason == "time-unknown"


def test_sbp_after_now_is_left_out() -> None:
    result = facts(vital_signs="vitals/sbp_future.json")
    assert result.hypotension.status is Status.UNKNOWN
    assert "after the evaluation time" in reasons(result)["Observation/bp-18"][0]


def test_sbp_sent_under_another_key_still_counts() -> None:
    assert facts(labs="vitals/sbp_in_labs_bundle.json").hypotension.status is Status.PRESENT


def test_vital_signs_unavailable_makes_hypotension_unknown() -> None:
    fact = facts(unavailable={"vital-signs": "not prefetched and no FHIR server access"}).hypotension
    assert fact.status is Status.UNKNOWN
    assert fact.missing[0] == Gap.of(
        "vital-signs", Reason.NOT_OBTAINED, detail="not prefetched and no FHIR server access"
    )


def test_vital_signs_unavailable_but_low_sbp_elsewhere_is_still_hypotension() -> None:
    result = facts(unavailable={"vital-signs": "timeout"}, labs="vitals/sbp_in_labs_bundle.json")
    assert result.hypotension.status is Status.PRESENT


def test_vital_signs_unavailable_and_normal_sbp_elsewhere_is_not_absent() -> None:
    result = facts(unavailable={"vital-signs": "timeout"}, labs="vitals/sbp_90_2h.json")
    assert result.hypotension.status is Status.UNKNOWN


def test_measured_map_in_the_panel_is_used_rather_than_a_computed_one() -> None:
    fact = facts(vital_signs="vitals/panel_with_measured_map_55.json").hypotension
    assert fact.status is Status.PRESENT
    assert fact.evidence[0].note == "MAP 55 mm[Hg] < 60 mm[Hg]"


def test_a_later_version_of_the_same_observation_replaces_the_earlier() -> None:
    fact = facts(
        vital_signs="vitals/sbp_89_old_version.json", labs="vitals/sbp_89_corrected_to_120.json"
    ).hypotension
    assert fact.status is Status.ABSENT
    assert fact.evidence[0].value == 120


def _sbp(rid: str, value: float, when: str) -> dict[str, object]:
    return {
        "resourceType": "Observation",
        "id": rid,
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]},
        "effectiveDateTime": when,
        "valueQuantity": {
            "value": value,
            "unit": "mmHg",
            "system": "http://unitsofmeasure.org",
            "code": "mm[Hg]",
        },
        "subject": {"reference": "Patient/pat-1"},
    }


def _vitals(*observations: dict[str, object]) -> Status:
    base = chart()
    bundle = {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": o} for o in observations]}
    prefetch = {**base.prefetch, "vital-signs": bundle}
    return map_chart(ChartInput(base.patient_id, prefetch, {}), now=NOW).hypotension.status


@pytest.mark.parametrize(("value", "status"), [(39, Status.UNKNOWN), (40, Status.PRESENT)])
def test_sbp_below_40_is_an_artefact(value: float, status: Status) -> None:
    assert _vitals(_sbp("bp-1", value, "2026-11-20T11:00:00Z")) is status


@pytest.mark.parametrize(("value", "status"), [(300, Status.ABSENT), (301, Status.PRESENT)])
def test_sbp_above_300_is_an_artefact_and_the_latest_plausible_decides(value: float, status: Status) -> None:
    assert (
        _vitals(_sbp("bp-1", 85, "2026-11-20T10:00:00Z"), _sbp("bp-2", value, "2026-11-20T11:00:00Z"))
        is status
    )


def test_sbp_0_artefact_after_118_leaves_hypotension_unknown() -> None:
    # The newest reading is unusable and the usable one before it is normal: not "no".
    assert (
        _vitals(_sbp("bp-1", 118, "2026-11-20T11:00:00Z"), _sbp("bp-2", 0, "2026-11-20T11:30:00Z"))
        is Status.UNKNOWN
    )
