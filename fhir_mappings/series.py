"""Time series: the NEWEST reading decides (docs/clinical-rules.md, section 'Time series').

Blood pressure and lactate are judged at the newest reading in their window, not by the
worst value and not by separate "latest" values per code. A reading is usable only with a
time of day and a zone, a known unit and a plausible value. When the newest reading is not
usable, an abnormal newest usable reading still decides; a normal one leaves the fact
unknown, and both readings are named. A reading below the plausible minimum is an artefact
unless a second reading from a separate Observation within the confirmation window is also
below it (peri-arrest pressures are real).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from fhir_mappings.elements import Resource, resource_id, token
from fhir_mappings.facts import Evidence, Status
from fhir_mappings.numbers import fmt
from fhir_mappings.observations import effective_time
from fhir_mappings.parse import Report
from fhir_mappings.statuses import report_status
from fhir_mappings.timing import TimeProblem, describe_window, instant
from fhir_mappings.valuesets import ValueSetCode, first_listed

COUNTED = frozenset({"final", "amended", "corrected"})
_KNOWN = COUNTED | {"registered", "preliminary", "unknown", "cancelled", "entered-in-error"}
_REPORTED = frozenset({"registered", "preliminary", "unknown", "cancelled", "entered-in-error"})
#: A dateTime without a zone lies somewhere within +-14 h of its clock time (UTC-12 to UTC+14).
_ZONE_SPREAD = timedelta(hours=14)

#: Why a reading is not usable, as keys ``hooks`` words for people.
NO_UNIT = "no-unit"
UNKNOWN_UNIT = "unit-not-recognised"
NO_TIME = "time-unknown"
ARTEFACT = "artefact"
IMPOSSIBLE = "systolic-not-above-diastolic"
BOUND = "bound-does-not-decide"
NO_VALUE = "no-value"
#: Trail words for the same keys (``--explain`` and the "Not assessed" line).
PROBLEM_WORDS: Mapping[str, str] = {
    NO_UNIT: "has no unit",
    UNKNOWN_UNIT: "has a unit that is not recognised",
    NO_TIME: "was recorded without a time of day or zone",
    ARTEFACT: "looks like an artefact",
    IMPOSSIBLE: "has a systolic not above the diastolic",
    BOUND: "is a bound that does not decide",
    NO_VALUE: "has no usable value",
}


@dataclass(frozen=True)
class Timed:
    """A counted Observation coded in the series' value sets, with when it may have been taken."""

    resource: Resource
    code: ValueSetCode
    start: datetime
    #: The latest moment it may have been taken (its own time for a precise instant).
    latest: datetime
    precise: bool
    #: The time as recorded, for people: the instant, the date, or the clock time without
    #: its zone read as UTC (``start`` and ``latest`` bracket it).
    nominal: datetime


@dataclass(frozen=True)
class Point:
    """One reading of a series (a standalone Observation or a component of a panel)."""

    what: str  # "sbp", "map", "lactate"
    label: str  # "SBP", "MAP", "lactate"
    timed: Timed
    code: ValueSetCode
    #: In the series' unit (mm[Hg], mmol/L); a converted or computed value is rounded as written.
    value: float | None
    unit: str | None
    problem: str | None = None
    #: Below the plausible minimum: an artefact unless confirmed by a second reading.
    low: bool = False
    computed: bool = False
    confirmed: bool = False
    #: A bound such as ``>15``: the value is the bound.
    comparator: str | None = None
    #: What was recorded, when it differs from ``value`` ("10.4 kPa").
    recorded: str | None = None

    @property
    def usable(self) -> bool:
        return self.why is None

    @property
    def why(self) -> str | None:
        """Why the reading cannot be used (a reason key), or None."""
        if self.problem is None and not self.timed.precise:
            return NO_TIME
        return self.problem

    @property
    def resource(self) -> Resource:
        return self.timed.resource

    def evidence(self, note: str) -> Evidence:
        display = self.code.display + (" (computed from SBP and DBP of the panel)" if self.computed else "")
        status = "computed" if self.computed else "confirmed" if self.confirmed else None
        if not self.timed.precise:
            status = NO_TIME
        bound = self.comparator and self.value is not None
        value_text = f"{self.comparator}{fmt(self.value or 0)}" if bound else None
        return Evidence(
            "Observation",
            resource_id(self.resource),
            self.code.system,
            self.code.code,
            display,
            value=self.value,
            unit=self.unit,
            value_text=value_text,
            time=self.timed.nominal,
            note=note,
            what=self.what,
            status=status,
            reason=self.why,
        )


