"""The MR severity grade on a 0-4+ scale (docs/clinical-rules.md, MR grade).

Which echo decides: the newest echo MR-grade Observation within 365 days (final, amended,
corrected or preliminary); ties on effective time go to amended or corrected, then final,
then preliminary, then the later ``issued``, then the later ``meta.lastUpdated``, never
the order of the Bundle. When the newest echo has no readable grade, the newest readable
grade from an echo at most 30 days before it decides, and the cards say so. A preliminary
echo may raise a grade, never lower one. Only when there is no echo in the window does
Condition.severity give the grade, and only from a Condition recorded within 365 days.
Every grade word and code is read from ``mr_grade_map.json``; never rounded up.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import cache
from importlib import resources
from typing import Any

from fhir_mappings.codesystems import SNOMED, UCUM
from fhir_mappings.conditions import ActiveCondition, onset_of
from fhir_mappings.elements import Resource, codings, number, resource_id, token
from fhir_mappings.facts import Evidence, Fact, GradeSource, MRGrade, Status
from fhir_mappings.gaps import Missing
from fhir_mappings.observations import COUNTED, Candidate, select
from fhir_mappings.parse import Report
from fhir_mappings.thresholds import Thresholds
from fhir_mappings.timing import TimeProblem, describe_window, parse_time, within

#: ``valueString`` accepted as a grade: exactly 0-4 with an optional "+" (docs/clinical-rules.md, MR grade).
_GRADE_STRING = re.compile(r"^[0-4]\+?$")
#: A short string of digits and grade punctuation may be quoted back; other text never is.
_QUOTABLE = re.compile(r"^[0-9+\-/. ]{1,12}$")
#: A range such as ``3-4+`` or ``2 to 3+``: never a grade, but its lower bound is "at least".
_RANGE = re.compile(r"^([0-4])\+?\s*(?:-|to|/)\s*([0-4])\+?$")
_GRADE_UNITS = frozenset({"{grade}", "1"})
#: Codings whose display is never read as a grade word: their code says what they mean.
_STANDARD_SYSTEMS = frozenset({SNOMED, "http://loinc.org"})
#: An echo grade also counts when preliminary (labelled on the card; it never lowers a grade).
ECHO_STATUSES = COUNTED | {"preliminary"}
#: Tie-break on equal effective times: amended or corrected, then final, then preliminary.
_STATUS_RANK = {"amended": 2, "corrected": 2, "final": 1, "preliminary": 0}
_EARLIEST = datetime.min.replace(tzinfo=UTC)

#: A grade as the data file writes it: one grade, or a range (lowest, highest).
Level = int | tuple[int, int]


@dataclass(frozen=True)
class Parsed:
    """A grade, a range, or why the value is not machine-readable."""

    grade: int | None
    why_not: str | None = None
    value_text: str | None = None
    code: tuple[str, str] | None = None
    #: For a range (``3-4+``): its lower bound, which "at least moderate" may use ...
    at_least: int | None = None
    #: ... and its upper bound (a range reaching 4+ asks for a single grade).
    at_most: int | None = None

    @property
    def is_range(self) -> bool:
        return self.grade is None and self.at_least is not None and self.at_most is not None

    @property
    def readable(self) -> bool:
        return self.grade is not None or self.is_range

    @property
    def level(self) -> int | None:
        """The highest grade the value allows."""
        return self.grade if self.grade is not None else self.at_most


@cache
def _grade_map() -> Mapping[str, Any]:
    raw = resources.files("fhir_mappings").joinpath("mr_grade_map.json").read_text(encoding="utf-8")
    doc: Mapping[str, Any] = json.loads(raw)
    return doc


def _level(raw: Any) -> Level:
    return (int(raw[0]), int(raw[1])) if isinstance(raw, list) else int(raw)


@cache
def qualifier_grades() -> Mapping[tuple[str, str], Level]:
    """(system, code) of a severity qualifier -> grade or range, from ``mr_grade_map.json``."""
    doc = _grade_map()
    return {(doc["system"], code): _level(grade) for code, grade in doc["grades"].items()}


@cache
def grade_words() -> Mapping[str, Level]:
    """Grade word (lower case, single spaces) -> grade or range, from ``mr_grade_map.json``."""
    return {word: _level(grade) for word, grade in _grade_map()["words"].items()}


def grade_name(grade: int) -> str:
    """The word for a grade on a card ("severe" for 4+), from ``mr_grade_map.json``."""
    return str(_grade_map()["names"][str(grade)])


def word_level(text: str) -> Level | None:
    """An exact grade word ("Severe", "moderately-severe MR"), or None: never a substring."""
    plain = " ".join(text.lower().replace("-", " ").split())
    words = grade_words()
    if plain in words:
        return words[plain]
    for suffix in _grade_map()["word_suffixes"]:
        base = plain.removesuffix(f" {suffix}")
        if base != plain and base in words:
            return words[base]
    return None


def _parsed(level: Level, *, value_text: str | None = None, code: tuple[str, str] | None = None) -> Parsed:
    if isinstance(level, int):
        return Parsed(level, value_text=value_text, code=code)
    low, high = level
    shown = f"'{value_text}'" if value_text else "the coded grade"
    return Parsed(
        None, f"{shown} is a range, not a single grade", value_text, code, at_least=low, at_most=high
    )


def grade_of_concept(concept: Any) -> Parsed:
    """A severity (valueCodeableConcept or Condition.severity) as a grade: a listed SNOMED
    qualifier; else an exact grade word as a local coding's display or as the text."""
    table = qualifier_grades()
    listed = codings(concept)
    for coding in listed:
        key = (coding.get("system"), coding.get("code"))
        if key in table:
            system, code = str(key[0]), str(key[1])
            return _parsed(table[(system, code)], code=(system, code))
    texts = [
        c.get("display") for c in listed if c.get("system") not in _STANDARD_SYSTEMS and c.get("display")
    ]
    if isinstance(concept, Mapping) and isinstance(concept.get("text"), str):
        texts.append(concept["text"])
    read = [(t, level) for t in texts if isinstance(t, str) and (level := word_level(t)) is not None]
    if len({level for _, level in read}) > 1:
        return Parsed(None, "has grade words that disagree")
    if read:
        word, level = read[0]
        return _parsed(level, value_text=" ".join(word.split()).lower())
    if listed:
        return Parsed(None, "is coded, but not with a listed severity qualifier")
    return Parsed(None, "is text only" if texts else "is an empty concept")


