"""Medication classes and vasoactive support (docs/clinical-rules.md).

A drug is recognised, in order, by an RxNorm or ATC code on the order itself (or on the
referenced / contained Medication's code), by a ``Medication.ingredient`` code, and only
then by name: an ingredient name of the value sets found in the drug's text, flagged
``MatchKind.NAME``. ATC codes match exactly as listed (no prefix matching: the ATC group
C01CA also holds drugs that are not vasopressors in this sense, e.g. midodrine).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from functools import cache
from typing import Any

from fhir_mappings.codesystems import ATC, RXNORM
from fhir_mappings.elements import (
    Resource,
    codings,
    reference_of,
    resolve,
    resource_id,
    resource_type,
    token,
)
from fhir_mappings.facts import Evidence, MatchKind, MedicationMatch
from fhir_mappings.observations import effective_time
from fhir_mappings.parse import Report
from fhir_mappings.statuses import report_status
from fhir_mappings.timing import TimeProblem, parse_time
from fhir_mappings.valuesets import on_value_sets_changed, value_set

CLASSES = ("loop-diuretics", "ace-inhibitors", "arbs", "vasodilators-iv", "inotropes", "vasopressors")
VASOACTIVE = ("vasopressors", "inotropes")
IV_ROUTE = "intravenous-route"
NOT_IV_ROUTE = "non-intravenous-route"
REQUEST_STATUSES = frozenset(
    {"active", "on-hold", "cancelled", "completed", "entered-in-error", "stopped", "draft", "unknown"}
)
ADMINISTRATION_STATUSES = frozenset(
    {"in-progress", "not-done", "on-hold", "completed", "entered-in-error", "stopped", "unknown"}
)
_REPORTED = frozenset({"cancelled", "entered-in-error", "unknown"})
#: An RxNorm ingredient display such as "furosemide" or "vasopressin (USP)".
_INGREDIENT_DISPLAY = re.compile(r"^([a-z]+)(?: \(.*\))?$")


@dataclass(frozen=True)
class DrugMatch:
    value_set: str
    kind: MatchKind
    system: str | None
    code: str | None
    display: str


@cache
def ingredient_names() -> Mapping[str, tuple[str, ...]]:
    """Value-set id -> RxNorm ingredient names listed in it (for the flagged name fallback)."""
    names: dict[str, tuple[str, ...]] = {}
    for vs_id in CLASSES:
        found = (_INGREDIENT_DISPLAY.match(c.display) for c in value_set(vs_id).codes if c.system == RXNORM)
        names[vs_id] = tuple(m.group(1) for m in found if m)
    return names


on_value_sets_changed(ingredient_names.cache_clear)  # a site's RxNorm codes add names


def identify(resource: Resource, by_reference: Mapping[str, Resource]) -> tuple[DrugMatch, ...]:
    """Every class the ordered or given drug belongs to, best match kind first; one per class."""
    medication = _medication(resource, by_reference)
    concept = resource.get("medicationCodeableConcept")
    concepts: list[tuple[Any, MatchKind | None]] = [(concept, None)]
    if medication is not None:
        concepts.append((medication.get("code"), None))
        concepts.extend((c, MatchKind.INGREDIENT) for c in _ingredients(medication, resource, by_reference))
    matches = {m.value_set: m for m in reversed(list(_by_code(concepts)))}
    if not matches:
        matches = {m.value_set: m for m in _by_name(c for c, _ in concepts)}
    return tuple(matches[v] for v in CLASSES if v in matches)


def _by_code(concepts: list[tuple[Any, MatchKind | None]]) -> Iterator[DrugMatch]:
    for concept, kind in concepts:
        for vs_id in CLASSES:
            hit = value_set(vs_id).match(codings(concept))
            if hit is not None:
                own = MatchKind.ATC if hit.system == ATC else MatchKind.CODE
                yield DrugMatch(vs_id, kind or own, hit.system, hit.code, hit.display)


def _by_name(concepts: Iterable[Any]) -> Iterator[DrugMatch]:
    texts = [t.lower() for c in concepts for t in _texts(c)]
    for vs_id, names in ingredient_names().items():
        for name in names:
            if any(re.search(rf"\b{name}\b", text) for text in texts):
                yield DrugMatch(vs_id, MatchKind.NAME, None, None, name)
                break


def _texts(concept: Any) -> Iterator[str]:
    if not isinstance(concept, Mapping):
        return
    if isinstance(concept.get("text"), str):
        yield concept["text"]
    for coding in codings(concept):
        if isinstance(coding.get("display"), str):
            yield coding["display"]


def _medication(resource: Resource, by_reference: Mapping[str, Resource]) -> Resource | None:
    return _resolve(reference_of(resource.get("medicationReference")), resource, by_reference)


def _resolve(
    reference: str | None, holder: Resource, by_reference: Mapping[str, Resource]
) -> Resource | None:
    """A Medication contained in ``holder`` (``#id``) or present in the chart."""
    return resolve(reference, holder, by_reference, "Medication")


def _ingredients(
    medication: Resource, holder: Resource, by_reference: Mapping[str, Resource]
) -> Iterator[Any]:
    items = medication.get("ingredient")
    for item in items if isinstance(items, list) else ():
        if not isinstance(item, Mapping):
            continue
        if "itemCodeableConcept" in item:
            yield item["itemCodeableConcept"]
        else:
            # Contained resources sit on the order, not on a contained Medication.
            inner = _resolve(reference_of(item.get("itemReference")), holder, by_reference)
            if inner is not None:
                yield inner.get("code")


@dataclass(frozen=True)
class MedicationFindings:
    """Active orders per class, vasoactive drugs that count, those shown only, and gaps."""

    by_class: Mapping[str, tuple[MedicationMatch, ...]]
    #: Running or actively ordered IV vasoactive drugs, matched by code: they count.
    vasoactive: tuple[MedicationMatch, ...]
    #: Vasoactive matches that never count; ``Evidence.reason`` says why (name only, route
    #: not intravenous, combination product).
    vasoactive_shown: tuple[Evidence, ...]
    unidentified: tuple[str, ...]


def medications(
    resources: Iterable[Resource], by_reference: Mapping[str, Resource], *, report: Report
) -> MedicationFindings:
    """Classify active MedicationRequests and MedicationAdministrations in progress.

    A completed administration never counts (a bolus, a stress-echo dose): vasoactive
    support means a drug that is running or actively ordered now.
    """
    by_class: dict[str, list[MedicationMatch]] = {v: [] for v in CLASSES}
    vasoactive: list[MedicationMatch] = []
    shown: list[Evidence] = []
    unidentified: list[str] = []
    for resource in resources:
        kind = resource_type(resource)
        if kind not in ("MedicationRequest", "MedicationAdministration"):
            continue
        if _unresolved(resource, by_reference, report):
            unidentified.append("a medication whose reference could not be resolved")
            continue
        drugs = identify(resource, by_reference)
        if not drugs:
            continue
        if kind == "MedicationRequest":
            state = _request_counts(resource, report)
        else:
            state = _administration_counts(resource, report)
        if state is None or not report.valid(resource):
            continue
        not_counted = _not_vasoactive_use(resource, by_reference)
        for drug in drugs:
            match = MedicationMatch(drug.value_set, drug.kind, _evidence(resource, drug, state))
            if kind == "MedicationRequest":
                by_class[drug.value_set].append(match)
            if drug.value_set not in VASOACTIVE:
                continue
            reason = "name-only" if drug.kind is MatchKind.NAME else not_counted
            if reason is None:
                vasoactive.append(match)
            else:
                shown.append(replace(match.evidence, reason=reason))
    return MedicationFindings(
        {k: tuple(v) for k, v in by_class.items() if v},
        tuple(vasoactive),
        tuple(dict.fromkeys(shown)),
        tuple(unidentified),
    )


def _not_vasoactive_use(resource: Resource, by_reference: Mapping[str, Resource]) -> str | None:
    """Why an order or administration of a vasoactive drug is not vasoactive support, if so.

    A coded route that is not intravenous (an intramuscular auto-injector), or a product
    with an ingredient outside the vasoactive value sets (lidocaine with epinephrine).
    """
    routes = [codings(r) for r in _routes(resource)]
    # Only a listed non-intravenous route excludes: an unlisted route code may be a real infusion.
    if any(value_set(NOT_IV_ROUTE).match(r) for r in routes) and not any(
        value_set(IV_ROUTE).match(r) for r in routes
    ):
        return "not-intravenous"
    medication = _medication(resource, by_reference)
    if medication is None:
        return None
    ingredients = list(_ingredients(medication, resource, by_reference))
    vasoactive_sets = [value_set(v) for v in VASOACTIVE]
    if len(ingredients) > 1 and any(
        all(vs.match(codings(i)) is None for vs in vasoactive_sets) for i in ingredients
    ):
        return "combination"
    return None


def _routes(resource: Resource) -> list[Any]:
    """The route concepts of an order's dosage instructions or an administration's dosage."""
    dosage = resource.get("dosage")
    instructions = resource.get("dosageInstruction")
    found = [dosage] if isinstance(dosage, Mapping) else []
    found += [d for d in instructions if isinstance(d, Mapping)] if isinstance(instructions, list) else []
    return [d.get("route") for d in found if d.get("route") is not None]


def _unresolved(resource: Resource, by_reference: Mapping[str, Resource], report: Report) -> bool:
    if resource.get("medicationCodeableConcept") is not None or resource.get("medicationReference") is None:
        return False
    if _medication(resource, by_reference) is not None:
        return False
    counted = resource.get("status") in ("active", "in-progress")
    if counted:
        report.note(resource, "medication reference could not be resolved")
    return counted


def _request_counts(resource: Resource, report: Report) -> str | None:
    status = token(resource.get("status"))
    if resource.get("doNotPerform") is True:
        # An active order NOT to give the drug: never evidence that it is given.
        report.note(resource, "doNotPerform order")
        return None
    if status == "active":
        return "active-order"
    _report_status(resource, status, REQUEST_STATUSES, report)
    return None


def _administration_counts(resource: Resource, report: Report) -> str | None:
    status = token(resource.get("status"))
    if status == "in-progress":
        return "running"
    if status == "completed":
        report.note(resource, "completed administration: not running now", routine=True)
        return None
    _report_status(resource, status, ADMINISTRATION_STATUSES, report)
    return None


def _report_status(resource: Resource, status: str | None, known: frozenset[str], report: Report) -> None:
    report_status(resource, status, known=known, reported=_REPORTED, report=report)


def _time_of(resource: Resource) -> datetime | None:
    """When an order was written, or when an administration ran (its effective time)."""
    if resource.get("authoredOn") is not None:
        return parse_time(resource["authoredOn"]).start
    try:
        return effective_time(resource).start
    except TimeProblem:
        return None


def _evidence(resource: Resource, drug: DrugMatch, state: str) -> Evidence:
    how = {
        MatchKind.CODE: "code",
        MatchKind.INGREDIENT: "Medication.ingredient code",
        MatchKind.ATC: "ATC code",
        MatchKind.NAME: "name only, no listed code",
    }[drug.kind]
    try:
        time = _time_of(resource)
    except TimeProblem:
        time = None
    return Evidence(
        resource_type(resource),
        resource_id(resource),
        drug.system,
        drug.code,
        drug.display,
        time=time,
        note=f"{state}: {drug.value_set} by {how}",
        what=drug.display,
        status=state,
    )
