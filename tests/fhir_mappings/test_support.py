"""Mechanical circulatory support, and respiratory support (VV-ECMO, ventilation)."""

from __future__ import annotations

from fhir_mappings import ChartInput, map_chart
from fhir_mappings.facts import Status
from fhir_mappings.gaps import Gap, Reason
from tests.fhir_mappings.charts import NOW, chart, facts, reasons, references


def test_iabp_procedure_in_progress_is_mechanical_support() -> None:
    fact = facts(procedures="support/iabp_in_progress.json").mechanical_support
    assert fact.status is Status.PRESENT
    assert references(fact) == ["Procedure/iabp-1"]
    assert fact.evidence[0].display == "Cardioassist by aortic balloon pump (procedure)"
    assert fact.evidence[0].note == "procedure in progress"


def test_completed_va_ecmo_started_5_days_ago_without_end_is_mechanical_support() -> None:
    fact = facts(procedures="support/va_ecmo_completed_open_5_days.json").mechanical_support
    assert fact.status is Status.PRESENT
    assert fact.evidence[0].note == "inserted within 30 days, no end recorded"


def test_completed_va_ecmo_with_end_is_not_mechanical_support() -> None:
    assert (
        facts(procedures="support/va_ecmo_completed_closed.json").mechanical_support.status is Status.ABSENT
    )


def test_completed_open_va_ecmo_started_40_days_ago_is_not_counted_and_reported() -> None:
    result = facts(procedures="support/va_ecmo_completed_open_40_days.json")
    assert result.mechanical_support.status is Status.ABSENT
    assert reasons(result)["Procedure/ecmo-3"] == ["performed outside the 30 days window"]


def test_vv_ecmo_is_respiratory_support_not_mechanical_circulatory_support() -> None:
    result = facts(procedures="support/vv_ecmo_in_progress.json")
    assert result.mechanical_support.status is Status.ABSENT
    assert result.organ_dysfunction["respiratory"].status is Status.PRESENT
    assert references(result.organ_dysfunction["respiratory"]) == ["Procedure/ecmo-4"]


def test_generic_ecmo_is_unknown_support_and_never_called_va_ecmo() -> None:
    fact = facts(procedures="support/generic_ecmo_in_progress.json").mechanical_support
    assert fact.status is Status.UNKNOWN
    (shown,) = fact.shown
    assert (shown.code, shown.what, shown.reason) == (
        "233573008",
        "ecmo-unspecified",
        "configuration-not-coded",
    )


def _va_ecmo_performed(rid: str, when: str) -> dict[str, object]:
    return {
        "resourceType": "Procedure",
        "id": rid,
        "status": "completed",
        "code": {"coding": [{"system": "http://snomed.info/sct", "code": "786451004"}]},
        "performedDateTime": when,
    }


def test_ecmo_with_only_a_performed_date_time_is_unknown_support() -> None:
    procedure = _va_ecmo_performed("ecmo-dt", "2026-11-18T12:00:00Z")
    fact = map_chart(_chart(procedures=[procedure]), now=NOW).mechanical_support
    assert fact.status is Status.UNKNOWN
    (shown,) = fact.shown
    assert (shown.reference, shown.status, shown.reason) == (
        "Procedure/ecmo-dt",
        "inserted-no-end",
        "end-not-recorded",
    )


def test_ecmo_with_a_performed_date_time_40_days_ago_is_not_support() -> None:
    procedure = _va_ecmo_performed("ecmo-old", "2026-10-11T12:00:00Z")
    fact = map_chart(_chart(procedures=[procedure]), now=NOW).mechanical_support
    assert (fact.status, fact.shown) == (Status.ABSENT, ())


def test_vv_ecmo_is_named_as_respiratory_ecmo() -> None:
    result = facts(procedures="support/vv_ecmo_in_progress.json")
    assert result.respiratory_ecmo.present
    assert references(result.respiratory_ecmo) == ["Procedure/ecmo-4"]


def _chart(**keys: list[dict[str, object]]) -> ChartInput:
    base = chart()
    prefetch = dict(base.prefetch)
    for name, resources in keys.items():
        prefetch[name.replace("_", "-")] = {
            "resourceType": "Bundle",
            "type": "searchset",
            "entry": [{"resource": {**r, "subject": {"reference": "Patient/pat-1"}}} for r in resources],
        }
    return ChartInput(base.patient_id, prefetch, {})


def test_invasive_ventilation_is_respiratory_dysfunction() -> None:
    result = facts(procedures="support/ventilation_in_progress.json")
    assert result.organ_dysfunction["respiratory"].present
    assert result.mechanical_support.status is Status.ABSENT


def test_entered_in_error_impella_is_ignored_and_reported() -> None:
    result = facts(procedures="support/impella_entered_in_error.json")
    assert result.mechanical_support.status is Status.ABSENT
    assert reasons(result)["Procedure/vad-1"] == ["status entered-in-error"]


def test_active_iabp_device_is_mechanical_support() -> None:
    fact = facts(devices="support/iabp_device_active.json").mechanical_support
    assert fact.status is Status.PRESENT
    assert references(fact) == ["Device/dev-1"]


def test_inactive_iabp_device_is_not_mechanical_support() -> None:
    assert facts(devices="support/iabp_device_inactive.json").mechanical_support.status is Status.ABSENT


def test_device_use_statement_with_contained_device_is_mechanical_support() -> None:
    fact = facts(device_use_statements="support/dus_contained_device.json").mechanical_support
    assert fact.status is Status.PRESENT
    assert references(fact) == ["DeviceUseStatement/dus-1"]
    assert fact.evidence[0].code == "786451004"


def test_device_use_statement_resolves_a_device_sent_under_another_key() -> None:
    fact = facts(
        device_use_statements="support/dus_referenced.json", devices="support/device_for_dus.json"
    ).mechanical_support
    assert fact.status is Status.PRESENT
    assert "DeviceUseStatement/dus-2" in references(fact)
    assert fact.evidence[-1].note == "active device use of Device/dev-3"


def test_device_use_statement_with_unresolvable_device_makes_support_unknown() -> None:
    result = facts(device_use_statements="support/dus_unresolvable.json")
    assert result.mechanical_support.status is Status.UNKNOWN
    assert reasons(result)["DeviceUseStatement/dus-3"] == ["device reference could not be resolved"]


def test_procedures_unavailable_makes_mechanical_support_unknown() -> None:
    fact = facts(unavailable={"procedures": "timeout"}).mechanical_support
    assert fact.status is Status.UNKNOWN
    assert fact.missing[0] == Gap.of("procedures", Reason.NOT_OBTAINED, detail="timeout")


def test_devices_unavailable_leaves_support_absent_but_says_so() -> None:
    fact = facts(unavailable={"devices": "not supported by the EHR"}).mechanical_support
    assert fact.status is Status.ABSENT
    assert fact.missing == (Gap.of("devices", Reason.NOT_OBTAINED, detail="not supported by the EHR"),)