def grade_of_observation(resource: Resource) -> Parsed:
    """Spec 1.1, in order: coded severity or grade word, integer/quantity 0-4, exact string."""
    if "valueCodeableConcept" in resource:
        return grade_of_concept(resource["valueCodeableConcept"])
    if "valueInteger" in resource:
        return _whole(number(resource["valueInteger"]))
    if "valueQuantity" in resource:
        return _quantity(resource["valueQuantity"])
    if "valueString" in resource:
        return _string(resource["valueString"])
    other = next((k for k in resource if k.startswith("value")), None)
    if other:
        return Parsed(None, f"is a {other}")
    return Parsed(None, "was not recorded (data absent)" if "dataAbsentReason" in resource else "is missing")


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
        low, high = sorted((int(bounds.group(1)), int(bounds.group(2))))
        return _parsed((low, high), value_text=stripped)
    level = word_level(stripped)
    if level is not None:
        return _parsed(level, value_text=" ".join(stripped.split()).lower())
    if _QUOTABLE.match(stripped):
        return Parsed(None, f"'{stripped}' is not machine-readable", value_text=stripped)
    # Free text may hold anything; it is never quoted back.
    return Parsed(None, "is free text, not machine-readable")


# --- which echo decides -------------------------------------------------------------------


def echo_grades(
    observations: Iterable[Resource], *, now: datetime, thresholds: Thresholds, report: Report
) -> tuple[Candidate, ...]:
    """Echo MR-grade Observations (final, amended, corrected or preliminary) within the grade
    window (365 days), newest first, ties broken by status, ``issued`` and ``meta.lastUpdated``."""
    window = thresholds.echo_grade_window
    found = select(
        observations,
        ("echo-mr-grade",),
        now=now,
        window=window,
        need_time_of_day=False,
        report=report,
        statuses=ECHO_STATUSES,
    )
    return tuple(sorted(found, key=_order, reverse=True))


def _order(echo: Candidate) -> tuple[datetime, int, datetime, datetime]:
    meta = echo.resource.get("meta")
    updated = meta.get("lastUpdated") if isinstance(meta, Mapping) else None
    status = _STATUS_RANK.get(token(echo.resource.get("status")) or "", 0)
    return (echo.time.end, status, _instant(echo.resource.get("issued")), _instant(updated))


def _instant(raw: Any) -> datetime:
    try:
        return parse_time(raw).end if raw is not None else _EARLIEST
    except TimeProblem:
        return _EARLIEST


def _preliminary(echo: Candidate) -> bool:
    return token(echo.resource.get("status")) == "preliminary"


