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
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import cache
from typing import Any

from fhir_mappings.codesystems import ATC, RXNORM
from fhir_mappings.drug_classes import drug_classes
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
from fhir_mappings.valuesets import on_value_sets_changed, value_set, value_sets_of

CLASSES = drug_classes().classes
VASOACTIVE = drug_classes().vasoactive
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

    @property
    def ingredient(self) -> str:
        """The drug by ingredient ("candesartan", "sacubitril/valsartan"), never a product string."""
        key = (self.display, self.value_set)
        found = _INGREDIENTS.get(key)
        if found is None:
            found = ingredient_of(self.display, self.value_set)
            if len(_INGREDIENTS) >= _INGREDIENTS_KEPT:
                _INGREDIENTS.clear()
            _INGREDIENTS[key] = found
        return found


#: (display, value-set id) -> ``ingredient_of`` them: a chart names the same few drugs on
#: every call (1.3 us each to word again). Bounded; emptied when a site changes the value sets.
_INGREDIENTS: dict[tuple[str, str], str] = {}
_INGREDIENTS_KEPT = 512


def ingredient_of(display: str, value_set_id: str) -> str:
    """The value set's ingredient names found as words in a clinical-drug display, joined by
    "/"; the display itself when none is (an ATC group, an unusual display)."""
    words = set(re.findall(r"[a-z]+", display.lower()))
    found = [name for name in ingredient_names().get(value_set_id, ()) if name in words]
    return "/".join(sorted(found)) if found else display


@cache
def ingredient_names() -> Mapping[str, tuple[str, ...]]:
    """Value-set id -> RxNorm ingredient names listed in it (for the flagged name fallback)."""
    names: dict[str, tuple[str, ...]] = {}
    for vs_id in CLASSES:
        found = (_INGREDIENT_DISPLAY.match(c.display) for c in value_set(vs_id).codes if c.system == RXNORM)
        coded = tuple(m.group(1) for m in found if m)
        # Drugs with no verified RxNorm ingredient code (milrinone) still have a name to match.
        extra = drug_classes().names_without_rxnorm_code.get(vs_id, ())
        names[vs_id] = coded + tuple(n for n in extra if n not in coded)
    return names


on_value_sets_changed(ingredient_names.cache_clear)  # a site's RxNorm codes add names
on_value_sets_changed(_INGREDIENTS.clear)


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
        listed = codings(concept)
        # Only the classes that list one of the codings are matched (a drug is in one or
        # two): the same test as ``match``, without asking every class of every concept.
        classes = value_sets_of(listed)
        if not classes:
            continue
        for vs_id in CLASSES:
            hit = value_set(vs_id).match(listed) if vs_id in classes else None
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


#: Infusion vehicles, read by their whole name (RxNorm ingredient names): never an active
#: ingredient for the combination-product test (docs/clinical-rules.md, 'Vasoactive support').
VEHICLES = frozenset({"glucose", "dextrose", "sodium chloride", "water", "water for injection"})


def _ingredients(
    medication: Resource, holder: Resource, by_reference: Mapping[str, Resource], *, active_only: bool = False
) -> Iterator[Any]:
    items = medication.get("ingredient")
    for item in items if isinstance(items, list) else ():
        if not isinstance(item, Mapping):
            continue
        if active_only and item.get("isActive") is False:
            continue
        if "itemCodeableConcept" in item:
            concept = item["itemCodeableConcept"]
        else:
            # Contained resources sit on the order, not on a contained Medication.
            inner = _resolve(reference_of(item.get("itemReference")), holder, by_reference)
            if inner is None:
                continue
            concept = inner.get("code")
        if active_only and _vehicle(concept):
            continue
        yield concept


def _vehicle(concept: Any) -> bool:
    names = [t.strip().lower().removesuffix(" (usp)") for t in _texts(concept)]
    return bool(names) and all(name in VEHICLES for name in names)


