"""Scope facts: age, death, code status, pregnancy, durable VAD (docs/clinical-rules.md,
section 'Scope, goals of care and contraindications')."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fhir_mappings import ChartInput, map_chart
from fhir_mappings.facts import Status
from fhir_mappings.parse import KEY_LABELS

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
ICD = "http://hl7.org/fhir/sid/icd-10-cm"
LOINC = "http://loinc.org"


def bundle(*resources: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": r} for r in resources]}


def scope(unavailable: dict[str, str] | None = None, **keys: Any) -> Any:
    prefetch: dict[str, Any] = {key: None for key in KEY_LABELS}
    prefetch.update({k.replace("_", "-"): v for k, v in keys.items()})
    for key in unavailable or {}:
        prefetch.pop(key, None)
    return map_chart(ChartInput("pat-1", prefetch, unavailable or {}), now=NOW).scope


def patient(**fields: Any) -> dict[str, Any]:
    return {"resourceType": "Patient", "id": "pat-1", **fields}


def condition(rid: str, code: str, recorded: str = "2026-11-01T00:00:00Z") -> dict[str, Any]:
    return {
        "resourceType": "Condition",
        "id": rid,
        "clinicalStatus": {
            "coding": [
                {"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}
            ]
        },
        "code": {"coding": [{"system": ICD, "code": code}]},
        "subject": {"reference": "Patient/pat-1"},
        "recordedDate": recorded,
    }


def order(rid: str, code: str, authored: str, status: str = "active", **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "ServiceRequest",
        "id": rid,
        "status": status,
        "intent": "order",
        "code": {"coding": [{"system": LOINC, "code": code}]},
        "subject": {"reference": "Patient/pat-1"},
        "authoredOn": authored,
        **extra,
    }


def test_age_is_whole_years_at_now() -> None:
    assert scope(patient=patient(birthDate="2008-11-21")).age_years == 17
    assert scope(patient=patient(birthDate="2008-11-20")).age_years == 18


def test_a_birth_month_counts_with_the_oldest_age_it_allows() -> None:
    assert scope(patient=patient(birthDate="2008-11")).age_years == 18


def test_no_birth_date_leaves_the_age_unknown_and_the_patient_in_scope() -> None:
    result = scope(patient=patient())
    assert result.age_years is None
    assert result.out_of_scope is None


def test_deceased_boolean_is_out_of_scope() -> None:
    assert scope(patient=patient(deceasedBoolean=True)).out_of_scope == "deceased"


def test_a_death_time_after_now_is_not_deceased() -> None:
    assert not scope(patient=patient(deceasedDateTime="2026-11-21T00:00:00Z")).deceased.present


def test_dnr_problem_list_entry_is_dnr() -> None:
    result = scope(conditions=bundle(condition("c1", "Z66")))
    assert result.dnr.present
    assert not result.comfort_care.present


def test_newest_code_status_decides_a_newer_dnr_order_ends_comfort_care() -> None:
    result = scope(
        code_status=bundle(
            order("o1", "LA33475-7", "2026-11-10T00:00:00Z"), order("o2", "LA33471-6", "2026-11-18T00:00:00Z")
        )
    )
    assert result.dnr.present
    assert not result.comfort_care.present


def test_a_newer_full_code_order_ends_an_older_dnr_entry() -> None:
    result = scope(
        conditions=bundle(condition("c1", "Z66", recorded="2026-10-01T00:00:00Z")),
        code_status=bundle(order("o1", "LA33470-8", "2026-11-18T00:00:00Z")),
    )
    assert result.dnr.status is Status.ABSENT
    assert result.comfort_care.status is Status.ABSENT


def test_an_older_full_code_order_leaves_a_newer_dnr_entry() -> None:
    result = scope(
        conditions=bundle(condition("c1", "Z66", recorded="2026-11-19T00:00:00Z")),
        code_status=bundle(order("o1", "LA33470-8", "2026-11-01T00:00:00Z")),
    )
    assert result.dnr.present


def test_a_do_not_perform_comfort_order_is_not_a_code_status() -> None:
    result = scope(code_status=bundle(order("o1", "LA33475-7", "2026-11-10T00:00:00Z", doNotPerform=True)))
    assert result.comfort_care.status is Status.ABSENT


def test_code_status_unknown_when_the_orders_could_not_be_fetched() -> None:
    result = scope(unavailable={"code-status": "the EHR could not fetch it"})
    assert result.comfort_care.status is Status.UNKNOWN
    assert not result.comfort_care.present


def test_a_pregnancy_status_older_than_nine_months_does_not_count() -> None:
    status = {
        "resourceType": "Observation",
        "id": "p1",
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": "82810-3"}]},
        "effectiveDateTime": "2026-01-01T00:00:00Z",
        "valueCodeableConcept": {"coding": [{"system": LOINC, "code": "LA15173-0"}]},
        "subject": {"reference": "Patient/pat-1"},
    }
    assert not scope(labs=bundle(status)).pregnant.present
    recent = {**status, "effectiveDateTime": "2026-11-01T00:00:00Z"}
    assert scope(labs=bundle(recent)).pregnant.present


def test_puerperium_is_not_pregnancy() -> None:
    assert not scope(conditions=bundle(condition("c1", "O99.43"))).pregnant.present


def test_durable_vad_by_code() -> None:
    assert scope(conditions=bundle(condition("c1", "Z95.811"))).durable_vad.present