def _valid(echoes: Sequence[Candidate], report: Report) -> Iterator[Candidate]:
    """Newest first, validated one at a time (lazily: most charts stop at the first)."""
    return (e for e in echoes if report.valid(e.resource))


@dataclass(frozen=True)
class _Decision:
    echo: Candidate
    parsed: Parsed
    #: The newest echo, when it had no readable grade and ``echo`` is an older one.
    ungraded: Candidate | None = None

    @property
    def level(self) -> int:
        level = self.parsed.level
        return -1 if level is None else level


def _decide(
    echoes: Iterable[Candidate], fallback: timedelta, newest_read: Parsed | None = None
) -> _Decision | None:
    """The newest echo; if it has no readable grade, the newest readable one at most
    ``fallback`` before it. Two echoes tied on time, status and dates that read differently:
    not machine-readable (the Bundle's order never decides). ``newest_read``: the newest
    echo's grade, when already read."""
    ordered = list(echoes)
    if not ordered:
        return None
    newest, older = ordered[0], ordered[1:]
    parsed = newest_read if newest_read is not None else grade_of_observation(newest.resource)
    for twin in (e for e in older if _order(e) == _order(newest)):
        other = grade_of_observation(twin.resource)
        if parsed.readable and other.readable and _reading(other) != _reading(parsed):
            return _Decision(newest, Parsed(None, "disagrees with another echo recorded at the same time"))
    if parsed.readable:
        return _Decision(newest, parsed)
    for echo in older:
        if newest.time.end - echo.time.end > fallback:
            break
        found = grade_of_observation(echo.resource)
        if found.readable:
            return _Decision(echo, found, ungraded=newest)
    return _Decision(newest, parsed)


def _reading(parsed: Parsed) -> tuple[int | None, int | None, int | None]:
    return (parsed.grade, parsed.at_least, parsed.at_most)


def _range(parsed: Parsed) -> tuple[int, int] | None:
    if parsed.is_range and parsed.at_least is not None and parsed.at_most is not None:
        return (parsed.at_least, parsed.at_most)
    return None


def decide_echo(echoes: Sequence[Candidate], *, thresholds: Thresholds, report: Report) -> _Decision | None:
    """Which echo decides (docs/clinical-rules.md, MR grade): a preliminary echo may raise the
    grade, never lower it below what the final echoes alone say."""
    return decide_and_newest(echoes, thresholds=thresholds, report=report)[0]


def decide_and_newest(
    echoes: Sequence[Candidate], *, thresholds: Thresholds, report: Report
) -> tuple[_Decision | None, tuple[Candidate, Parsed] | None]:
    """``decide_echo`` and ``newest_echo`` together: the newest valid echo's grade is read
    once (1.7 us; a chart with an echo read it twice)."""
    fallback = thresholds.echo_fallback_window
    valid = list(_valid(echoes, report))
    if not valid:
        return None, None
    newest = (valid[0], grade_of_observation(valid[0].resource))
    chosen = _decide(valid, fallback, newest[1])
    rests_on_preliminary = chosen is not None and (
        _preliminary(chosen.echo) or (chosen.ungraded is not None and _preliminary(chosen.ungraded))
    )
    if chosen is None or not rests_on_preliminary:
        return chosen, newest
    finals = _decide((e for e in valid if not _preliminary(e)), fallback)
    if finals is not None and finals.level > chosen.level:
        return finals, newest
    return chosen, newest


def mr_grade(
    decision: _Decision | None,
    mr_conditions: tuple[ActiveCondition, ...],
    *,
    now: datetime,
    thresholds: Thresholds,
    unavailable: Missing | None,
) -> MRGrade:
    """The deciding echo's grade; else Condition.severity recorded within 365 days; else unknown."""
    window = thresholds.echo_grade_window
    if decision is not None:
        grade = _from_echo(decision, window_text=describe_window(window))
        # Found under another key while the echo search failed: a newer echo may exist.
        return grade if unavailable is None else replace(grade, missing=(*grade.missing, unavailable))
    if unavailable is not None:
        # Without the echo results the Condition's severity may be outdated: do not use it.
        return MRGrade(None, GradeSource.NONE, missing=(unavailable,))
    no_echo = f"no echo MR grade in the last {describe_window(window)}"
    return _from_condition(mr_conditions, no_echo, now=now, window=thresholds.problem_list_severity_window)