@dataclass(frozen=True)
class MedicationFindings:
    """Active orders per class, drugs running now, vasoactive drugs that count, and gaps."""

    by_class: Mapping[str, tuple[MedicationMatch, ...]]
    #: Running or actively ordered IV vasoactive drugs: they count. A match on the name alone
    #: counts only when the drug is running, with ``Evidence.reason`` "name-match" (verify).
    vasoactive: tuple[MedicationMatch, ...]
    #: Vasoactive matches that never count; ``Evidence.reason`` says why (not running, as
    #: needed, stress test, outpatient, name only, route not intravenous, combination product).
    vasoactive_shown: tuple[Evidence, ...]
    unidentified: tuple[str, ...]
    #: Class -> drugs RUNNING now (the same test as vasoactive support), e.g. an IV vasodilator.
    running: Mapping[str, tuple[MedicationMatch, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class _Use:
    """One order or administration of one drug, and whether it runs now (or why not)."""

    resource: Resource
    match: MedicationMatch
    started: datetime | None
    #: None: running now; else why not, as a key ("not-running", "as-needed", ...).
    not_running: str | None
    administration: bool


def medications(
    resources: Iterable[Resource], by_reference: Mapping[str, Resource], *, report: Report
) -> MedicationFindings:
    """Classify active MedicationRequests and MedicationAdministrations (docs/clinical-rules.md,
    sections 'Vasoactive support' and 'Medications').

    A drug runs now when its NEWEST administration is in progress (a later completed or
    stopped one means it does not), or when an active inpatient order is a continuous
    infusion (a rate, or a dose per unit of time), not as needed and not for a
    pharmacological stress test.
    """
    by_class: dict[str, list[MedicationMatch]] = {v: [] for v in CLASSES}
    uses: list[_Use] = []
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
        administration = kind == "MedicationAdministration"
        state = (
            _administration_counts(resource, report) if administration else _request_counts(resource, report)
        )
        if state is None or not report.valid(resource):
            continue
        why_not = _why_not_running(resource, state, by_reference)
        started = _started(resource)
        for drug in drugs:
            match = MedicationMatch(drug.value_set, drug.kind, _evidence(resource, drug, state))
            if not administration or state == "running":
                by_class[drug.value_set].append(match)
            uses.append(_Use(resource, match, started, why_not, administration))
    running, not_running = _running(uses)
    vasoactive: list[MedicationMatch] = []
    shown: list[Evidence] = []
    for use in running:
        match = use.match
        if match.value_set not in VASOACTIVE:
            continue
        if match.match_kind is MatchKind.NAME:
            vasoactive.append(replace(match, evidence=match.evidence.with_reason("name-match")))
        elif (reason := _not_vasoactive_use(use.resource, by_reference)) is None:
            vasoactive.append(match)
        else:
            shown.append(match.evidence.with_reason(reason))
    for use in not_running:
        if use.match.value_set in VASOACTIVE:
            reason = "name-only" if use.match.match_kind is MatchKind.NAME else use.not_running
            shown.append(use.match.evidence.with_reason(reason))
    running_by_class: dict[str, list[MedicationMatch]] = {}
    for use in running:
        # A nitrate patch or spray, phenylephrine eye drops: not an infusion of the class.
        if use.match.match_kind is not MatchKind.NAME and not _not_intravenous(use.resource):
            running_by_class.setdefault(use.match.value_set, []).append(use.match)
    return MedicationFindings(
        {k: tuple(v) for k, v in by_class.items() if v},
        tuple(vasoactive),
        tuple(dict.fromkeys(shown)),
        tuple(unidentified),
        {k: tuple(v) for k, v in running_by_class.items()},
    )


def _running(uses: Iterable[_Use]) -> tuple[list[_Use], list[_Use]]:
    """Uses running now, and those that are not. Per drug, only the NEWEST administration can
    be running: a later completed or stopped one ends the infusion."""
    listed = list(uses)
    newest: dict[tuple[str, str], _Use] = {}
    for use in listed:
        if not use.administration:
            continue
        key = (use.match.value_set, use.match.evidence.what or "")
        kept = newest.get(key)
        if kept is None or _later(use, kept):
            newest[key] = use
    running: list[_Use] = []
    not_running: list[_Use] = []
    for use in listed:
        if use.administration:
            key = (use.match.value_set, use.match.evidence.what or "")
            if use.not_running is None and newest[key] is not use:
                not_running.append(replace(use, not_running="later-administration"))
                continue
            if use.not_running is not None:
                continue  # a completed administration is history, not a drug to verify
        (running if use.not_running is None else not_running).append(use)
    return running, not_running


def _later(use: _Use, other: _Use) -> bool:
    """Started later; at the same start a finished administration wins (it ended the infusion)."""
    if use.started is None or other.started is None:
        return other.started is None and use.started is not None
    if use.started != other.started:
        return use.started > other.started
    return use.not_running is not None and other.not_running is None


_PER_TIME = re.compile(r"/(?:kg/)?(?:min|h|hr|hour)\b", re.IGNORECASE)
_STRESS = re.compile(r"\bstress\b", re.IGNORECASE)
#: MedicationRequest.category codes (http://terminology.hl7.org/CodeSystem/medicationrequest-category)
#: of orders that are not given in hospital.
_NOT_INPATIENT = frozenset({"outpatient", "community", "discharge"})


def _why_not_running(resource: Resource, state: str, by_reference: Mapping[str, Resource]) -> str | None:
    """None when the order or administration may be running now; else why not, as a key."""
    if resource_type(resource) == "MedicationAdministration":
        return None if state == "running" else "not-running"
    if state == "home-order":
        return "outpatient"
    dosages = _dosages(resource)
    if any(d.get("asNeededBoolean") is True or d.get("asNeededCodeableConcept") is not None for d in dosages):
        return "as-needed"
    if _stress_test(resource, dosages, by_reference):
        return "stress-test"
    if not any(_infusion(d) for d in dosages):
        return "not-infusion"
    return None


def _dosages(resource: Resource) -> list[Mapping[str, Any]]:
    found = resource.get("dosageInstruction")
    return [d for d in found if isinstance(d, Mapping)] if isinstance(found, list) else []


def _infusion(dosage: Mapping[str, Any]) -> bool:
    """A rate, or a dose per unit of time (micrograms/kg/min, units/h), in the dosage."""
    rates = dosage.get("doseAndRate")
    for item in rates if isinstance(rates, list) else ():
        if not isinstance(item, Mapping):
            continue
        if any(key.startswith("rate") for key in item):
            return True
        dose = item.get("doseQuantity")
        if isinstance(dose, Mapping) and any(
            isinstance(dose.get(k), str) and _PER_TIME.search(dose[k]) for k in ("code", "unit")
        ):
            return True
    return False


def _stress_test(
    resource: Resource, dosages: list[Mapping[str, Any]], by_reference: Mapping[str, Resource]
) -> bool:
    """Ordered for a pharmacological stress test: a stress protocol in the dosage text, or a
    ``basedOn`` / ``reasonReference`` to a stress-test ServiceRequest or Procedure. Other
    order-set links do not exclude the order."""
    texts = [d.get(k) for d in dosages for k in ("text", "patientInstruction")]
    for field_name in ("basedOn", "reasonReference"):
        links = resource.get(field_name)
        for link in links if isinstance(links, list) else ():
            if not isinstance(link, Mapping):
                continue
            texts.append(link.get("display"))
            for wanted in ("ServiceRequest", "Procedure"):
                target = resolve(reference_of(link), resource, by_reference, wanted)
                if target is not None:
                    texts.extend(_texts(target.get("code")))
    return any(isinstance(t, str) and _STRESS.search(t) for t in texts)


def _started(resource: Resource) -> datetime | None:
    """When an administration started (effectivePeriod.start, else effectiveDateTime)."""
    period = resource.get("effectivePeriod")
    raw = period.get("start") if isinstance(period, Mapping) else resource.get("effectiveDateTime")
    try:
        return parse_time(raw).start
    except TimeProblem:
        return None


def _not_vasoactive_use(resource: Resource, by_reference: Mapping[str, Resource]) -> str | None:
    """Why an order or administration of a vasoactive drug is not vasoactive support, if so.

    A coded route that is not intravenous (an intramuscular auto-injector), or a product
    with an active ingredient outside the vasoactive value sets (lidocaine with epinephrine).
    Vehicles (glucose, sodium chloride, water) and ingredients with ``isActive`` false are
    not ingredients for this test: premixed dobutamine in glucose counts.
    """
    if _not_intravenous(resource):
        return "not-intravenous"
    medication = _medication(resource, by_reference)
    if medication is None:
        return None
    ingredients = list(_ingredients(medication, resource, by_reference, active_only=True))
    vasoactive_sets = [value_set(v) for v in VASOACTIVE]
    if len(ingredients) > 1 and any(
        all(vs.match(codings(i)) is None for vs in vasoactive_sets) for i in ingredients
    ):
        return "combination"
    return None


def _not_intravenous(resource: Resource) -> bool:
    """A listed route that is not intravenous, and no intravenous one. Only a listed route
    excludes: an unlisted route code may be a real infusion."""
    routes = [codings(r) for r in _routes(resource)]
    return any(value_set(NOT_IV_ROUTE).match(r) for r in routes) and not any(
        value_set(IV_ROUTE).match(r) for r in routes
    )


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
        categories = resource.get("category")
        codes = {
            c.get("code")
            for concept in (categories if isinstance(categories, list) else ())
            for c in codings(concept)
        }
        return "home-order" if codes & _NOT_INPATIENT else "active-order"
    _report_status(resource, status, REQUEST_STATUSES, report)
    return None


def _administration_counts(resource: Resource, report: Report) -> str | None:
    status = token(resource.get("status"))
    if status == "in-progress":
        return "running"
    if status in ("completed", "stopped"):
        # Kept: a later finished administration means the drug is not running now.
        report.note(resource, f"{status} administration: not running now", routine=True)
        return status
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


_HOW = {
    MatchKind.CODE: "code",
    MatchKind.INGREDIENT: "Medication.ingredient code",
    MatchKind.ATC: "ATC code",
    MatchKind.NAME: "name only, no listed code",
}


def _evidence(resource: Resource, drug: DrugMatch, state: str) -> Evidence:
    how = _HOW[drug.kind]
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
        what=drug.ingredient,
        status=state,
    )
