"""context.draftOrders -> DraftOrder facts (docs/clinical-rules.md, section 'Order safety')."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from fhir_mappings.drafts import draft_orders
from fhir_mappings.parse import Report
from tests.cds_service.order_requests import (
    INTRAVENOUS,
    NITROPRUSSIDE,
    PHENYLEPHRINE,
    SANDBOX_LISINOPRIL,
    TOPICAL,
    draft,
    sandbox_draft,
)
from tests.fhir_mappings.test_robustness import json_values
from tests.hooks import chartkit as ck


def _bundle(*resources: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "entry": [{"resource": r} for r in resources]}


def _orders(*resources: dict[str, Any], selections: tuple[str, ...] | None = None) -> Any:
    report = Report()
    return draft_orders(_bundle(*resources), {}, report, selections=selections), report


def test_ace_inhibitor_draft_is_a_vasodilator_with_its_reference() -> None:
    (order,), _ = _orders(draft("d-1", ck.LISINOPRIL))
    assert order.reference == "MedicationRequest/d-1"
    assert order.classes == ("ace-inhibitors",)
    assert order.evidence.what == "lisinopril"
    assert not order.name_only
    assert not order.afterload_raising


def test_phenylephrine_draft_raises_afterload_and_its_route_is_kept() -> None:
    (iv,), _ = _orders(draft("d-1", PHENYLEPHRINE, route=INTRAVENOUS))
    (topical,), _ = _orders(draft("d-2", PHENYLEPHRINE, route=TOPICAL))
    assert iv.afterload_raising
    assert not iv.not_intravenous
    assert topical.afterload_raising
    assert topical.not_intravenous


def test_drafts_of_other_drugs_are_not_kept() -> None:
    orders, report = _orders(draft("d-1", ck.FUROSEMIDE), draft("d-2", ck.NOREPINEPHRINE))
    assert orders == ()
    assert report.notes == ()


def test_a_completed_or_cancelled_order_is_left_out_and_said_so() -> None:
    orders, report = _orders(draft("d-1", NITROPRUSSIDE, status="cancelled"))
    assert orders == ()
    assert [(n.resource_id, n.reason) for n in report.notes] == [
        ("d-1", "draft order not in status draft or active: not checked")
    ]


def test_an_active_order_being_re_signed_is_checked() -> None:
    (order,), _ = _orders(draft("d-1", NITROPRUSSIDE, status="active"))
    assert order.classes == ("vasodilators-iv",)


def test_selections_limit_the_drafts_checked() -> None:
    orders, _ = _orders(
        draft("d-1", ck.LISINOPRIL), draft("d-2", NITROPRUSSIDE), selections=("MedicationRequest/d-2",)
    )
    assert [o.reference for o in orders] == ["MedicationRequest/d-2"]


def test_a_medication_referenced_from_the_draft_bundle_is_resolved() -> None:
    medication = {"resourceType": "Medication", "id": "med-1", "code": ck.cc(NITROPRUSSIDE)}
    order = draft("d-1", NITROPRUSSIDE)
    del order["medicationCodeableConcept"]
    order["medicationReference"] = {"reference": "Medication/med-1"}
    (found,), _ = _orders(order, medication)
    assert found.classes == ("vasodilators-iv",)


def test_the_sandbox_draft_with_category_as_one_object_is_read() -> None:
    # R4 has category as a list; the sandbox sends one object. Only the drug and route matter.
    (order,), report = _orders(sandbox_draft(SANDBOX_LISINOPRIL))
    assert order.reference == "MedicationRequest/request-123"
    assert order.evidence.what == "lisinopril"
    assert report.notes == ()


def test_a_draft_without_an_id_is_checked_but_has_no_reference() -> None:
    order = draft("d-1", NITROPRUSSIDE)
    del order["id"]
    (found,), _ = _orders(order)
    assert found.reference is None


def test_a_bundle_without_entries_or_not_a_bundle_gives_no_drafts() -> None:
    report = Report()
    assert draft_orders({"resourceType": "Bundle"}, {}, report) == ()
    assert draft_orders({"resourceType": "Bundle", "entry": ["x", {"resource": 3}]}, {}, report) == ()
    assert draft_orders(None, {}, report) == ()


def test_a_draft_whose_medication_cannot_be_resolved_is_said_so() -> None:
    order = draft("d-1", NITROPRUSSIDE)
    del order["medicationCodeableConcept"]
    order["medicationReference"] = {"reference": "Medication/not-sent"}
    orders, report = _orders(order)
    assert orders == ()
    assert [n.reason for n in report.notes] == [
        "draft order's medication reference could not be resolved: not checked"
    ]


def test_malformed_drafts_are_left_out_without_failing_the_others() -> None:
    junk: list[dict[str, Any]] = [
        {"resourceType": "MedicationRequest", "id": "a", "status": ["draft"]},
        {"resourceType": "MedicationRequest", "id": "b", "status": "draft", "medicationCodeableConcept": "x"},
        {
            "resourceType": "MedicationRequest",
            "id": "c",
            "status": "draft",
            "medicationCodeableConcept": {"coding": "x", "text": 4},
            "dosageInstruction": [{"route": "iv"}, 3, None],
        },
    ]
    (order,), report = _orders(*junk, draft("d-1", NITROPRUSSIDE))
    assert order.reference == "MedicationRequest/d-1"
    assert [n.resource_id for n in report.notes] == ["a"]


_FIELDS = (
    "id",
    "status",
    "medicationCodeableConcept",
    "medicationReference",
    "dosageInstruction",
    "contained",
)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.fixed_dictionaries({}, optional={f: json_values for f in _FIELDS}), max_size=4))
def test_any_shape_of_draft_gives_drafts_or_notes_never_an_exception(fields: list[dict[str, Any]]) -> None:
    drafts = [{"resourceType": "MedicationRequest", **f} for f in fields]
    orders, _ = _orders(*drafts, draft("d-1", NITROPRUSSIDE))
    assert orders[-1].reference == "MedicationRequest/d-1"
