"""Hypoperfusion (lactate) and the lab-based organ dysfunctions."""

from __future__ import annotations

import pytest

from fhir_mappings import ChartInput, map_chart
from fhir_mappings.facts import Status
from fhir_mappings.gaps import Gap, Reason
from tests.fhir_mappings.charts import NOW, chart, facts, reasons, references


def test_lactate_2_0_mmol_within_24h_is_hypoperfusion() -> None:
    fact = facts(labs="labs/lactate_2_0.json").hypoperfusion
    assert fact.status is Status.PRESENT
    assert fact.evidence[0].note == "lactate 2 mmol/L >= 2 mmol/L"


def test_lactate_1_9_mmol_is_not_hypoperfusion() -> None:
    assert facts(labs="labs/lactate_1_9.json").hypoperfusion.status is Status.ABSENT


def test_lactate_in_mg_dl_is_divided_by_9_008() -> None:
    fact = facts(labs="labs/lactate_mg_dl_18_1.json").hypoperfusion
    assert fact.status is Status.PRESENT
    assert fact.evidence[0].unit == "mg/dL"
    assert fact.evidence[0].note == "lactate 18.1 mg/dL (= 2.009 mmol/L) >= 2 mmol/L"


def test_lactate_17_9_mg_dl_is_below_2_mmol() -> None:
    assert facts(labs="labs/lactate_mg_dl_17_9.json").hypoperfusion.status is Status.ABSENT


def test_lactate_25h_old_is_outside_its_24h_window() -> None:
    result = facts(labs="labs/lactate_25h.json")
    assert result.hypoperfusion.status is Status.UNKNOWN
    assert result.hypoperfusion.missing == ("no lactate in the last 24 h",)
    assert reasons(result)["Observation/lac-5"] == [
        "Lactate [Moles/volume] in Blood: outside the 24 h window"
    ]


def test_lactate_mmol_text_unit_without_system_is_accepted() -> None:
    assert facts(labs="labs/lactate_mmol_without_system_text.json").hypoperfusion.present


def test_labs_unavailable_makes_hypoperfusion_unknown() -> None:
    fact = facts(unavailable={"labs": "the FHIR server returned an error"}).hypoperfusion
    assert fact.status is Status.UNKNOWN
    assert fact.missing[0] == Gap.of("labs", Reason.NOT_OBTAINED, detail="the FHIR server returned an error")


def test_creatinine_2_0_mg_dl_is_renal_dysfunction() -> None:
    fact = facts(labs="labs/creatinine_2_0.json").organ_dysfunction["renal"]
    assert fact.status is Status.PRESENT
    assert fact.evidence[0].note == "creatinine 2 mg/dL >= 2 mg/dL"


def test_creatinine_1_9_mg_dl_is_not_renal_dysfunction() -> None:
    assert facts(labs="labs/creatinine_1_9.json").organ_dysfunction["renal"].status is Status.ABSENT


def test_creatinine_177_umol_is_renal_dysfunction() -> None:
    fact = facts(labs="labs/creatinine_177_umol.json").organ_dysfunction["renal"]
    assert fact.status is Status.PRESENT
    assert fact.evidence[0].note == "creatinine 177 umol/L >= 177 umol/L"


def test_creatinine_176_umol_is_not_renal_dysfunction() -> None:
    assert facts(labs="labs/creatinine_176_umol.json").organ_dysfunction["renal"].status is Status.ABSENT


def test_latest_creatinine_decides_not_the_worst() -> None:
    fact = facts(labs="labs/creatinine_latest_decides.json").organ_dysfunction["renal"]
    assert fact.status is Status.ABSENT
    assert references(fact) == ["Observation/cr-new"]


def test_creatinine_47h_old_is_within_48h() -> None:
    assert facts(labs="labs/creatinine_47h.json").organ_dysfunction["renal"].present


def test_creatinine_49h_old_is_outside_48h_and_reported() -> None:
    result = facts(labs="labs/creatinine_49h.json")
    assert result.organ_dysfunction["renal"].status is Status.UNKNOWN
    assert "no creatinine in the last 48 h" in result.organ_dysfunction["renal"].missing
    assert "Observation/cr-6" in reasons(result)


def test_corrected_creatinine_counts() -> None:
    assert facts(labs="labs/creatinine_corrected.json").organ_dysfunction["renal"].present


def test_creatinine_with_lowercase_mg_dl_text_is_left_out() -> None:
    result = facts(labs="labs/creatinine_lowercase_text_unit.json")
    assert result.organ_dysfunction["renal"].status is Status.UNKNOWN
    assert reasons(result)["Observation/cr-7"] == [
        "Creatinine [Mass/volume] in Serum or Plasma: unit 'mg/dl' not recognised"
    ]


def test_creatinine_in_mg_per_l_is_not_converted() -> None:
    result = facts(labs="labs/creatinine_mg_per_l.json")
    assert result.organ_dysfunction["renal"].status is Status.UNKNOWN
    assert reasons(result)["Observation/cr-8"] == [
        "Creatinine [Mass/volume] in Serum or Plasma: unit 'mg/L' is not a creatinine unit"
    ]


