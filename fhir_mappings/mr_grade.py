"""The MR severity grade on a 0-4+ scale (docs/clinical-rules.md, MR grade).

The latest echo Observation coded in ``echo-mr-grade`` (status final, amended or
corrected) within 365 days decides. If it is not machine-readable the grade is unknown:
no fall-back to an older echo or to Condition.severity. Only when there is no echo in the
window does Condition.severity on the MR Condition give the grade. Never round up.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from functools import cache
from importlib import resources
from typing import Any

from fhir_mappings.codesystems import UCUM
from fhir_mappings.conditions import ActiveCondition
from fhir_mappings.elements import Resource, codings, number, resource_id, token
from fhir_mappings.facts import Evidence, Fact, GradeSource, MRGrade, Status
from fhir_mappings.gaps import Missing
from fhir_mappings.observations import Candidate, select
from fhir_mappings.parse import Report
from fhir_mappings.thresholds import Thresholds
from fhir_mappings.timing import TimeProblem, describe_window, within

#: ``valueString`` accepted as a grade: exactly 0-4 with an optional "+" (docs/clinical-rules.md, MR grade).
_GRADE_STRING = re.compile(r"^[0-4]\+?$")
#: A short string of digits and grade punctuation may be quoted back; other text never is.
_QUOTABLE = re.compile(r"^[0-9+\-/. ]{1,12}$")
#: A range such as ``3-4+`` or ``2 to 3+``: never a grade, but its lower bound is "at least".
_RANGE = re.compile(r"^([0-4])\+?\s*(?:-|to|/)\s*([0-4])\+?$")
_GRADE_UNITS = frozenset({"{grade}", "1"})
_WORDS = {0: "none", 1: "mild", 2: "moderate", 3: "moderate to severe", 4: "severe"}


@dataclass(frozen=True)
class Parsed:
    """A grade, or why the value is not machine-readable."""

    grade: int | None
    why_not: str | None = None
    value_text: str | None = None
    code: tuple[str, str] | None = None
    #: For a range (``3-4+``): its lower bound, which "at least moderate" may use.
    at_least: int | None = None


@cache
def qualifier_grades() -> Mapping[tuple[str, str], int]:
    """(system, code) of a severity qualifier -> grade, from ``mr_grade_map.json``."""
    raw = resources.files("fhir_mappings").joinpath("mr_grade_map.json").read_text(encoding="utf-8")
    doc = json.loads(raw)
    return {(doc["system"], code): int(grade) for code, grade in doc["grades"].items()}


def grade_of_concept(concept: Any) -> Parsed:
    """A severity qualifier (valueCodeableConcept or Condition.severity) as a grade."""
    table = qualifier_grades()
    listed = codings(concept)
    for coding in listed:
        key = (coding.get("system"), coding.get("code"))
        if key in table:
            system, code = str(key[0]), str(key[1])
            return Parsed(table[(system, code)], code=(system, code))
    if listed:
        return Parsed(None, "is coded, but not with a listed severity qualifier")
    return Parsed(None, "is text only")


def grade_of_observation(resource: Resource) -> Parsed:
    """Spec 1.1, in order: coded severity, integer/quantity 0-4, exact string like '4+'."""
    if "valueCodeableConcept" in resource:
        return grade_of_concept(resource["valueCodeableConcept"])
    if "valueInteger" in resource:
        return _whole(number(resource["valueInteger"]))
    if "valueQuantity" in resource:
        return _quantity(resource["valueQuantity"])
    if "valueString" in resource:
        return _string(resource["valueString"])
    other = next((k for k in resource if k.startswith("value")), None)
    return Parsed(None, f"is a {other}" if other else "is missing")


def _whole(value: float | None) -> Parsed:
    if value is None:
        return Parsed(None, "is not a number")
    if value != int(value):
        return Parsed(None, f"{value:g} is not a whole grade (never rounded)")
    if not 0 <= value <= 4:
        return Parsed(None, f"{value:g} is outside 0-4")
    return Parsed(int(value))


def _quantity(quantity: Any) -> Parsed:
    if not isinstance(quantity, Mapping):
        return Parsed(None, "is not a quantity")
    code = quantity.get("code") if quantity.get("system") in (UCUM, None) else None
    unit = code if code is not None else quantity.get("unit")
    if unit is not None and token(unit) not in _GRADE_UNITS:
        return Parsed(None, "has a unit that is not a grade")
    if quantity.get("comparator") is not None:
        return Parsed(None, "has a comparator")
    return _whole(number(quantity.get("value")))


def _string(text: Any) -> Parsed:
    if not isinstance(text, str):
        return Parsed(None, "is not text")
    stripped = text.strip()
    if _GRADE_STRING.match(stripped):
        return Parsed(int(stripped[0]), value_text=stripped)
    bounds = _RANGE.match(stripped)
    if bounds:
        low = min(int(bounds.group(1)), int(bounds.group(2)))
        return Parsed(None, f"'{stripped}' is a range, not a grade", value_text=stripped, at_least=low)
    if _QUOTABLE.match(stripped):
        return Parsed(None, f"'{stripped}' is not machine-readable", value_text=stripped)
    # Free text may hold anything; it is never quoted back.
    return Parsed(None, "is free text, not machine-readable")


def echo_grades(
    observations: Iterable[Resource], *, now: datetime, thresholds: Thresholds, report: Report
) -> tuple[Candidate, ...]:
    """Counted echo MR-grade Observations within the grade window (365 days), newest first."""
    window = thresholds.echo_grade_window
    return select(
        observations, ("echo-mr-grade",), now=now, window=window, need_time_of_day=False, report=report
    )


def mr_grade(
    latest: Candidate | None,
    mr_conditions: tuple[ActiveCondition, ...],
    *,
    thresholds: Thresholds,
    unavailable: Missing | None,
) -> MRGrade:
    """Latest echo grade in the window; else Condition.severity; else unknown."""
    window = thresholds.echo_grade_window
    if latest is not None:
        grade = _from_echo(latest, window_text=describe_window(window))
        # Found under another key while the echo search failed: a newer echo may exist.
        return grade if unavailable is None else replace(grade, missing=(*grade.missing, unavailable))
    if unavailable is not None:
        # Without the echo results the Condition's severity may be outdated: do not use it.
        return MRGrade(None, GradeSource.NONE, missing=(unavailable,))
    no_echo = f"no echo MR grade in the last {describe_window(window)}"
    return _from_condition(mr_conditions, no_echo)


def latest_echo(echoes: Iterable[Candidate], report: Report) -> Candidate | None:
    """The newest valid echo MR-grade Observation (``select`` sorts newest first)."""
    return next((e for e in echoes if report.valid(e.resource)), None)


def mr_on_echo(
    latest: Candidate | None,
    grade: MRGrade,
    *,
    now: datetime,
    thresholds: Thresholds,
    unavailable: Missing | None,
) -> Fact:
    """The latest echo, if within the window (30 days), shows MR 2+ or worse (docs/clinical-rules.md).

    A range counts by its lower bound (``3-4+`` is at least moderate); a grade that a
    later intervention superseded does not count.
    """
    window = thresholds.mr_on_echo_window
    try:
        inside = latest is not None and within(latest.time, now, window, need_time_of_day=False)
    except TimeProblem as problem:
        return Fact("mr_on_echo", Status.UNKNOWN, (), (f"latest echo MR grade: {problem}",))
    if latest is None or not inside:
        gap = unavailable or f"no echo MR grade in the last {describe_window(window)}"
        return Fact("mr_on_echo", Status.UNKNOWN if unavailable else Status.ABSENT, (), (gap,))
    parsed = grade_of_observation(latest.resource)
    level = parsed.grade if parsed.grade is not None else parsed.at_least
    note = f"echo MR grade within {describe_window(window)}: at least 2+ (moderate) counts"
    evidence = _echo_evidence(latest, parsed, note)
    if grade.superseded_by:
        return Fact("mr_on_echo", Status.ABSENT, (), ("echo grade superseded by a later intervention",))
    if level is None:
        return Fact("mr_on_echo", Status.UNKNOWN, (), (f"echo grade {parsed.why_not}",), (evidence,))
    status = Status.PRESENT if level >= 2 else Status.ABSENT
    return Fact("mr_on_echo", status, (evidence,) if status is Status.PRESENT else ())


def superseded(grade: MRGrade, after: Iterable[Evidence]) -> MRGrade:
    """The echo grade, superseded by any intervention or resolution dated after the echo."""
    echo_time = grade.evidence[0].time if grade.source is GradeSource.ECHO and grade.evidence else None
    if echo_time is None:
        return grade
    later = tuple(ev for ev in after if ev.time is not None and ev.time > echo_time)
    return replace(grade, superseded_by=later) if later else grade


def _echo_evidence(echo: Candidate, parsed: Parsed, note: str) -> Evidence:
    return Evidence(
        "Observation",
        resource_id(echo.resource),
        echo.code.system,
        echo.code.code,
        echo.code.display,
        value=float(parsed.grade) if parsed.grade is not None else None,
        value_text=_grade_text(parsed) if parsed.grade is not None else parsed.value_text,
        time=echo.time.start,
        note=note,
        what="echo-grade",
        status=None if parsed.grade is not None else "unreadable",
    )


def _from_echo(echo: Candidate, window_text: str) -> MRGrade:
    parsed = grade_of_observation(echo.resource)
    if parsed.grade is None:
        # value_text is only a short grade-like string, never free text
        note = f"latest echo MR grade within {window_text}: not machine-readable"
        why = f"echo grade {parsed.why_not}" if parsed.why_not else "echo grade is not machine-readable"
        evidence = _echo_evidence(echo, parsed, note)
        return MRGrade(None, GradeSource.ECHO, machine_readable=False, evidence=(evidence,), missing=(why,))
    evidence = _echo_evidence(echo, parsed, f"latest echo MR grade within {window_text}: {parsed.grade}+")
    return MRGrade(parsed.grade, GradeSource.ECHO, evidence=(evidence,))


def _from_condition(mr_conditions: tuple[ActiveCondition, ...], no_echo: str) -> MRGrade:
    graded = [c for c in mr_conditions if c.resource.get("severity") is not None]
    if not graded:
        return MRGrade(None, GradeSource.NONE, missing=(f"{no_echo}, and no severity on an MR Condition",))
    # The most recently dated Condition speaks for the current severity.
    condition = max(graded, key=lambda c: c.evidence.time.timestamp() if c.evidence.time else float("-inf"))
    parsed = grade_of_concept(condition.resource["severity"])
    base = condition.evidence
    if parsed.grade is None:
        why = f"{no_echo}; MR Condition severity {parsed.why_not}"
        return MRGrade(None, GradeSource.CONDITION, machine_readable=False, evidence=(base,), missing=(why,))
    evidence = Evidence(
        "Condition",
        base.resource_id,
        base.system,
        base.code,
        base.display,
        value=float(parsed.grade),
        value_text=_grade_text(parsed),
        time=base.time,
        note=f"MR Condition severity {parsed.grade}+ (no echo grade in the window)",
        what="condition-grade",
    )
    return MRGrade(parsed.grade, GradeSource.CONDITION, evidence=(evidence,), missing=(no_echo,))


def _grade_text(parsed: Parsed) -> str:
    """'4+ (severe)', with the qualifier code it came from when coded."""
    grade = parsed.grade if parsed.grade is not None else 0
    coded = f", SNOMED {parsed.code[1]}" if parsed.code else ""
    return f"{grade}+ ({_WORDS[grade]}{coded})"
