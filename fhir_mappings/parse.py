"""Prefetch -> the resources of the chart, what could not be obtained, and validation.

Selection happens on the raw JSON (cheap); only resources a fact may use are validated
with fhir.resources' R4B models (costly), once each, and only in the elements a fact reads
(``liberal``). A resource that fails there is left out and reported, never fatal; one
that carries an element R4B does not define, and no fact reads, still counts, with a
note. fhir.resources does not check code values, so the fact modules check statuses
themselves.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any

from fhir_mappings.elements import Resource, reference_of, relative_reference, resource_id, resource_type
from fhir_mappings.facts import DataQualityNote
from fhir_mappings.gaps import Gap, Reason
from fhir_mappings.keys import Key
from fhir_mappings.liberal import strict_error, verdict
from fhir_mappings.prefetch import EMPTY, ERROR, INVALID, RESOURCE, ChartInput, classify
from fhir_mappings.timing import TimeProblem, parse_time

#: Keys whose data the facts read (the names are for the trail; cards word a missing key
#: from ``hooks/guideline.json``, section ``gaps``).
KEY_LABELS: Mapping[str, str] = {
    Key.CONDITIONS: "conditions",
    Key.MR_GRADE: "echo MR grade",
    Key.VITAL_SIGNS: "vital signs",
    Key.LABS: "laboratory results",
    Key.PROCEDURES: "procedures",
    Key.DEVICES: "devices",
    Key.DEVICE_USE_STATEMENTS: "device use statements",
    Key.MEDICATION_REQUESTS: "medication orders",
    Key.MEDICATION_ADMINISTRATIONS: "medication administrations",
    Key.CODE_STATUS: "code status orders",
}


@dataclass(frozen=True)
class Collected:
    """The chart's resources, deduplicated by (type, id), and the state of each key."""

    resources: tuple[Resource, ...]
    #: ``Type/id`` -> resource, including ``search.mode == "include"`` entries.
    by_reference: Mapping[str, Resource]
    #: Keys that could not be (fully) obtained -> the detail, for the trail.
    unavailable: Mapping[str, str]
    notes: tuple[DataQualityNote, ...]
    #: Keys that could not be (fully) obtained -> why, as a key ``hooks`` words.
    reasons: Mapping[str, Reason] = dataclasses.field(default_factory=dict)

    def __init__(
        self,
        resources: tuple[Resource, ...],
        by_reference: Mapping[str, Resource],
        unavailable: Mapping[str, str],
        notes: tuple[DataQualityNote, ...],
        reasons: Mapping[str, Reason] | None = None,
    ) -> None:
        # Written out as Evidence's is (test_kept_lookups.py keeps it in step with the
        # fields): one a call, 1.2 us by the generated frozen __init__, 0.4 this way.
        found = self.__dict__
        found["resources"] = resources
        found["by_reference"] = by_reference
        found["unavailable"] = unavailable
        found["notes"] = notes
        found["reasons"] = {} if reasons is None else reasons

    def missing(self, key: str) -> Gap | None:
        """What is missing when ``key`` could not be (fully) obtained, else None."""
        return self._gaps.get(key)

    @cached_property  # asked two dozen times a call: each gap is built once (they are frozen)
    def _gaps(self) -> Mapping[str, Gap]:
        return {
            key: Gap.of(str(key), self.reasons.get(key, Reason.NOT_OBTAINED), detail=detail)
            for key, detail in self.unavailable.items()
        }

    def of_type(self, *type_names: str) -> tuple[Resource, ...]:
        """The resources of these types, in chart order."""
        groups = [found for name in type_names if (found := self._by_type.get(name))]
        if len(groups) <= 1:
            return groups[0] if groups else ()
        # Two types both present: one pass keeps the chart's order across them.
        return tuple(r for r in self.resources if r.get("resourceType") in type_names)

    @cached_property  # asked for eight times a call: the chart is grouped once
    def _by_type(self) -> Mapping[str, tuple[Resource, ...]]:
        found: dict[str, list[Resource]] = {}
        for resource in self.resources:
            kind = resource.get("resourceType")  # ``resource_type``, inlined: once per resource
            group = found.get(kind if isinstance(kind, str) else "Unknown")
            if group is None:
                found[kind if isinstance(kind, str) else "Unknown"] = [resource]
            else:
                group.append(resource)
        return {name: tuple(group) for name, group in found.items()}