@dataclass(frozen=True)
class Verdict:
    """What the series says: PRESENT / ABSENT / UNKNOWN, with the readings behind it."""

    status: Status
    #: The newest usable readings (one moment); they decide unless newer readings are unusable.
    deciding: tuple[Point, ...] = ()
    #: Readings newer than ``deciding`` that could not be used, newest first.
    newer_unusable: tuple[Point, ...] = ()


def timed(
    resources: Iterable[Resource],
    value_set_ids: tuple[str, ...],
    *,
    now: datetime,
    window: timedelta,
    report: Report,
) -> tuple[Timed, ...]:
    """Counted Observations coded in the value sets that may lie in the window, newest first.

    Unlike the other facts, a reading without a usable time is kept (as imprecise): it may be
    the newest reading, and then it has to be named rather than silently skipped.
    """
    match = first_listed(value_set_ids)
    earliest = now - window
    outside = f": outside the {describe_window(window)} window"
    found: list[Timed] = []
    # Runs once per reading of a long stay (hundreds, most outside the window): plain loops,
    # no generators, and an instant placed in time without ``_span``.
    for resource in resources:
        hit = match(resource.get("code"))
        if hit is None:
            continue
        status = token(resource.get("status"))
        if status not in COUNTED:
            report_status(resource, status, known=_KNOWN, reported=_REPORTED, report=report)
            continue
        raw = resource.get("effectiveDateTime")
        if type(raw) is str and (moment := instant(raw)) is not None:
            start = latest = nominal = moment
            precise = True
        else:
            span = _span(resource)
            if span is None:
                report.note(resource, f"{hit.display}: no usable effective time")
                continue
            start, latest, precise, nominal = span
        if start > now:
            report.note(resource, f"{hit.display}: effective time is after the evaluation time")
            continue
        if min(latest, now) < earliest:
            report.note(resource, hit.display + outside, routine=True)
            continue
        if not precise:
            report.note(resource, f"{hit.display}: time of day or zone not recorded, not used")
        found.append(Timed(resource, hit, start, min(latest, now), precise, nominal))
    return tuple(sorted(found, key=lambda t: t.latest, reverse=True))


def _span(resource: Resource) -> tuple[datetime, datetime, bool, datetime] | None:
    """(earliest, latest, precise, as recorded) for the effective time; None without one."""
    raw = resource.get("effectiveDateTime")  # read first by ``effective_time``
    if type(raw) is str and (moment := instant(raw)) is not None:
        return moment, moment, True, moment  # nearly every reading: no FhirTime built
    try:
        time = effective_time(resource)
    except TimeProblem as problem:
        if "zone" not in str(problem):
            return None
        naive = _naive(resource)
        if naive is None:
            return None
        try:
            return naive - _ZONE_SPREAD, naive + _ZONE_SPREAD, False, naive
        except OverflowError:
            # Within 14 h of year 1 or 9999 the zone's spread leaves the calendar: no
            # usable time (the reading is named as such, never read for its value).
            return None
    start = time.start
    if time.precision == "instant":  # nearly every reading
        return start, start, True, start
    return start, time.end, time.precise, start


