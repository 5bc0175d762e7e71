"""Conditions: which are active and confirmed, matched to the spec's value sets.

docs/clinical-rules.md: active = clinicalStatus active, recurrence or relapse; no clinicalStatus
counts as active unless ``abatement[x]`` is set. verificationStatus refuted or
entered-in-error: left out and reported. provisional / differential / unconfirmed: counted,
but marked unconfirmed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from fhir_mappings.codesystems import CONDITION_CLINICAL, CONDITION_VER_STATUS
from fhir_mappings.dict_init import dict_init
from fhir_mappings.elements import Resource, coded, codings, token
from fhir_mappings.facts import Evidence
from fhir_mappings.parse import Report
from fhir_mappings.timing import FhirTime, TimeProblem, instant, parse_time
from fhir_mappings.valuesets import ValueSetCode, first_listed, value_set

ACTIVE = frozenset({"active", "recurrence", "relapse"})
INACTIVE = frozenset({"inactive", "remission", "resolved"})
CONFIRMED = frozenset({"confirmed"})
UNCONFIRMED = frozenset({"unconfirmed", "provisional", "differential"})
EXCLUDED = frozenset({"refuted", "entered-in-error"})
_CLINICAL = ACTIVE | INACTIVE
_VERIFICATION = CONFIRMED | UNCONFIRMED | EXCLUDED
_ABATEMENT = ("abatementDateTime", "abatementAge", "abatementPeriod", "abatementRange", "abatementString")


@dict_init
@dataclass(frozen=True)
class ActiveCondition:
    """An active, not refuted Condition in one value set."""

    resource: Resource
    value_set: str
    evidence: Evidence
    unconfirmed: bool

    @property
    def onset(self) -> FhirTime:
        """onsetDateTime, else onsetPeriod.start, else recordedDate; TimeProblem if none."""
        return onset_of(self.resource)


def active_in(
    resources: Iterable[Resource], value_set_id: str, report: Report
) -> tuple[ActiveCondition, ...]:
    """Active, not refuted Conditions whose code is in ``value_set_id``, validated."""
    match = first_listed((value_set_id,))  # ``ValueSet.match`` of the codings, one lookup for the usual code
    found: list[ActiveCondition] = []
    for resource in resources:
        hit = match(resource.get("code"))
        if hit is None or not _active(resource, report):
            continue
        verification = _verification(resource, report)
        if verification in EXCLUDED or not report.valid(resource):
            continue
        unconfirmed = verification is not None and verification not in CONFIRMED
        note = f"active Condition in {value_set_id}" + (f" ({verification})" if unconfirmed else "")
        state = "unconfirmed" if unconfirmed else "active"
        evidence = _evidence(resource, hit, value_set_id, state, _recorded_time(resource), note)
        found.append(ActiveCondition(resource, value_set_id, evidence, unconfirmed))
    return tuple(found)


def resolved_in(resources: Iterable[Resource], value_set_id: str, report: Report) -> tuple[Evidence, ...]:
    """Conditions in the value set that are resolved, inactive or in remission, with the
    time of their abatement (a resolution without a date cannot be placed after an echo)."""
    vs = value_set(value_set_id)
    found: list[Evidence] = []
    for resource in resources:
        hit = vs.match(codings(resource.get("code")))
        concept = resource.get("clinicalStatus")
        if hit is None or status_code(concept, CONDITION_CLINICAL, _CLINICAL) not in INACTIVE:
            continue
        if _verification(resource, report) in EXCLUDED or not report.valid(resource):
            continue
        try:
            abated = abatement_of(resource)
        except TimeProblem:
            continue
        note = f"Condition in {value_set_id} resolved (abatement recorded)"
        found.append(_evidence(resource, hit, value_set_id, "resolved", abated.start, note))
    return tuple(found)


def _evidence(
    resource: Resource, hit: ValueSetCode, value_set_id: str, state: str, time: datetime | None, note: str
) -> Evidence:
    # Positional (value, unit, value_text none): built for each Condition a fact reads.
    rid = resource.get("id")
    return Evidence(
        "Condition",
        rid if isinstance(rid, str) else None,
        hit.system,
        hit.code,
        hit.display,
        None,
        None,
        None,
        time,
        note,
        value_set_id,
        state,
    )


def abatement_of(resource: Resource) -> FhirTime:
    """abatementDateTime, else abatementPeriod end or start; TimeProblem if none."""
    period = resource.get("abatementPeriod")
    for raw in (
        resource.get("abatementDateTime"),
        (period.get("end") or period.get("start")) if isinstance(period, Mapping) else None,
    ):
        if raw is not None:
            return parse_time(raw)
    raise TimeProblem("no abatement date")


def status_code(concept: object, system: str, known: frozenset[str]) -> str | None:
    """The code in the HL7 ``system``; else a system-less coding whose code is a ``known`` one."""
    if type(concept) is dict:
        # The usual status, one coding of the system, without building the codings: asked
        # twice of every Condition a fact reads (dozens in a long stay).
        found = concept.get("coding")
        if (
            type(found) is list
            and len(found) == 1
            and type(only := found[0]) is dict
            and only.get("system") == system
            and type(code := only.get("code")) is str
        ):
            return code
    code = coded(concept, system)
    if code is not None:
        return code
    for coding in codings(concept):
        if coding.get("system") is None and token(coding.get("code")) in known:
            return str(coding["code"])
    return None


def _verification(resource: Resource, report: Report) -> str | None:
    """confirmed / unconfirmed-like / excluded (reported), or "unreadable" (counted, reported).

    A verification status that cannot be read does not drop the Condition (that could hide
    real MR); it is counted as unconfirmed, so the card says so, and reported.
    """
    concept = resource.get("verificationStatus")
    if concept is None:
        return None
    code = status_code(concept, CONDITION_VER_STATUS, _VERIFICATION)
    if code in EXCLUDED:
        report.note(resource, f"verificationStatus {code}")
        return code
    if code in CONFIRMED | UNCONFIRMED:
        return code
    report.note(resource, "verificationStatus not readable: counted as unconfirmed")
    return "verification status not readable"


def _active(resource: Resource, report: Report) -> bool:
    """clinicalStatus active, recurrence or relapse; none: active unless abated."""
    concept = resource.get("clinicalStatus")
    if concept is None:
        return not any(resource.get(name) is not None for name in _ABATEMENT)
    clinical = status_code(concept, CONDITION_CLINICAL, _CLINICAL)
    if clinical in ACTIVE:
        return True
    if clinical not in INACTIVE:
        report.note(resource, "clinicalStatus not readable")
    return False


def onset_of(resource: Resource) -> FhirTime:
    """onsetDateTime, else onsetPeriod.start, else recordedDate (spec: acute triggers)."""
    period = resource.get("onsetPeriod")
    for raw in (
        resource.get("onsetDateTime"),
        period.get("start") if isinstance(period, Mapping) else None,
        resource.get("recordedDate"),
    ):
        if raw is not None:
            return parse_time(raw)
    raise TimeProblem("no onset or recorded date")


def _recorded_time(resource: Resource) -> datetime | None:
    """``onset_of(resource).start``, or None; the usual onset, an instant, without a ``FhirTime``."""
    raw = resource.get("onsetDateTime")
    if raw is None:
        period = resource.get("onsetPeriod")
        raw = period.get("start") if isinstance(period, Mapping) else None
        if raw is None:
            raw = resource.get("recordedDate")
    if type(raw) is str and (moment := instant(raw)) is not None:
        return moment
    try:
        return onset_of(resource).start
    except TimeProblem:
        return None