def collect(chart: ChartInput) -> Collected:
    """Flatten every prefetch value into resources; note what could not be obtained."""
    unavailable: dict[str, str] = dict(chart.unavailable)
    reasons = dict.fromkeys(unavailable, Reason.NOT_OBTAINED)
    seen: dict[tuple[str, str], Resource] = {}
    anonymous: list[Resource] = []
    notes: list[DataQualityNote] = []
    for key, value in chart.prefetch.items():
        if value is None or key in unavailable:
            continue  # (null: searched, nothing found; half the keys of a small chart)
        for resource in _resources_of(key, value, unavailable, notes, reasons):
            rid = resource.get("id")  # resource_id and resource_type, inlined: once per resource
            if not isinstance(rid, str):
                anonymous.append(resource)
                continue
            kind = resource.get("resourceType")
            key_ = (kind if isinstance(kind, str) else "Unknown", rid)
            if key_ not in seen or _newer(resource, seen[key_]):
                seen[key_] = resource
    for key in KEY_LABELS:
        if key not in chart.prefetch and key not in unavailable:
            unavailable[key] = "not provided by the EHR"
            reasons[key] = Reason.NOT_SENT
    for key, why in chart.incomplete.items():
        # Like a partly answered search: what came is used, but "nothing found" cannot be
        # read as "absent" (the deciding resource may be on a page that was not read).
        if key not in unavailable:
            unavailable[key] = f"results may be incomplete ({why})"
            reasons[key] = Reason.PARTIAL
    resources = tuple(seen.values()) + tuple(anonymous)
    kept = tuple(_same_patient(resources, chart.patient_id, notes))
    return Collected(kept, _References(seen), unavailable, tuple(notes), reasons)


class _References(Mapping[str, Resource]):
    """``Type/id`` -> resource for every resource with an id, made when first read: most
    charts resolve no reference (a medication given by code), and a long stay holds
    thousands of resources."""

    __slots__ = ("_seen", "_table")

    def __init__(self, seen: Mapping[tuple[str, str], Resource]) -> None:
        self._seen = seen
        self._table: dict[str, Resource] | None = None

    def _made(self) -> dict[str, Resource]:
        if self._table is None:
            self._table = {f"{t}/{i}": r for (t, i), r in self._seen.items()}
        return self._table

    def __getitem__(self, reference: str) -> Resource:
        return self._made()[reference]

    def __contains__(self, reference: object) -> bool:
        return reference in self._made()

    def __iter__(self) -> Iterator[str]:
        return iter(self._made())

    def __len__(self) -> int:
        return len(self._made())

    def __repr__(self) -> str:
        return repr(self._made())


def _newer(candidate: Resource, kept: Resource) -> bool:
    """True when ``candidate`` is a later version of ``kept`` (by meta.lastUpdated)."""
    try:
        return _last_updated(candidate) > _last_updated(kept)
    except TimeProblem:
        return False  # versions that cannot be ordered: the first one received stays


def _last_updated(resource: Resource) -> datetime:
    meta = resource.get("meta")
    return parse_time(meta.get("lastUpdated") if isinstance(meta, Mapping) else None).start


def _resources_of(
    key: str,
    value: Any,
    unavailable: dict[str, str],
    notes: list[DataQualityNote],
    reasons: dict[str, Reason],
) -> Iterable[Resource]:
    kind = classify(value)
    if kind is EMPTY:
        return ()
    if kind is INVALID:
        unavailable[key] = "the value received is not a FHIR resource"
        reasons[key] = Reason.NOT_OBTAINED
        return ()
    if kind is ERROR:
        unavailable[key] = f"could not be fetched ({_outcome_codes(value)})"
        reasons[key] = Reason.NOT_OBTAINED
        return ()
    if kind is RESOURCE:
        return (value,)
    found = _bundle_resources(key, value, unavailable, notes)
    if key in unavailable:
        reasons[key] = Reason.PARTIAL
    return found


def _bundle_resources(
    key: str, bundle: Mapping[str, Any], unavailable: dict[str, str], notes: list[DataQualityNote]
) -> list[Resource]:
    entries = bundle.get("entry")
    found: list[Resource] = []
    for entry in entries if isinstance(entries, list) else ():
        # ``type(...) is dict`` first: the same answer for parsed JSON, without the slower ABC test.
        resource = entry.get("resource") if type(entry) is dict or isinstance(entry, Mapping) else None
        if not (type(resource) is dict or isinstance(resource, Mapping)) or not isinstance(
            resource.get("resourceType"), str
        ):
            notes.append(
                DataQualityNote("Bundle", resource_id(bundle), f"an entry of '{key}' is not a resource")
            )
            continue
        if resource["resourceType"] == "OperationOutcome":
            # search.mode "outcome": a warning, or an error meaning the result is partial.
            if _is_error(resource):
                unavailable[key] = f"the search was only partly answered ({_outcome_codes(resource)})"
            continue
        found.append(resource)
    return found


