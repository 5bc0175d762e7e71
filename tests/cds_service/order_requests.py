"""Order-sign and order-select requests for the order-safety services' tests.

The chart is built with ``tests/hooks/chartkit.py`` (codes from our value sets) and moved
to the clock's now, as the HTTP view evaluates with the clock. ``draftOrders`` has the
shape the public CDS Hooks sandbox sends (repository cds-hooks/sandbox, commit 3b7e2554,
``src/components/RxSign/rx-sign.jsx`` and ``createFhirResource`` in
``src/reducers/medication-reducers.js``, Apache-2.0): ``{"resourceType": "Bundle",
"entry": [{"resource": ...}]}`` without ``Bundle.type``; the MedicationRequest has status
``draft``, ``category`` as ONE CodeableConcept (R4 has a list) and an RxNorm coding with
the product's display. Only the shape is reproduced here, no code of the sandbox.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from cds_service.calls.demo import shift_times
from fhir_mappings.codesystems import LOINC, RXNORM, SNOMED
from tests.hooks import chartkit as ck

ORDER_SIGN_URL = "/cds-services/severe-mr-order-sign"
ORDER_SELECT_URL = "/cds-services/severe-mr-order-select"
PID = "pat-order-1"

NITROPRUSSIDE = (RXNORM, "7476", "nitroprusside")
PHENYLEPHRINE = (RXNORM, "8163", "phenylephrine")
INTRAVENOUS = (SNOMED, "47625008", "Intravenous route")
TOPICAL = (SNOMED, "6064005", "Topical route")
#: The product the sandbox sends when "Lisinopril 5 MG Oral Tablet [Prinivil]" is chosen.
SANDBOX_LISINOPRIL = (RXNORM, "206764", "Lisinopril 5 MG Oral Tablet [Prinivil]")


def draft(
    rid: str, code: tuple[str, str, str], *, route: tuple[str, str, str] | None = None, status: str = "draft"
) -> dict[str, Any]:
    """A draft MedicationRequest as an EHR's order entry writes it."""
    resource: dict[str, Any] = {
        "resourceType": "MedicationRequest",
        "id": rid,
        "status": status,
        "intent": "order",
        "subject": {"reference": f"Patient/{PID}"},
        "medicationCodeableConcept": ck.cc(code),
        "authoredOn": ck.AS_OF.date().isoformat(),
    }
    if route is not None:
        resource["dosageInstruction"] = [{"route": ck.cc(route)}]
    return resource


def sandbox_draft(code: tuple[str, str, str]) -> dict[str, Any]:
    """The MedicationRequest the sandbox's order-sign view builds (its fields, its id)."""
    system, value, display = code
    return {
        "resourceType": "MedicationRequest",
        "id": "request-123",
        "status": "draft",
        "subject": {"reference": f"Patient/{PID}"},
        "authoredOn": ck.AS_OF.date().isoformat(),
        "dosageInstruction": [
            {
                "timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d"}},
                "doseAndRate": [
                    {"doseQuantity": {"value": 1, "system": "http://unitsofmeasure.org", "code": "{pill}"}}
                ],
            }
        ],
        "dispenseRequest": {
            "expectedSupplyDuration": {
                "value": 30,
                "unit": "days",
                "system": "http://unitsofmeasure.org",
                "code": "d",
            }
        },
        "intent": "order",
        "category": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/medicationrequest-category",
                    "code": "community",
                }
            ]
        },
        "medicationCodeableConcept": {
            "text": display,
            "coding": [{"display": display, "system": system, "code": value}],
        },
    }


def severe_mr(*, grade: tuple[str, str, str] = ck.SEVERE) -> list[dict[str, Any]]:
    """MR on the problem list and a final echo graded ``grade`` two days ago."""
    return [ck.condition("mr-1", ck.MR), ck.echo("echo-1", ck.at(days=2), concept=grade)]


def comfort_order() -> dict[str, Any]:
    """An active comfort-focused treatment order (LOINC LA33475-7), as US Core models one."""
    cpr = (LOINC, "100822-6", "Cardiopulmonary resuscitation orders")
    return {
        "resourceType": "ServiceRequest",
        "id": "sr-comfort",
        "status": "active",
        "intent": "order",
        "category": [ck.cc(cpr)],
        "code": ck.cc((LOINC, "LA33475-7", "Comfort-focused Treatments")),
        "authoredOn": ck.at(days=1),
    }


def hypotensive(sbp: float = 78) -> list[dict[str, Any]]:
    return [ck.sbp("bp-1", sbp, ck.at(hours=1))]


def order_request(
    chart: Iterable[dict[str, Any]],
    drafts: Iterable[dict[str, Any]],
    *,
    hook: str = "order-sign",
    selections: list[str] | None = None,
    the_patient: dict[str, Any] | None = None,
    name: str = "order",
) -> dict[str, Any]:
    """An order hook request: the chart as prefetch (times moved to now) and the drafts."""
    body = ck.hook_request(PID, list(chart), name=name, the_patient=the_patient)
    body = shift_times(body, datetime.now(UTC))
    body["hook"] = hook
    body["context"]["draftOrders"] = {"resourceType": "Bundle", "entry": [{"resource": d} for d in drafts]}
    if selections is not None:
        body["context"]["selections"] = selections
    return body
