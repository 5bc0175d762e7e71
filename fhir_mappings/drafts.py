"""Draft medication orders of an order hook -> ``DraftOrder`` facts (docs/clinical-rules.md,
section 'Order safety').

CDS Hooks ``order-sign`` and ``order-select`` send the orders being written in
``context.draftOrders``: a Bundle whose entries hold draft request resources. Only
MedicationRequests are read here; the drug is recognised exactly as an active order is
(``medications.identify``: code, Medication code, ingredient, then name, flagged).

Only the fields this reads are checked, never the whole resource: the public CDS Hooks
sandbox sends ``category`` as one object where R4 has a list, and a draft must still be
checked for what matters (the drug and its route).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from fhir_mappings.drug_classes import drug_classes
from fhir_mappings.elements import Resource, codings, reference_of, resolve, resource_id, resource_type
from fhir_mappings.facts import DraftOrder, Evidence, MatchKind
from fhir_mappings.medications import IV_ROUTE, NOT_IV_ROUTE, DrugMatch, identify
from fhir_mappings.parse import Report
from fhir_mappings.valuesets import value_set

#: A draft is being signed (``draft``) or re-signed (``active``, order-sign); other statuses
#: are not orders about to take effect.
SIGNABLE = frozenset({"draft", "active"})
_HOW = {
    MatchKind.CODE: "code",
    MatchKind.INGREDIENT: "Medication.ingredient code",
    MatchKind.ATC: "ATC code",
    MatchKind.NAME: "name only, no listed code",
}


def draft_orders(
    bundle: Any,
    by_reference: Mapping[str, Resource],
    report: Report,
    *,
    selections: tuple[str, ...] | None = None,
) -> tuple[DraftOrder, ...]:
    """The draft MedicationRequests of ``bundle`` whose drug is in a checked class.

    ``selections`` (order-select): only the drafts it names are checked. A Medication
    referenced by a draft may be in the draft Bundle or in the chart.
    """
    resources = list(_entries(bundle))
    known = dict(by_reference)
    known.update({f"{resource_type(r)}/{resource_id(r)}": r for r in resources if resource_id(r)})
    found: list[DraftOrder] = []
    for resource in resources:
        if resource_type(resource) != "MedicationRequest":
            continue
        rid = resource_id(resource)
        reference = f"MedicationRequest/{rid}" if rid else None
        if selections is not None and reference not in selections:
            continue
        status = resource.get("status")
        if not isinstance(status, str) or status not in SIGNABLE:
            report.note(resource, "draft order not in status draft or active: not checked")
            continue
        if _unresolved(resource, known):
            # The drug cannot be known: said in the trail rather than passed over in silence.
            report.note(resource, "draft order's medication reference could not be resolved: not checked")
            continue
        order = _draft(resource, reference, identify(resource, known))
        if order is not None:
            found.append(order)
    return tuple(found)


def _entries(bundle: Any) -> Iterator[Resource]:
    if not isinstance(bundle, Mapping) or not isinstance(bundle.get("entry"), list):
        return
    for entry in bundle["entry"]:
        resource = entry.get("resource") if isinstance(entry, Mapping) else None
        if isinstance(resource, Mapping) and isinstance(resource.get("resourceType"), str):
            yield resource


def _draft(resource: Resource, reference: str | None, matches: tuple[DrugMatch, ...]) -> DraftOrder | None:
    # The classes of fhir_mappings/drug_classes.json: vasodilators (IV, ACE inhibitor, ARB),
    # and the vasoactive drugs whose ingredient raises afterload (phenylephrine).
    classes = drug_classes()
    vasodilators = [m for m in matches if m.value_set in classes.vasodilators]
    raising = [
        m for m in matches if m.value_set in classes.vasoactive and m.ingredient in classes.afterload_raising
    ]
    if not vasodilators and not raising:
        return None
    chosen = (vasodilators or raising)[0]
    evidence = Evidence(
        "MedicationRequest",
        resource_id(resource),
        chosen.system,
        chosen.code,
        chosen.display,
        note=f"draft: {chosen.value_set} by {_HOW[chosen.kind]}",
        what=chosen.ingredient,
        status="draft",
    )
    return DraftOrder(
        reference=reference,
        classes=tuple(m.value_set for m in vasodilators) + tuple(dict.fromkeys(m.value_set for m in raising)),
        evidence=evidence,
        afterload_raising=bool(raising),
        not_intravenous=_not_intravenous(resource),
        name_only=chosen.kind is MatchKind.NAME,
    )


def _unresolved(resource: Resource, known: Mapping[str, Resource]) -> bool:
    """Ordered by a reference to a Medication neither in the draft Bundle nor in the chart."""
    if resource.get("medicationCodeableConcept") is not None or resource.get("medicationReference") is None:
        return False
    return resolve(reference_of(resource.get("medicationReference")), resource, known, "Medication") is None


def _not_intravenous(resource: Resource) -> bool:
    """A route is coded, it is a listed non-intravenous route, and no route is intravenous.

    An unlisted route code or no route at all is not "not intravenous": the drug decides.
    """
    instructions = resource.get("dosageInstruction")
    routes = [
        codings(d.get("route"))
        for d in (instructions if isinstance(instructions, list) else ())
        if isinstance(d, Mapping) and d.get("route") is not None
    ]
    return any(value_set(NOT_IV_ROUTE).match(r) for r in routes) and not any(
        value_set(IV_ROUTE).match(r) for r in routes
    )