def _naive(resource: Resource) -> datetime | None:
    """A dateTime with a clock time and no zone, read as UTC (then spread by +-14 h)."""
    for name in ("effectiveDateTime", "effectiveInstant"):
        raw = resource.get(name)
        if isinstance(raw, str):
            try:
                return datetime.fromisoformat(raw).replace(tzinfo=UTC)
            except ValueError:
                return None
    period = resource.get("effectivePeriod")
    if isinstance(period, Mapping):
        raw = period.get("end") or period.get("start")
        if isinstance(raw, str):
            try:
                return datetime.fromisoformat(raw).replace(tzinfo=UTC)
            except ValueError:
                return None
    return None


def confirm_low(points: Iterable[Point], window: timedelta) -> tuple[Point, ...]:
    """A reading below the plausible minimum confirmed by another Observation's reading of the
    same kind, within ``window`` and also below the minimum, is real: both become usable."""
    listed = tuple(points)
    low = [p for p in listed if p.low and p.timed.precise]
    out = []
    for point in listed:
        if point.low and point.timed.precise:
            partner = any(
                other.resource is not point.resource
                and other.what == point.what
                and abs(other.timed.start - point.timed.start) <= window
                for other in low
            )
            if partner:
                point = replace(point, problem=None, confirmed=True)
        out.append(point)
    return tuple(out)


def judge(points: Iterable[Point], abnormal: Callable[[Point], bool]) -> Verdict:
    """The newest reading decides; see the module docstring for unusable newest readings."""
    listed = sorted(points, key=lambda p: p.timed.latest, reverse=True)
    usable = [p for p in listed if p.usable]
    if not usable:
        return Verdict(Status.UNKNOWN, (), tuple(listed))
    moment = usable[0].timed.start
    deciding = tuple(p for p in usable if p.timed.start == moment)
    newer = tuple(p for p in listed if not p.usable and p.timed.latest > moment)
    hit = any(abnormal(p) for p in deciding)
    if hit:
        return Verdict(Status.PRESENT, deciding, newer)
    return Verdict(Status.UNKNOWN if newer else Status.ABSENT, deciding, newer)


def clock(point: Point) -> str:
    """When a reading was taken, for the trail: "at 10:05 UTC", or "of 9 Mar" without a time."""
    if point.timed.precise:
        return point.timed.start.astimezone(UTC).strftime("at %H:%M UTC")
    recorded = point.timed.nominal
    return f"of {recorded.day} {recorded.strftime('%b')}"


def described(point: Point, unit_words: Mapping[str, str]) -> str:
    """ "SBP 0 mmHg at 10:05 UTC" (no patient identifiers, only the reading)."""
    if point.value is None:
        return f"{point.label} {clock(point)}"
    unit = unit_words.get(point.unit or "", point.unit or "")
    value = f"{point.comparator or ''}{fmt(point.value, point.unit)}"
    return f"{point.label} {value} {unit}".rstrip() + f" {clock(point)}"


def unknown_reason(verdict: Verdict, unit_words: Mapping[str, str]) -> str:
    """Why the series leaves the fact unknown, naming the readings ("latest SBP 78 at 10:05
    UTC has no unit; SBP 118 mmHg at 09:00 UTC: check")."""
    newest = verdict.newer_unusable[0]
    why = PROBLEM_WORDS.get(newest.why or "", "is not usable")
    text = f"latest {described(newest, unit_words)} {why}"
    if verdict.deciding:
        text += "; " + ", ".join(described(p, unit_words) for p in verdict.deciding)
    return text + ": check"


def problem_key(problem: str) -> str:
    """The reason key for a ``UnitProblem`` message."""
    if problem == "no unit":
        return NO_UNIT
    if problem.startswith("unit"):
        return UNKNOWN_UNIT
    return NO_VALUE


def raw_value(quantity: object) -> float | None:
    """The number recorded in a Quantity, shown beside why it was not used."""
    raw = quantity.get("value") if isinstance(quantity, Mapping) else None
    return float(raw) if isinstance(raw, int | float) and not isinstance(raw, bool) else None