def _is_error(outcome: Mapping[str, Any]) -> bool:
    issues = outcome.get("issue")
    return any(
        isinstance(i, Mapping) and i.get("severity") in ("error", "fatal")
        for i in (issues if isinstance(issues, list) else ())
    )


def _outcome_codes(outcome: Mapping[str, Any]) -> str:
    """The issue codes of an OperationOutcome (codes only: diagnostics is free text)."""
    issues = outcome.get("issue")
    codes = sorted(
        {
            str(i["code"])
            for i in (issues if isinstance(issues, list) else ())
            if isinstance(i, Mapping) and isinstance(i.get("code"), str)
        }
    )
    return f"OperationOutcome: {', '.join(codes)}" if codes else "OperationOutcome"


_PATIENT_FIELDS = ("subject", "patient")


def _same_patient(
    resources: Iterable[Resource], patient_id: str, notes: list[DataQualityNote]
) -> Iterable[Resource]:
    """Leave out resources that name another patient (a wrong chart must never count)."""
    own = f"Patient/{patient_id}"
    for resource in resources:
        subject = resource.get("subject")
        if type(subject) is dict and subject.get("reference") == own and resource.get("patient") is None:
            yield resource  # the usual case: the same answer as the test below, without the calls
            continue
        if _names_other_patient(resource, own):
            notes.append(
                DataQualityNote(resource_type(resource), resource_id(resource), "refers to another patient")
            )
        else:
            yield resource


def _names_other_patient(resource: Resource, own: str) -> bool:
    for field in _PATIENT_FIELDS:
        value = resource.get(field)
        if value is None:
            continue  # most resources name their patient in one of the two only
        ref = reference_of(value)
        if ref is None or ref == own:
            continue  # the usual case, decided without taking the reference apart
        relative = relative_reference(ref)
        if relative.startswith("Patient/") and relative != own:
            return True
    return False


class Report:
    """Collects data-quality notes and validates each resource at most once (per call)."""

    def __init__(self, initial: Iterable[DataQualityNote] = ()) -> None:
        self._notes: dict[tuple[str, str | None, str], DataQualityNote] = {}
        self._routine: set[tuple[str, str | None, str]] = set()
        self._valid: dict[int, str | None] = {}
        for note in initial:
            self._notes.setdefault((note.resource_type, note.resource_id, note.reason), note)

    def note(self, resource: Resource, reason: str, *, routine: bool = False, kept: bool = False) -> None:
        """Record that ``resource`` was left out, and why (no patient data in ``reason``).

        ``routine``: simply too old for its window. A chart holds hundreds of those; they
        are listed after the unusual notes (status, unit, validation), which matter more.
        ``kept``: the resource still counts; the note says what in it was not used.
        """
        # Said of hundreds of readings outside their window: the accessors inlined.
        kind, rid = resource.get("resourceType"), resource.get("id")
        kind, rid = (kind if isinstance(kind, str) else "Unknown"), (rid if isinstance(rid, str) else None)
        key = (kind, rid, reason)
        if key not in self._notes:
            self._notes[key] = DataQualityNote(kind, rid, reason, kept)  # positional: no unpacking
        if routine:
            self._routine.add(key)

    def valid(self, resource: Resource) -> bool:
        """Validate with the R4B model; on failure note the first error and return False.

        Only the elements a fact reads are validated (``liberal``): an error there leaves
        the resource out; an element R4B does not define, and no fact reads, is named in a
        note (the resource is used).

        Lazy: callers ask only for resources that decide a fact or are shown, newest first,
        and stop once one decides. The verdict is kept by object identity for the call:
        ``collect`` keeps one object per (type, id), and contained resources, whose local
        ids (``#m``) repeat across their containers, stay distinct.
        """
        marker = id(resource)
        if marker not in self._valid:
            found = verdict(resource)
            self._valid[marker] = found.error
            if found.error is not None:
                self.note(resource, f"failed validation: {found.error}")
            elif found.tolerated:
                elements = ", ".join(found.tolerated)
                self.note(resource, f"{TOLERATED_PREFIX}{elements}", kept=True)
        return self._valid[marker] is None

    @property
    def notes(self) -> tuple[DataQualityNote, ...]:
        """Unusual notes first, then routine ones, each in the order found."""
        routine = self._routine
        unusual = [note for key, note in self._notes.items() if key not in routine]
        return (*unusual, *(note for key, note in self._notes.items() if key in routine))


#: How a note about elements not read begins (``--explain`` lists these apart).
TOLERATED_PREFIX = "used; not valid FHIR R4 and not read: "


def validation_error(resource: Resource) -> str | None:
    """The first error of STRICT validation of the whole resource as 'path: message'
    (never the value), or None. Not on the hook path: ``Report.valid`` validates only what
    the facts read."""
    return strict_error(resource)
