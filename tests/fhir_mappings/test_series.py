"""Time series (docs/clinical-rules.md, 'Time series'): the newest reading decides; an unusable
newest reading leaves a normal older one unknown; a drug counts as vasoactive when it runs now."""

from __future__ import annotations

from typing import Any

from fhir_mappings import ChartInput, PatientFacts, map_chart
from fhir_mappings.facts import Status
from fhir_mappings.parse import Report
from fhir_mappings.thresholds import default_thresholds
from fhir_mappings.vitals import blood_pressures, hypotension
from tests.fhir_mappings.charts import NOW, chart

LOINC = "http://loinc.org"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
UCUM = "http://unitsofmeasure.org"


def _sbp(rid: str, value: float, when: str, unit: str | None = "mm[Hg]") -> dict[str, Any]:
    quantity: dict[str, Any] = {"value": value}
    if unit:
        quantity.update(unit=unit, system=UCUM, code=unit)
    return {
        "resourceType": "Observation",
        "id": rid,
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": "8480-6"}]},
        "subject": {"reference": "Patient/pat-1"},
        "effectiveDateTime": when,
        "valueQuantity": quantity,
    }


def _mapped(key: str, *resources: dict[str, Any]) -> PatientFacts:
    base = chart()
    bundle = {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": r} for r in resources]}
    return map_chart(ChartInput(base.patient_id, {**base.prefetch, key: bundle}, {}), now=NOW)


def test_a_date_only_reading_of_today_makes_a_normal_older_reading_unknown() -> None:
    fact = _mapped("vital-signs", _sbp("bp-1", 118, "2026-11-20T08:00:00Z"), _sbp("bp-2", 80, "2026-11-20"))
    assert fact.hypotension.status is Status.UNKNOWN
    assert [e.reason for e in fact.hypotension.shown] == ["time-unknown"]
    assert [e.value for e in fact.hypotension.evidence] == [118]


def test_a_date_only_reading_of_an_earlier_day_does_not_hide_the_newest_reading() -> None:
    fact = _mapped("vital-signs", _sbp("bp-1", 118, "2026-11-20T08:00:00Z"), _sbp("bp-2", 80, "2026-11-19"))
    assert fact.hypotension.status is Status.ABSENT


def test_a_reading_without_a_zone_at_the_start_of_the_calendar_is_named_not_a_crash() -> None:
    # Read as UTC +-14 h, 0001-01-01T05:00 would fall before year 1: no usable time.
    fact = _mapped(
        "vital-signs", _sbp("bp-1", 118, "2026-11-20T08:00:00Z"), _sbp("bp-2", 70, "0001-01-01T05:00:00")
    )
    assert fact.hypotension.status is Status.ABSENT
    assert [e.value for e in fact.hypotension.evidence] == [118]
    named = [n.reason for n in fact.data_quality if n.resource_id == "bp-2"]
    assert named == ["Systolic blood pressure: no usable effective time"], named


def test_an_unusable_newest_reading_never_makes_an_abnormal_older_one_normal() -> None:
    fact = _mapped(
        "vital-signs",
        _sbp("bp-1", 72, "2026-11-20T10:00:00Z"),
        _sbp("bp-2", 120, "2026-11-20T11:00:00Z", None),
    )
    assert fact.hypotension.status is Status.PRESENT
    assert [e.value for e in fact.hypotension.evidence] == [72]
    assert [(e.value, e.reason) for e in fact.hypotension.shown] == [(120, "no-unit")]


def test_the_unknown_reason_names_both_readings_with_their_times() -> None:
    fact = _mapped(
        "vital-signs", _sbp("bp-1", 118, "2026-11-20T09:00:00Z"), _sbp("bp-2", 0, "2026-11-20T10:05:00Z")
    )
    assert fact.hypotension.missing == (
        "latest SBP 0 mmHg at 10:05 UTC looks like an artefact; SBP 118 mmHg at 09:00 UTC: check",
    )


def test_low_readings_confirm_each_other_only_within_the_window() -> None:
    close = _mapped(
        "vital-signs", _sbp("bp-1", 35, "2026-11-20T11:00:00Z"), _sbp("bp-2", 38, "2026-11-20T11:30:00Z")
    )
    apart = _mapped(
        "vital-signs", _sbp("bp-1", 35, "2026-11-20T11:00:00Z"), _sbp("bp-2", 38, "2026-11-20T11:31:00Z")
    )
    assert close.hypotension.status is Status.PRESENT
    assert close.hypotension.evidence[0].status == "confirmed"
    assert apart.hypotension.status is Status.UNKNOWN


def test_under_mechanical_support_only_the_map_is_read() -> None:
    report = Report()
    pressures = blood_pressures(
        [_sbp("bp-1", 70, "2026-11-20T11:00:00Z")], now=NOW, thresholds=default_thresholds(), report=report
    )
    fact = hypotension(pressures, default_thresholds(), None, map_only=True)
    assert fact.status is Status.UNKNOWN
    assert "no mean arterial pressure in the last 24 h" in fact.missing
    assert hypotension(pressures, default_thresholds(), None).status is Status.PRESENT


def _lactate(rid: str, value: float, when: str, unit: str | None = "mmol/L") -> dict[str, Any]:
    res = _sbp(rid, value, when, unit)
    res["code"] = {"coding": [{"system": LOINC, "code": "2524-7"}]}
    return res


def test_lactate_newest_reading_decides_not_the_worst() -> None:
    fact = _mapped(
        "labs", _lactate("lac-1", 6.0, "2026-11-20T08:00:00Z"), _lactate("lac-2", 1.4, "2026-11-20T11:00:00Z")
    )
    assert fact.hypoperfusion.status is Status.ABSENT


def test_lactate_without_a_unit_after_a_normal_one_is_unknown() -> None:
    fact = _mapped(
        "labs",
        _lactate("lac-1", 1.4, "2026-11-20T08:00:00Z"),
        _lactate("lac-2", 5.0, "2026-11-20T11:00:00Z", None),
    )
    assert fact.hypoperfusion.status is Status.UNKNOWN
    assert [e.reason for e in fact.hypoperfusion.shown] == ["no-unit"]


# --- vasoactive support: running now ---------------------------------------------------------


def _order(**extra: Any) -> dict[str, Any]:
    order: dict[str, Any] = {
        "resourceType": "MedicationRequest",
        "id": "rx-1",
        "status": "active",
        "intent": "order",
        "medicationCodeableConcept": {
            "coding": [{"system": RXNORM, "code": "3616", "display": "dobutamine"}]
        },
        "subject": {"reference": "Patient/pat-1"},
        "dosageInstruction": [
            {"doseAndRate": [{"rateQuantity": {"value": 5, "system": UCUM, "code": "ug/kg/min"}}]}
        ],
    }
    order.update(extra)
    return order


def test_a_dose_per_minute_is_a_continuous_infusion() -> None:
    dose = {"doseQuantity": {"value": 5, "unit": "mcg/kg/min", "system": UCUM, "code": "ug/kg/min"}}
    facts = _mapped("medication-requests", _order(dosageInstruction=[{"doseAndRate": [dose]}]))
    assert facts.vasoactive_support.status is Status.PRESENT


def test_an_order_based_on_a_stress_test_request_is_not_vasoactive_support() -> None:
    stress = {
        "resourceType": "ServiceRequest",
        "id": "sr-1",
        "status": "active",
        "intent": "order",
        "code": {"text": "Dobutamine stress echocardiogram"},
        "subject": {"reference": "Patient/pat-1"},
    }
    facts = _mapped("medication-requests", _order(basedOn=[{"reference": "ServiceRequest/sr-1"}]), stress)
    assert facts.vasoactive_support.status is Status.ABSENT
    assert [e.reason for e in facts.vasoactive_support.shown] == ["stress-test"]


def test_an_order_set_link_does_not_exclude_an_infusion() -> None:
    facts = _mapped("medication-requests", _order(basedOn=[{"display": "Cardiogenic shock order set"}]))
    assert facts.vasoactive_support.status is Status.PRESENT


def test_an_inactive_ingredient_is_not_a_second_ingredient() -> None:
    medication = {
        "resourceType": "Medication",
        "id": "m1",
        "ingredient": [
            {"itemCodeableConcept": {"coding": [{"system": RXNORM, "code": "3616"}]}},
            {"itemCodeableConcept": {"text": "sodium metabisulfite"}, "isActive": False},
        ],
    }
    order = _order(contained=[medication], medicationReference={"reference": "#m1"})
    del order["medicationCodeableConcept"]
    assert _mapped("medication-requests", order).vasoactive_support.status is Status.PRESENT


def _administration(rid: str, status: str, start: str) -> dict[str, Any]:
    return {
        "resourceType": "MedicationAdministration",
        "id": rid,
        "status": status,
        "medicationCodeableConcept": {
            "coding": [{"system": RXNORM, "code": "7512", "display": "norepinephrine"}]
        },
        "subject": {"reference": "Patient/pat-1"},
        "effectivePeriod": {"start": start},
    }


def test_a_later_completed_administration_ends_the_running_one() -> None:
    facts = _mapped(
        "medication-administrations",
        _administration("ma-1", "in-progress", "2026-11-20T06:00:00Z"),
        _administration("ma-2", "completed", "2026-11-20T09:00:00Z"),
    )
    assert facts.vasoactive_support.status is Status.ABSENT


def test_an_earlier_completed_administration_does_not_end_the_running_one() -> None:
    facts = _mapped(
        "medication-administrations",
        _administration("ma-1", "completed", "2026-11-20T06:00:00Z"),
        _administration("ma-2", "in-progress", "2026-11-20T09:00:00Z"),
    )
    assert facts.vasoactive_support.status is Status.PRESENT
