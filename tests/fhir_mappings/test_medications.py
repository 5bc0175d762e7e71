"""Medication classes and vasoactive support."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from fhir_mappings import ChartInput, map_chart
from fhir_mappings.facts import MatchKind, Status
from fhir_mappings.gaps import Gap, Reason
from tests.fhir_mappings.charts import NOW, chart, facts, reasons


def test_furosemide_rxnorm_ingredient_is_an_active_loop_diuretic() -> None:
    (match,) = facts(medication_requests="meds/furosemide_ingredient.json").medications.active(
        "loop-diuretics"
    )
    assert match.match_kind is MatchKind.CODE
    assert match.evidence.reference == "MedicationRequest/mr-furo"
    assert match.evidence.code == "4603"


def test_furosemide_clinical_drug_code_is_a_loop_diuretic() -> None:
    meds = facts(medication_requests="meds/furosemide_scd.json").medications
    assert [m.evidence.code for m in meds.active("loop-diuretics")] == ["1719291"]


def test_sacubitril_valsartan_clinical_drug_is_an_arb() -> None:
    assert facts(medication_requests="meds/arni_scd.json").medications.active("arbs")


def test_contained_medication_ingredient_is_resolved() -> None:
    result = facts(medication_requests="meds/contained_ingredient.json")
    (match,) = result.medications.active("vasopressors")
    assert match.match_kind is MatchKind.INGREDIENT
    assert match.evidence.code == "7512"
    assert result.vasoactive_support.status is Status.PRESENT


def test_included_medication_resource_is_resolved() -> None:
    (match,) = facts(medication_requests="meds/included_medication.json").medications.active("ace-inhibitors")
    assert match.match_kind is MatchKind.CODE
    assert match.evidence.code == "29046"


def test_atc_code_is_matched_and_flagged_as_atc() -> None:
    result = facts(medication_requests="meds/atc_levosimendan.json")
    (match,) = result.medications.active("inotropes")
    assert match.match_kind is MatchKind.ATC
    assert result.vasoactive_support.present


def test_atc_dobutamine_is_an_inotrope_not_a_vasopressor_by_prefix() -> None:
    meds = facts(medication_requests="meds/atc_dobutamine.json").medications
    assert meds.active("inotropes")
    assert meds.active("vasopressors") == ()


def test_product_coded_torsemide_matches_by_its_clinical_drug_code_and_is_named_by_ingredient() -> None:
    # RxNorm 198372 "torsemide 5 MG Oral Tablet" is in the VSAC "Diuretics" expansion.
    (match,) = facts(medication_requests="meds/name_only_torsemide.json").medications.active("loop-diuretics")
    assert match.match_kind is MatchKind.CODE
    assert match.evidence.code == "198372"
    assert match.evidence.what == "torsemide"


def test_name_match_is_case_insensitive_and_does_not_confuse_epinephrine() -> None:
    meds = facts(medication_requests="meds/name_only_norepinephrine_text.json").medications
    assert [m.evidence.display for m in meds.active("vasopressors")] == ["norepinephrine"]


def test_stopped_order_is_not_active() -> None:
    assert (
        facts(medication_requests="meds/stopped_furosemide.json").medications.active("loop-diuretics") == ()
    )


def test_entered_in_error_order_is_ignored_and_reported() -> None:
    result = facts(medication_requests="meds/entered_in_error_dobutamine.json")
    assert result.vasoactive_support.status is Status.ABSENT
    assert reasons(result)["MedicationRequest/mr-eie"] == ["status entered-in-error"]


def test_norepinephrine_order_is_vasoactive_support() -> None:
    fact = facts(medication_requests="meds/contained_ingredient.json").vasoactive_support
    assert fact.evidence[0].reference == "MedicationRequest/mr-contained"


def test_dobutamine_administration_in_progress_is_vasoactive_support() -> None:
    result = facts(medication_administrations="meds/admin_dobutamine_in_progress.json")
    assert result.vasoactive_support.status is Status.PRESENT
    assert [m.evidence.status for m in result.medications.active("inotropes")] == ["running"]


def test_completed_norepinephrine_administration_is_not_vasoactive_support() -> None:
    result = facts(medication_administrations="meds/admin_norepinephrine_completed_23h.json")
    assert result.vasoactive_support.status is Status.ABSENT


def test_in_progress_administration_is_timed_by_its_start() -> None:
    fact = facts(medication_administrations="meds/admin_dobutamine_in_progress.json").vasoactive_support
    assert [e.time for e in fact.evidence] == [datetime(2026, 11, 20, 9, 0, tzinfo=UTC)]
    assert [e.status for e in fact.evidence] == ["running"]


def test_completed_administration_is_reported_as_not_running() -> None:
    result = facts(medication_administrations="meds/admin_norepinephrine_completed_25h.json")
    assert result.vasoactive_support.status is Status.ABSENT
    assert reasons(result)["MedicationAdministration/ma-3"] == ["completed administration: not running now"]


def test_unresolvable_medication_reference_makes_vasoactive_support_unknown() -> None:
    result = facts(medication_requests="meds/unresolvable_reference.json")
    assert result.vasoactive_support.status is Status.UNKNOWN
    assert reasons(result)["MedicationRequest/mr-unres"] == ["medication reference could not be resolved"]


def test_medication_orders_unavailable_means_classes_not_assessed() -> None:
    result = facts(unavailable={"medication-requests": "timeout"})
    assert result.medications.assessed is False
    assert result.medications.missing == (
        Gap.of("medication-requests", Reason.NOT_OBTAINED, detail="timeout"),
    )
    assert result.vasoactive_support.status is Status.UNKNOWN


def test_no_orders_found_is_assessed_and_empty() -> None:
    result = facts()
    assert result.medications.assessed
    assert result.medications.by_class == {}
    assert result.vasoactive_support.status is Status.ABSENT


def test_do_not_perform_order_is_never_an_active_drug() -> None:
    result = facts(medication_requests="meds/do_not_perform_norepinephrine.json")
    assert result.vasoactive_support.status is Status.ABSENT
    assert result.medications.active("vasopressors") == ()
    assert reasons(result)["MedicationRequest/mr-dnp"] == ["doNotPerform order"]


def test_ingredient_given_as_a_reference_to_another_contained_medication_is_resolved() -> None:
    (match,) = facts(medication_requests="meds/ingredient_item_reference.json").medications.active(
        "inotropes"
    )
    assert match.match_kind is MatchKind.INGREDIENT
    assert match.evidence.code == "3616"


def _norepinephrine_order(route: str | None) -> dict[str, object]:
    order: dict[str, object] = {
        "resourceType": "MedicationRequest",
        "id": "rx-route",
        "status": "active",
        "intent": "order",
        "medicationCodeableConcept": {
            "coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "7512"}]
        },
        "subject": {"reference": "Patient/pat-1"},
    }
    ucum = "http://unitsofmeasure.org"
    rate = {"rateQuantity": {"value": 8, "unit": "ug/min", "system": ucum, "code": "ug/min"}}
    dosage: dict[str, object] = {"doseAndRate": [rate]}
    if route:
        dosage["route"] = {"coding": [{"system": "http://snomed.info/sct", "code": route}]}
    order["dosageInstruction"] = [dosage]
    return order


@pytest.mark.parametrize(
    ("route", "status"),
    [
        (None, Status.PRESENT),
        ("47625008", Status.PRESENT),
        ("78421000", Status.ABSENT),
        ("999999999", Status.PRESENT),
    ],
    ids=["no-route", "intravenous", "intramuscular", "unlisted-route"],
)
def test_only_a_listed_non_intravenous_route_keeps_a_vasopressor_from_counting(
    route: str | None, status: Status
) -> None:
    base = chart()
    bundle = {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [{"resource": _norepinephrine_order(route)}],
    }
    prefetch = {**base.prefetch, "medication-requests": bundle}
    fact = map_chart(ChartInput(base.patient_id, prefetch, {}), now=NOW).vasoactive_support
    assert fact.status is status
    if status is Status.ABSENT:
        assert [e.reason for e in fact.shown] == ["not-intravenous"]
