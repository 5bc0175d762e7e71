"""Condition facts: MR documented, cardiogenic shock, pulmonary edema, heart failure, triggers."""

from __future__ import annotations

from fhir_mappings.facts import Status
from fhir_mappings.gaps import Gap, Reason
from tests.fhir_mappings.charts import facts, reasons, references


def test_active_confirmed_mr_condition_is_documented() -> None:
    result = facts(conditions="conditions/mr_active.json")
    assert result.mr_documented.status is Status.PRESENT
    assert references(result.mr_documented) == ["Condition/mr-1"]
    assert result.mr_documented.evidence[0].code == "I34.0"
    assert result.mr_unconfirmed is False


def test_mr_condition_without_clinical_status_counts_as_active() -> None:
    assert facts(conditions="conditions/mr_no_clinical_status.json").mr_documented.status is Status.PRESENT


def test_mr_condition_without_clinical_status_but_abated_is_not_active() -> None:
    assert (
        facts(conditions="conditions/mr_no_clinical_status_abated.json").mr_documented.status is Status.ABSENT
    )


def test_recurrence_counts_as_active() -> None:
    assert facts(conditions="conditions/mr_recurrence.json").mr_documented.status is Status.PRESENT


def test_resolved_mr_condition_is_absent() -> None:
    assert facts(conditions="conditions/mr_resolved.json").mr_documented.status is Status.ABSENT


def test_provisional_mr_condition_is_documented_but_unconfirmed() -> None:
    result = facts(conditions="conditions/mr_provisional.json")
    assert result.mr_documented.status is Status.PRESENT
    assert result.mr_unconfirmed is True
    assert "provisional" in (result.mr_documented.evidence[0].note or "")


def test_differential_mr_next_to_a_confirmed_one_is_confirmed() -> None:
    result = facts(conditions="conditions/mr_differential_and_confirmed.json")
    assert result.mr_documented.status is Status.PRESENT
    assert result.mr_unconfirmed is False


def test_refuted_mr_condition_is_ignored_and_reported() -> None:
    result = facts(conditions="conditions/mr_refuted.json")
    assert result.mr_documented.status is Status.ABSENT
    assert reasons(result)["Condition/mr-7"] == ["verificationStatus refuted"]


def test_entered_in_error_mr_condition_is_ignored_and_reported() -> None:
    result = facts(conditions="conditions/mr_entered_in_error.json")
    assert result.mr_documented.status is Status.ABSENT
    assert reasons(result)["Condition/mr-8"] == ["verificationStatus entered-in-error"]


def test_mr_condition_with_bogus_clinical_status_is_ignored_and_reported() -> None:
    result = facts(conditions="conditions/mr_bogus_clinical_status.json")
    assert result.mr_documented.status is Status.ABSENT
    assert "Condition/mr-11" in reasons(result)


def test_mr_condition_of_another_patient_is_left_out_and_reported() -> None:
    result = facts(conditions="conditions/mr_other_patient.json")
    assert result.mr_documented.status is Status.ABSENT
    assert reasons(result)["Condition/mr-12"] == ["refers to another patient"]


def test_unlisted_mitral_code_is_not_mr() -> None:
    # I34.1 (mitral valve prolapse) is not in the mitral-regurgitation value set.
    assert facts(conditions="conditions/mr_unlisted_code.json").mr_documented.status is Status.ABSENT


def test_conditions_unavailable_makes_condition_facts_unknown() -> None:
    result = facts(unavailable={"conditions": "the FHIR server did not answer in time"})
    assert result.mr_documented.status is Status.UNKNOWN
    assert result.mr_documented.missing == (
        Gap.of("conditions", Reason.NOT_OBTAINED, detail="the FHIR server did not answer in time"),
    )
    assert result.cardiogenic_shock.status is Status.UNKNOWN
    assert ("conditions", "the FHIR server did not answer in time") in result.unavailable


def test_conditions_operation_outcome_is_reported_as_could_not_be_fetched() -> None:
    result = facts(conditions="conditions/operation_outcome.json")
    assert result.mr_documented.status is Status.UNKNOWN
    assert dict(result.unavailable)["conditions"] == "could not be fetched (OperationOutcome: timeout)"


def test_conditions_null_means_searched_and_empty() -> None:
    result = facts(conditions=None)
    assert result.mr_documented.status is Status.ABSENT
    assert "conditions" not in dict(result.unavailable)


def test_cardiogenic_shock_condition() -> None:
    result = facts(conditions="conditions/cardiogenic_shock.json")
    assert result.cardiogenic_shock.status is Status.PRESENT
    assert references(result.cardiogenic_shock) == ["Condition/cs-1"]


def test_pulmonary_edema_is_also_a_heart_failure_symptom() -> None:
    result = facts(conditions="conditions/pulmonary_edema.json")
    assert result.pulmonary_edema.status is Status.PRESENT
    assert result.heart_failure_symptoms.status is Status.PRESENT