def test_creatinine_with_comparator_is_left_out() -> None:
    result = facts(labs="labs/creatinine_comparator.json")
    assert result.organ_dysfunction["renal"].status is Status.UNKNOWN
    assert "comparator" in reasons(result)["Observation/cr-9"][0]


def test_aki_condition_is_renal_dysfunction_without_creatinine() -> None:
    fact = facts(conditions="conditions/aki.json").organ_dysfunction["renal"]
    assert fact.status is Status.PRESENT
    assert references(fact) == ["Condition/aki-1"]


def test_bilirubin_34_umol_is_hepatic_dysfunction() -> None:
    assert facts(labs="labs/bilirubin_34_umol.json").organ_dysfunction["hepatic"].present


def test_bilirubin_33_umol_is_not_hepatic_dysfunction() -> None:
    assert facts(labs="labs/bilirubin_33_umol.json").organ_dysfunction["hepatic"].status is Status.ABSENT


def test_bilirubin_2_1_mg_dl_is_hepatic_dysfunction() -> None:
    assert facts(labs="labs/bilirubin_2_1_mg_dl.json").organ_dysfunction["hepatic"].present


def test_liver_failure_condition_is_hepatic_dysfunction() -> None:
    assert facts(conditions="conditions/liver_failure.json").organ_dysfunction["hepatic"].present


def test_platelets_99_per_nl_is_coagulation_dysfunction() -> None:
    fact = facts(labs="labs/platelets_99_per_nl.json").organ_dysfunction["coagulation"]
    assert fact.status is Status.PRESENT
    assert fact.evidence[0].note == "platelets 99 10*9/L (= 99 10*3/uL) < 100 10*3/uL"


def test_platelets_100_per_ul_is_not_coagulation_dysfunction() -> None:
    assert (
        facts(labs="labs/platelets_100_per_ul.json").organ_dysfunction["coagulation"].status is Status.ABSENT
    )


def test_platelets_in_k_ul_text_are_accepted() -> None:
    assert facts(labs="labs/platelets_k_ul_text.json").organ_dysfunction["coagulation"].present


def test_respiratory_failure_condition_is_respiratory_dysfunction() -> None:
    assert facts(conditions="conditions/respiratory_failure.json").organ_dysfunction["respiratory"].present


def test_two_failing_organs_are_multi_organ_failure() -> None:
    result = facts(labs="labs/creatinine_and_bilirubin_high.json")
    assert result.multi_organ_failure.status is Status.PRESENT
    assert references(result.multi_organ_failure) == ["Observation/cr-11", "Observation/bi-4"]


def test_one_failing_organ_with_others_unknown_is_unknown_multi_organ_failure() -> None:
    result = facts(labs="labs/creatinine_high_only.json")
    assert result.multi_organ_failure.status is Status.UNKNOWN
    assert "hepatic: no total bilirubin in the last 48 h" in result.multi_organ_failure.missing


def test_all_organs_normal_is_no_multi_organ_failure() -> None:
    result = facts(labs="labs/all_normal.json")
    assert {k: f.status for k, f in result.organ_dysfunction.items()} == {
        "renal": Status.ABSENT,
        "hepatic": Status.ABSENT,
        "respiratory": Status.ABSENT,
        "coagulation": Status.ABSENT,
    }
    assert result.multi_organ_failure.status is Status.ABSENT
    assert result.hypoperfusion.status is Status.ABSENT


def test_multiple_organ_failure_condition_is_multi_organ_failure() -> None:
    result = facts(conditions="conditions/multiple_organ_failure.json")
    assert result.multi_organ_failure.status is Status.PRESENT
    assert references(result.multi_organ_failure) == ["Condition/mof-1"]


def _lactate(value: float, comparator: str | None) -> dict[str, object]:
    quantity: dict[str, object] = {
        "value": value,
        "unit": "mmol/L",
        "system": "http://unitsofmeasure.org",
        "code": "mmol/L",
    }
    if comparator:
        quantity["comparator"] = comparator
    return {
        "resourceType": "Observation",
        "id": "lac-c",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "2524-7"}]},
        "effectiveDateTime": "2026-11-20T10:00:00Z",
        "valueQuantity": quantity,
        "subject": {"reference": "Patient/pat-1"},
    }


@pytest.mark.parametrize(
    ("value", "comparator", "status"),
    [
        (15, ">", Status.PRESENT),
        (2, ">=", Status.PRESENT),
        (1.5, "<", Status.ABSENT),
        (2, "<", Status.ABSENT),
        (2, "<=", Status.UNKNOWN),
        (1, ">", Status.UNKNOWN),
    ],
)
def test_lactate_bound_counts_only_when_it_decides(value: float, comparator: str, status: Status) -> None:
    base = chart()
    bundle = {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [{"resource": _lactate(value, comparator)}],
    }
    result = map_chart(ChartInput(base.patient_id, {**base.prefetch, "labs": bundle}, {}), now=NOW)
    assert result.hypoperfusion.status is status


def test_lactate_bound_keeps_its_comparator_in_the_evidence() -> None:
    base = chart()
    bundle = {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": _lactate(15, ">")}]}
    result = map_chart(ChartInput(base.patient_id, {**base.prefetch, "labs": bundle}, {}), now=NOW)
    assert [e.value_text for e in result.hypoperfusion.evidence] == [">15"]