def mr_on_echo(
    decision: _Decision | None,
    grade: MRGrade,
    *,
    now: datetime,
    thresholds: Thresholds,
    unavailable: Missing | None,
) -> Fact:
    """The deciding echo, if within the window (30 days), shows MR 2+ or worse (docs/clinical-rules.md).

    A range counts by its lower bound (``3-4+`` is at least moderate); a grade that a
    later intervention superseded does not count.
    """
    window = thresholds.mr_on_echo_window
    latest = decision.echo if decision is not None else None
    try:
        inside = latest is not None and within(latest.time, now, window, need_time_of_day=False)
    except TimeProblem as problem:
        return Fact("mr_on_echo", Status.UNKNOWN, (), (f"latest echo MR grade: {problem}",))
    if decision is None or not inside:
        gap = unavailable or f"no echo MR grade in the last {describe_window(window)}"
        return Fact("mr_on_echo", Status.UNKNOWN if unavailable else Status.ABSENT, (), (gap,))
    parsed = decision.parsed
    level = parsed.grade if parsed.grade is not None else parsed.at_least
    note = f"echo MR grade within {describe_window(window)}: at least 2+ (moderate) counts"
    evidence = _echo_evidence(decision.echo, parsed, note)
    if grade.superseded_by:
        return Fact("mr_on_echo", Status.ABSENT, (), ("echo grade superseded by a later intervention",))
    if level is None:
        return Fact("mr_on_echo", Status.UNKNOWN, (), (f"echo grade {parsed.why_not}",), (evidence,))
    status = Status.PRESENT if level >= 2 else Status.ABSENT
    return Fact("mr_on_echo", status, (evidence,) if status is Status.PRESENT else ())


def newest_echo(echoes: Sequence[Candidate], report: Report) -> tuple[Candidate, Parsed] | None:
    """The newest valid echo MR-grade Observation and its grade, readable or not (two facts
    name it: read once)."""
    newest = next(_valid(echoes, report), None)
    return None if newest is None else (newest, grade_of_observation(newest.resource))


def mr_on_echo_any(newest: tuple[Candidate, Parsed] | None, unavailable: Missing | None) -> Fact:
    """MR was looked at on echo within 365 days (any echo MR-grade Observation, readable or
    not); ``newest``: from ``newest_echo``."""
    if newest is None:
        status = Status.UNKNOWN if unavailable else Status.ABSENT
        return Fact("mr_on_echo_any", status, (), (unavailable,) if unavailable else ())
    echo, parsed = newest
    return Fact("mr_on_echo_any", Status.PRESENT, (_echo_evidence(echo, parsed, "MR assessed on echo"),))


def superseded(grade: MRGrade, interventions: Iterable[Evidence], resolutions: Iterable[Evidence]) -> MRGrade:
    """The grade, superseded by any completed mitral intervention dated after the echo (or the
    problem-list entry) it came from; a resolution counts only when passed in (no MR active)."""
    if grade.source is GradeSource.NONE or not grade.evidence or grade.evidence[0].time is None:
        return grade
    since = grade.evidence[0].time
    later = tuple(ev for ev in (*interventions, *resolutions) if ev.time is not None and ev.time > since)
    return replace(grade, superseded_by=later) if later else grade


def recent_echo(
    newest: tuple[Candidate, Parsed] | None,
    procedures: Iterable[Evidence],
    *,
    now: datetime,
    thresholds: Thresholds,
) -> Fact:
    """An echo within ``echo_recent_days``: an echo MR-grade Observation (readable or not:
    ``newest_echo``) or an echocardiography Procedure (CPT 93306 and the like); the newest
    one is the evidence."""
    window = thresholds.echo_recent_window
    # A Procedure dated after ``now`` has not happened yet: it is no recent echo.
    found = [ev for ev in procedures if ev.time is not None and timedelta(0) <= now - ev.time <= window]
    if newest is not None and now - newest[0].time.end <= window:
        found.append(_echo_evidence(*newest, "echo within the window"))
    found.sort(key=lambda ev: ev.time or _EARLIEST, reverse=True)
    return Fact("recent_echo", Status.PRESENT if found else Status.ABSENT, tuple(found[:1]))


def echo_graded_recently(grade: MRGrade, *, now: datetime, thresholds: Thresholds) -> Fact:
    """A single MR grade (not a range: it still needs grading) comes from an echo within 24 h."""
    graded = grade.source is GradeSource.ECHO and grade.grade is not None and grade.evidence
    source = grade.evidence[0] if graded else None
    if source is None or source.time is None or now - source.time > thresholds.echo_graded_urgent_window:
        return Fact("echo_graded_recently", Status.ABSENT)
    return Fact("echo_graded_recently", Status.PRESENT, (source,))


