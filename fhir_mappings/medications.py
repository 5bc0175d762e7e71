"""Medication classes and vasoactive support (spec section 1).

A drug is recognised, in order, by an RxNorm or ATC code on the order itself (or on the
referenced / contained Medication's code), by a ``Medication.ingredient`` code, and only
then by name: an ingredient name of the value sets found in the drug's text, flagged
``MatchKind.NAME``. ATC codes match exactly as listed (no prefix matching: the ATC group
C01CA also holds drugs that are not vasopressors in this sense, e.g. midodrine).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
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
from fhir_mappings.parse import Report
from fhir_mappings.timing import FhirTime, TimeProblem, describe_window, parse_time
from fhir_mappings.valuesets import value_set

CLASSES = ("loop-diuretics", "ace-inhibitors", "arbs", "vasodilators-iv", "inotropes", "vasopressors")
VASOACTIVE = ("vasopressors", "inotropes")
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
    """Active orders per class, vasoactive drugs running or recently given, and gaps."""

    by_class: Mapping[str, tuple[MedicationMatch, ...]]
    vasoactive: tuple[MedicationMatch, ...]
    unidentified: tuple[str, ...]


def medications(
    resources: Iterable[Resource],
    by_reference: Mapping[str, Resource],
    *,
    now: datetime,
    window: timedelta,
    report: Report,
) -> MedicationFindings:
    """Classify active MedicationRequests and recent MedicationAdministrations."""
    by_class: dict[str, list[MedicationMatch]] = {v: [] for v in CLASSES}
    vasoactive: list[MedicationMatch] = []
    unidentified: list[str] = []
    for resource in resources:
        kind = resource_type(resource)
        if kind not in ("MedicationRequest", "MedicationAdministration"):
            continue
        if _unresolved(resource, by_reference, report):
            unidentified.append(f"{kind}/{resource_id(resource)}: medication reference could not be resolved")
            continue
        drugs = identify(resource, by_reference)
        if not drugs:
            continue
        if kind == "MedicationRequest":
            note = _request_counts(resource, report)
        else:
            note = _administration_counts(resource, now, window, report)
        if note is None or not report.valid(resource):
            continue
        for drug in drugs:
            match = MedicationMatch(drug.value_set, drug.kind, _evidence(resource, drug, note))
            if kind == "MedicationRequest":
                by_class[drug.value_set].append(match)
            if drug.value_set in VASOACTIVE:
                vasoactive.append(match)
    return MedicationFindings(
        {k: tuple(v) for k, v in by_class.items() if v}, tuple(vasoactive), tuple(unidentified)
    )


def _unresolved(resource: Resource, by_reference: Mapping[str, Resource], report: Report) -> bool:
    if resource.get("medicationCodeableConcept") is not None or resource.get("medicationReference") is None:
        return False
    if _medication(resource, by_reference) is not None:
        return False
    counted = resource.get("status") in ("active", "in-progress", "completed")
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
        return "active order"
    _report_status(resource, status, REQUEST_STATUSES, report)
    return None


def _administration_counts(
    resource: Resource, now: datetime, window: timedelta, report: Report
) -> str | None:
    status = token(resource.get("status"))
    if status == "in-progress":
        return "administration in progress"
    if status != "completed":
        _report_status(resource, status, ADMINISTRATION_STATUSES, report)
        return None
    try:
        given = _administered_at(resource)
    except TimeProblem as problem:
        report.note(resource, f"effective time: {problem}")
        return None
    if not given.precise or given.start > now or given.start < now - window:
        report.note(resource, f"completed outside the {describe_window(window)} window", routine=True)
        return None
    return f"given within {describe_window(window)}"


def _administered_at(resource: Resource) -> FhirTime:
    if resource.get("effectiveDateTime") is not None:
        return parse_time(resource["effectiveDateTime"])
    period = resource.get("effectivePeriod")
    if isinstance(period, Mapping):
        return parse_time(period.get("end") or period.get("start"))
    raise TimeProblem("no effective time")


def _report_status(resource: Resource, status: str | None, known: frozenset[str], report: Report) -> None:
    if status not in known:
        shown = status[:30] if isinstance(status, str) else None
        report.note(resource, f"status {shown!r} is not a {resource_type(resource)} status")
    elif status in _REPORTED:
        report.note(resource, f"status {status}")


def _time_of(resource: Resource) -> datetime | None:
    """When an order was written, or when an administration ran (its end once completed)."""
    raw = resource.get("authoredOn") or resource.get("effectiveDateTime")
    if raw is not None:
        return parse_time(raw).start
    period = resource.get("effectivePeriod")
    if not isinstance(period, Mapping):
        return None
    if resource.get("status") == "completed" and period.get("end") is not None:
        return parse_time(period["end"]).end
    return parse_time(period["start"]).start if period.get("start") is not None else None


def _evidence(resource: Resource, drug: DrugMatch, note: str) -> Evidence:
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
        note=f"{note}: {drug.value_set} by {how}",
    )