def test_dyspnea_is_a_heart_failure_symptom_but_not_pulmonary_edema() -> None:
    result = facts(conditions="conditions/dyspnea.json")
    assert result.heart_failure_symptoms.status is Status.PRESENT
    assert result.pulmonary_edema.status is Status.ABSENT


def test_heart_failure_is_a_heart_failure_symptom() -> None:
    assert facts(conditions="conditions/heart_failure.json").heart_failure_symptoms.status is Status.PRESENT


def test_acute_mi_with_onset_10_days_ago_is_a_trigger() -> None:
    result = facts(conditions="conditions/acute_mi_10_days.json")
    assert result.acute_mr_trigger.status is Status.PRESENT
    assert references(result.acute_mr_trigger) == ["Condition/mi-1"]


def test_acute_mi_with_onset_40_days_ago_is_not_a_trigger_and_is_reported() -> None:
    result = facts(conditions="conditions/acute_mi_40_days.json")
    assert result.acute_mr_trigger.status is Status.ABSENT
    assert "outside the 30 days window" in reasons(result)["Condition/mi-2"][0]


def test_trigger_onset_exactly_30_days_ago_counts() -> None:
    assert (
        facts(conditions="conditions/acute_mi_exactly_30_days.json").acute_mr_trigger.status is Status.PRESENT
    )


def test_trigger_onset_30_days_and_a_minute_ago_does_not_count() -> None:
    assert (
        facts(conditions="conditions/acute_mi_30_days_and_a_minute.json").acute_mr_trigger.status
        is Status.ABSENT
    )


def test_trigger_onset_period_start_comes_before_recorded_date() -> None:
    result = facts(conditions="conditions/endocarditis_onset_period.json")
    assert result.acute_mr_trigger.status is Status.PRESENT
    assert result.acute_mr_trigger.evidence[0].code == "I33.0"


def test_trigger_without_onset_uses_recorded_date() -> None:
    result = facts(conditions="conditions/papillary_rupture_recorded_date.json")
    assert result.acute_mr_trigger.status is Status.PRESENT


def test_trigger_with_onset_string_falls_back_to_recorded_date() -> None:
    assert facts(conditions="conditions/acute_mi_onset_string_recent_record.json").acute_mr_trigger.present


def test_undated_trigger_is_not_counted_and_said_so() -> None:
    result = facts(conditions="conditions/acute_mi_undated.json")
    assert result.acute_mr_trigger.status is Status.UNKNOWN
    assert result.acute_mr_trigger.missing == (
        "an acute trigger Condition: no onset or recorded date, not counted",
    )
    assert "Condition/mi-5" in reasons(result)


def test_acute_mr_from_papillary_rupture_is_both_mr_and_trigger() -> None:
    # SNOMED 371816003 is in mitral-regurgitation and in papillary-muscle-or-chordal-rupture.
    result = facts(conditions="conditions/acute_mr_papillary_rupture_snomed.json")
    assert result.mr_documented.present
    assert result.acute_mr_trigger.present


def test_papillary_muscle_rupture_alone_is_mr() -> None:
    # Revision 3: a rupture is acute MR by definition (docs/clinical-rules.md, MR documented).
    result = facts(conditions="conditions/papillary_rupture_recorded_date.json")
    assert result.mr_documented.status is Status.PRESENT


def test_statuses_coded_without_their_system_are_still_read() -> None:
    result = facts(conditions="conditions/mr_verification_without_system.json")
    assert result.mr_documented.present
    assert result.mr_unconfirmed is False


def test_refuted_without_system_is_still_refuted() -> None:
    assert facts(conditions="conditions/mr_refuted_without_system.json").mr_documented.status is Status.ABSENT


def test_unreadable_verification_status_counts_as_unconfirmed_and_is_reported() -> None:
    result = facts(conditions="conditions/mr_verification_text_only.json")
    assert result.mr_documented.present
    assert result.mr_unconfirmed is True
    assert reasons(result)["Condition/mr-31"] == ["verificationStatus not readable: counted as unconfirmed"]


def test_trigger_onset_given_as_a_month_straddling_the_window_is_not_counted_and_said_so() -> None:
    result = facts(conditions="conditions/acute_mi_onset_month_straddling.json")
    assert result.acute_mr_trigger.status is Status.UNKNOWN
    assert result.acute_mr_trigger.missing == (
        "an acute trigger Condition: time is only a month: "
        "cannot tell whether it is within 30 days, not counted",
    )


def test_trigger_onset_given_as_this_month_is_within_30_days() -> None:
    assert facts(conditions="conditions/acute_mi_onset_this_month.json").acute_mr_trigger.present


def test_trigger_onset_given_as_an_old_year_is_outside_the_window() -> None:
    assert (
        facts(conditions="conditions/acute_mi_onset_year_2019.json").acute_mr_trigger.status is Status.ABSENT
    )
