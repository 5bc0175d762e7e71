"""FHIR date/dateTime values and look-back windows, relative to a ``now`` passed in.

A FHIR dateTime may be a year, a month, a day or an instant. Hour windows (vitals, labs)
need an instant. In day windows (echo grade, acute triggers, support procedures) a day
counts when any part of it is in the window; a month or a year counts only when it lies
wholly inside, is outside when wholly outside, and otherwise cannot be decided.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cache
from typing import Any

from fhir_mappings.dict_init import dict_init

_YEAR = re.compile(r"^\d{4}$")
_MONTH = re.compile(r"^\d{4}-\d{2}$")
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
#: No longer string can match a pattern above ("$" also matches before a final newline).
_LONGEST_DATE = len("2026-11-20\n")


class TimeProblem(ValueError):
    """The value is not a usable point in time; the message says why (no patient data)."""


@dict_init
@dataclass(frozen=True)
class FhirTime:
    """The start of what a FHIR date/dateTime denotes (UTC), and its precision."""

    start: datetime
    precision: str = "instant"  # "instant", "day", "month" or "year"

    @property
    def precise(self) -> bool:
        return self.precision == "instant"

    @property
    def end(self) -> datetime:
        """Where the period the value denotes ends (the value itself for an instant)."""
        if self.precision == "instant":  # nearly every reading: asked once per reading
            return self.start
        try:
            if self.precision == "day":
                return self.start + timedelta(days=1)
            if self.precision == "month":
                year, month = divmod(self.start.month, 12)
                return self.start.replace(year=self.start.year + year, month=month + 1)
            if self.precision == "year":
                return self.start.replace(year=self.start.year + 1)
        except (OverflowError, ValueError):
            return datetime.max.replace(tzinfo=UTC)  # the year 9999 ends at the end of time
        return self.start


def instant(raw: str) -> datetime | None:
    """The moment (UTC) of a dateTime with a time of day and a zone, as ``parse_time`` reads
    it; None for anything else (``parse_time`` then says what it is, or what is wrong).

    Nearly every reading of a long stay is such a dateTime: this is its path, without the
    date patterns and without a ``FhirTime`` for a reading only placed in time."""
    if len(raw) <= _LONGEST_DATE:
        return None
    try:
        parsed = datetime.fromisoformat(raw)
        if parsed.tzinfo is UTC:
            return parsed  # what astimezone(UTC) returns for it ("Z", "+00:00")
        return parsed.astimezone(UTC) if parsed.tzinfo is not None else None
    except (ValueError, OverflowError):
        return None


def parse_time(raw: Any) -> FhirTime:
    """Parse a FHIR date/dateTime/instant string; raise TimeProblem when not usable."""
    if not isinstance(raw, str):
        raise TimeProblem("no time")
    moment = instant(raw)
    if moment is not None:
        return FhirTime(moment, "instant")
    try:
        if len(raw) > _LONGEST_DATE:
            parsed = datetime.fromisoformat(raw)  # (not an instant: ``instant`` said None)
        elif _YEAR.match(raw):
            return FhirTime(datetime(int(raw), 1, 1, tzinfo=UTC), "year")
        elif _MONTH.match(raw):
            return FhirTime(datetime(int(raw[:4]), int(raw[5:]), 1, tzinfo=UTC), "month")
        elif _DAY.match(raw):
            day = date.fromisoformat(raw)
            return FhirTime(datetime(day.year, day.month, day.day, tzinfo=UTC), "day")
        else:
            parsed = datetime.fromisoformat(raw)
    except ValueError:
        raise TimeProblem("time is not a valid FHIR date or dateTime") from None
    if parsed.tzinfo is None:
        # FHIR requires a zone with a time of day; guessing one could shift a value in or out of a window.
        raise TimeProblem("time of day has no time zone")
    try:
        return FhirTime(parsed.astimezone(UTC), "instant")
    except OverflowError:
        raise TimeProblem("time is out of range") from None


def start_day(raw: Any) -> date:
    """``parse_time(raw).start.date()``, TimeProblem alike; a full date (a birthDate, read
    on every call) is read as ``parse_time`` reads it, without its ``FhirTime``."""
    if type(raw) is str and _DAY.match(raw):
        try:
            return date.fromisoformat(raw)
        except ValueError:
            raise TimeProblem("time is not a valid FHIR date or dateTime") from None
    return parse_time(raw).start.date()


def within(time: FhirTime, now: datetime, window: timedelta, *, need_time_of_day: bool) -> bool:
    """True when ``time`` lies in [now - window, now] (never when it starts after ``now``);
    TimeProblem when that cannot be told."""
    if need_time_of_day and not time.precise:
        return False
    earliest = now - window
    if time.precision in ("instant", "day"):
        return time.end >= earliest and time.start <= now
    # A month or a year: the event happened at some unknown point of it, not after now.
    latest = min(time.end, now)
    if time.start > now or latest < earliest:
        return False
    if time.start >= earliest:
        return True
    raise TimeProblem(
        f"time is only a {time.precision}: cannot tell whether it is within {describe_window(window)}"
    )


@cache  # said once per Observation outside its window: hundreds of times per chart
def describe_window(window: timedelta) -> str:
    """'24 h' or '365 days', as said in notes and reasons."""
    hours = window.total_seconds() / 3600
    if hours < 72 or hours % 24:
        return f"{hours:g} h"
    return f"{hours / 24:g} days"
