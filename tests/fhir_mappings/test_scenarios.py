"""Whole charts: the facts behind the spec's emergency and shock cards, from several keys."""

from __future__ import annotations

from fhir_mappings.facts import GradeSource, MatchKind, Status
from tests.fhir_mappings.charts import facts


def test_acute_mr_with_pulmonary_edema_and_hypotension() -> None:
    result = facts(
        conditions="scenario/acute_mr_conditions.json",
        vital_signs="vitals/panel_sbp_85.json",
    )
    assert result.mr_documented.present
    assert result.acute_mr_trigger.present
    assert {e.reference for e in result.acute_mr_trigger.evidence} == {"Condition/s1-mr", "Condition/s1-mi"}
    assert result.pulmonary_edema.present
    assert result.heart_failure_symptoms.present
    assert result.hypotension.present
    assert [f.name for f in result.hemodynamic_instability] == ["hypotension"]


def test_severe_mr_in_cardiogenic_shock_on_iabp_with_two_failing_organs() -> None:
    result = facts(
        conditions="scenario/shock_conditions.json",
        mr_grade="echo/severe_qualifier.json",
        labs="labs/creatinine_and_bilirubin_high.json",
        procedures="support/iabp_in_progress.json",
        medication_requests=["meds/contained_ingredient.json", "meds/furosemide_ingredient.json"],
    )
    assert result.severe_mr
    assert result.mr_grade.source is GradeSource.ECHO
    assert {f.name for f in result.hemodynamic_instability} == {"cardiogenic_shock", "vasoactive_support"}
    assert result.mechanical_support.present
    assert result.multi_organ_failure.present
    assert result.organ_dysfunction["respiratory"].status is Status.ABSENT
    assert [m.match_kind for m in result.medications.active("loop-diuretics")] == [MatchKind.CODE]
    assert result.data_quality == ()
    assert result.unavailable == ()
