"""Scope, goals of care and contraindications (docs/clinical-rules.md, section 'Scope').

Who the guideline is for (adults, alive), what the patient wants (comfort measures only,
do not resuscitate), and what changes the advice (pregnancy, a durable ventricular assist
device, mitral stenosis, chronic organ disease that raises surgical risk). Each is a fact
with its evidence, decided from coded data only.

Code status is read in the shapes EHRs record it in: an active order (ServiceRequest, as
US Core 9 and the HL7 PACIO Advance Directive guide model a DNR or POLST order), a
code-status Observation whose value is coded, or a problem-list entry (ICD-10-CM Z66).
The newest active entry decides; a palliative-care encounter or an advance-directive
document is context only and never read here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime

from fhir_mappings.conditions import ActiveCondition
from fhir_mappings.elements import Resource, codings, resource_id, token
from fhir_mappings.facts import Evidence, Fact, Status
from fhir_mappings.gaps import Missing
from fhir_mappings.observations import COUNTED, effective_time
from fhir_mappings.parse import Report
from fhir_mappings.thresholds import Thresholds
from fhir_mappings.timing import TimeProblem, describe_window, parse_time, start_day, within
from fhir_mappings.valuesets import value_set

COMFORT = "comfort-measures-only"
DNR = "do-not-resuscitate"
FULL_CODE = "full-code"
#: Every code-status value set: the newest entry in any of them decides.
CODE_STATUS = (COMFORT, DNR, FULL_CODE)
PREGNANCY = "pregnancy"
PREGNANCY_STATUS = "pregnancy-status"
PREGNANT_ANSWER = "pregnancy-status-pregnant"
NOT_PREGNANT_ANSWER = "pregnancy-status-not-pregnant"
DURABLE_VAD = "durable-vad"
MITRAL_STENOSIS = "mitral-stenosis"
#: Chronic disease on the problem list that raises surgical risk (surgical-repair card).
SURGICAL_RISK = ("ckd-stage-4-5", "end-stage-renal-disease", "cirrhosis")
#: Orders that are in force (a draft, a plan or a revoked order is not a code status).
_ORDER_ACTIVE = frozenset({"active"})


def age_of(patient: Resource | None, now: datetime) -> int | None:
    """Whole years at ``now``; a partial birthDate counts with the oldest age it allows."""
    if patient is None:
        return None
    try:
        born = start_day(patient.get("birthDate"))
    except TimeProblem:
        return None
    today = now.date()
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def deceased(patient: Resource | None, now: datetime, report: Report) -> Fact:
    """deceasedBoolean true, or deceasedDateTime at or before ``now``."""
    if patient is None:
        return Fact("deceased", Status.UNKNOWN, (), ("no Patient resource",))
    flag = patient.get("deceasedBoolean")
    raw = patient.get("deceasedDateTime")
    when: datetime | None = None
    if raw is not None:
        try:
            when = parse_time(raw).start
        except TimeProblem as problem:
            report.note(patient, f"deceasedDateTime: {problem}; counted as deceased")
        if when is not None and when > now:
            return Fact("deceased", Status.ABSENT)
    if flag is True or raw is not None:
        ev = Evidence("Patient", resource_id(patient), time=when, what="deceased", note="Patient deceased")
        return Fact("deceased", Status.PRESENT, (ev,))
    return Fact("deceased", Status.ABSENT)


@dataclass(frozen=True)
class _Entry:
    """One code-status entry: which value set, when, and its evidence."""

    value_set: str
    time: datetime | None
    evidence: Evidence


def code_status(
    conditions: dict[str, tuple[ActiveCondition, ...]],
    orders: Iterable[Resource],
    observations: Iterable[Resource],
    report: Report,
    unavailable: Missing | None,
) -> tuple[Fact, Fact]:
    """(comfort_care, dnr) from the NEWEST active code-status entry of any shape.

    ``observations``: those valued in a code-status value set are read, in chart order (the
    caller may pass only those: ``valued_in``)."""
    entries: list[_Entry] = [
        _Entry(vs, c.evidence.time, c.evidence) for vs in CODE_STATUS for c in conditions.get(vs, ())
    ]
    entries += [e for r in orders if (e := _order(r, report)) is not None]
    entries += [e for r in observations if (e := _observation(r, report)) is not None]
    if not entries:
        gaps = (unavailable,) if unavailable else ()
        status = Status.UNKNOWN if unavailable else Status.ABSENT
        return Fact("comfort_care", status, (), gaps), Fact("dnr", status, (), gaps)
    # Undated entries count, but any dated entry is newer than them.
    newest = max(entries, key=lambda e: (e.time is not None, e.time or datetime.min))
    if newest.value_set == COMFORT:
        return Fact("comfort_care", Status.PRESENT, (newest.evidence,)), Fact("dnr", Status.ABSENT)
    if newest.value_set == FULL_CODE:  # a newer full-code order ends an older DNR or comfort status
        return Fact("comfort_care", Status.ABSENT), Fact("dnr", Status.ABSENT)
    return Fact("comfort_care", Status.ABSENT), Fact("dnr", Status.PRESENT, (newest.evidence,))


def _code_status_hit(concept: object) -> tuple[str, Evidence] | None:
    coded_as = codings(concept)
    if not coded_as:
        return None
    for vs_id in CODE_STATUS:
        hit = value_set(vs_id).match(coded_as)
        if hit is not None:
            return vs_id, Evidence("", None, hit.system, hit.code, hit.display, what=vs_id)
    return None


def _order(resource: Resource, report: Report) -> _Entry | None:
    """An active code-status order (ServiceRequest), not ``doNotPerform``."""
    found = _code_status_hit(resource.get("code"))
    if found is None:
        return None
    if token(resource.get("status")) not in _ORDER_ACTIVE or resource.get("doNotPerform") is True:
        report.note(resource, "code-status order not active", routine=True)
        return None
    if not report.valid(resource):
        return None
    when = _first_time(resource.get("authoredOn"), resource.get("occurrenceDateTime"))
    return _entry(resource, found, when, "active order in", "active-order")


def _observation(resource: Resource, report: Report) -> _Entry | None:
    """A code-status Observation whose coded value is in a code-status value set."""
    found = _code_status_hit(resource.get("valueCodeableConcept"))
    if found is None:
        return None
    if token(resource.get("status")) not in COUNTED or not report.valid(resource):
        return None
    try:
        when: datetime | None = effective_time(resource).start
    except TimeProblem:
        when = None
    return _entry(resource, found, when, "code-status Observation valued in", "recorded")


def _entry(
    resource: Resource, found: tuple[str, Evidence], when: datetime | None, note: str, status: str
) -> _Entry:
    """One code-status entry of any shape, as evidence named by its value set."""
    vs_id, coded = found
    evidence = replace(
        coded,
        resource_type=str(resource.get("resourceType")),
        resource_id=resource_id(resource),
        time=when,
        note=f"{note} {vs_id}",
        status=status,
    )
    return _Entry(vs_id, when, evidence)


def _first_time(*raws: object) -> datetime | None:
    for raw in raws:
        try:
            return parse_time(raw).start
        except TimeProblem:
            continue
    return None


def pregnant(
    conditions: tuple[ActiveCondition, ...],
    observations: Iterable[Resource],
    *,
    now: datetime,
    thresholds: Thresholds,
    report: Report,
    unavailable: Missing | None,
) -> Fact:
    """An active pregnancy Condition, or the newest pregnancy-status Observation within
    9 months saying pregnant; a newer "not pregnant" status wins over both."""
    window = thresholds.pregnancy_status_window
    said: list[tuple[datetime, bool, Evidence]] = []
    status_code = value_set(PREGNANCY_STATUS)
    for resource in observations:
        if status_code.match(codings(resource.get("code"))) is None:
            continue
        answer = resource.get("valueCodeableConcept")
        yes = value_set(PREGNANT_ANSWER).match(codings(answer))
        no = value_set(NOT_PREGNANT_ANSWER).match(codings(answer))
        if (yes is None) == (no is None) or token(resource.get("status")) not in COUNTED:
            continue
        try:
            time = effective_time(resource)
            inside = within(time, now, window, need_time_of_day=False)
        except TimeProblem as problem:
            report.note(resource, f"pregnancy status: {problem}")
            continue
        if not inside:
            report.note(resource, f"pregnancy status outside {describe_window(window)}", routine=True)
            continue
        if not report.valid(resource):
            continue
        hit = yes or no
        assert hit is not None
        ev = Evidence(
            "Observation",
            resource_id(resource),
            hit.system,
            hit.code,
            hit.display,
            time=time.start,
            what=PREGNANCY,
            status="recorded",
            note=f"pregnancy status: {'pregnant' if yes else 'not pregnant'}",
        )
        said.append((time.start, yes is not None, ev))
    newest = max(said, key=lambda s: s[0]) if said else None
    if newest is not None and not newest[1]:
        # "Not pregnant" counts against every entry recorded before it.
        later = [
            c.evidence for c in conditions if c.evidence.time is not None and c.evidence.time > newest[0]
        ]
        if not later:
            return Fact("pregnant", Status.ABSENT, (newest[2],))
        return Fact("pregnant", Status.PRESENT, tuple(later))
    evidence = [c.evidence for c in conditions] + ([newest[2]] if newest is not None else [])
    if evidence:
        return Fact("pregnant", Status.PRESENT, tuple(evidence))
    return Fact(
        "pregnant",
        Status.UNKNOWN if unavailable else Status.ABSENT,
        (),
        (unavailable,) if unavailable else (),
    )


def in_place_since_before(supports: Iterable[Evidence], before: datetime) -> list[Evidence]:
    """Support evidence whose start lies before ``before`` (in place longer than the limit)."""
    return [ev for ev in supports if ev.time is not None and ev.time < before]