def _echo_evidence(echo: Candidate, parsed: Parsed, note: str, *, status: str | None = None) -> Evidence:
    """An echo as evidence; ``status`` says how to word it: None (a grade), ``preliminary``,
    ``range``, ``range-preliminary``, ``unreadable`` or ``not-graded`` (an older echo decided)."""
    if status is None:
        kind = "range" if parsed.is_range else None if parsed.grade is not None else "unreadable"
        if _preliminary(echo) and kind != "unreadable":
            kind = f"{kind}-preliminary" if kind else "preliminary"
        status = kind
    return Evidence(
        "Observation",
        resource_id(echo.resource),
        echo.code.system,
        echo.code.code,
        echo.code.display,
        value=float(parsed.grade) if parsed.grade is not None else None,
        value_text=_grade_text(parsed) if parsed.readable else parsed.value_text,
        time=echo.time.start,
        note=note,
        what="echo-grade",
        status=status,
    )


def _from_echo(decision: _Decision, window_text: str) -> MRGrade:
    echo, parsed = decision.echo, decision.parsed
    preliminary = _preliminary(echo)
    label = " (preliminary)" if preliminary else ""
    extra: tuple[Evidence, ...] = ()
    if decision.ungraded is not None:
        newest = decision.ungraded
        why = grade_of_observation(newest.resource).why_not or "is not machine-readable"
        extra = (
            _echo_evidence(
                newest,
                Parsed(None),
                f"newest echo: grade {why}; the grade is taken from the echo before it",
                status="not-graded",
            ),
        )
    if not parsed.readable:
        # value_text is only a short grade-like string, never free text
        note = f"latest echo MR grade within {window_text}{label}: not machine-readable"
        why = f"echo grade {parsed.why_not}" if parsed.why_not else "echo grade is not machine-readable"
        evidence = _echo_evidence(echo, parsed, note)
        return MRGrade(
            None,
            GradeSource.ECHO,
            machine_readable=False,
            evidence=(evidence,),
            missing=(why,),
            preliminary=preliminary,
        )
    single = parsed.grade is not None
    shown = f"{parsed.grade}+" if single else f"{parsed.at_least}-{parsed.at_most}+ (a range)"
    evidence = _echo_evidence(echo, parsed, f"echo MR grade within {window_text}{label}: {shown}")
    return MRGrade(
        parsed.grade,
        GradeSource.ECHO,
        evidence=(evidence, *extra),
        grade_range=_range(parsed),
        preliminary=preliminary,
        fallback=decision.ungraded is not None,
    )


def _recorded(condition: ActiveCondition) -> datetime | None:
    """When the problem-list entry was recorded: recordedDate, else onset."""
    try:
        return parse_time(condition.resource.get("recordedDate")).start
    except TimeProblem:
        pass
    try:
        return onset_of(condition.resource).start
    except TimeProblem:
        return None


def _from_condition(
    mr_conditions: tuple[ActiveCondition, ...], no_echo: str, *, now: datetime, window: timedelta
) -> MRGrade:
    with_severity = [c for c in mr_conditions if c.resource.get("severity") is not None]
    graded = [c for c in with_severity if (t := _recorded(c)) is not None and t <= now and now - t <= window]
    if not graded:
        old = f"; MR Condition severity recorded more than {describe_window(window)} ago"
        why = f"{no_echo}{old}" if with_severity else f"{no_echo}, and no severity on an MR Condition"
        return MRGrade(None, GradeSource.NONE, missing=(why,))
    # The most recently recorded Condition speaks for the current severity.
    condition = max(graded, key=lambda c: _recorded(c) or _EARLIEST)
    parsed = grade_of_concept(condition.resource["severity"])
    base = replace(condition.evidence, time=_recorded(condition))
    if parsed.grade is None:
        why = f"{no_echo}; MR Condition severity {parsed.why_not}"
        return MRGrade(
            None,
            GradeSource.CONDITION,
            machine_readable=parsed.is_range,
            evidence=(base,),
            missing=(why,),
            grade_range=_range(parsed),
        )
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
    """'4+ (severe)' or '1-2+ (mild to moderate)', with the qualifier code it came from when coded."""
    coded = f", SNOMED {parsed.code[1]}" if parsed.code else ""
    if parsed.grade is not None:
        return f"{parsed.grade}+ ({grade_name(parsed.grade)}{coded})"
    low, high = parsed.at_least or 0, parsed.at_most or 0
    return f"{low}-{high}+ ({grade_name(low)} to {grade_name(high)}{coded})"
