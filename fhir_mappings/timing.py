"""FHIR date/dateTime values and look-back windows, relative to a ``now`` passed in.

A FHIR dateTime may be a year, a month, a day or an instant. Hour windows (vitals, labs)
need a time of day; day windows (echo grade, acute triggers, support procedures) accept a
day, which counts as within the window when any part of that day is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_PARTIAL = re.compile(r"^\d{4}(-\d{2})?$")


@dataclass(frozen=True)
class FhirTime:
    """A point (``precise``) or a whole day, in UTC."""

    start: datetime
    precise: bool

    @property
    def end(self) -> datetime:
        """The last moment the value may denote (the day's end for a date)."""
        return self.start if self.precise else self.start + timedelta(days=1)


class TimeProblem(ValueError):
    """The value is not a usable point in time; the message says why (no patient data)."""


def parse_time(raw: Any) -> FhirTime:
    """Parse a FHIR date/dateTime/instant string; raise TimeProblem when not usable."""
    if not isinstance(raw, str):
        raise TimeProblem("no time")
    if _PARTIAL.match(raw):
        raise TimeProblem("time is only a year or a month")
    if _DAY.match(raw):
        try:
            day = date.fromisoformat(raw)
        except ValueError:
            raise TimeProblem("time is not a valid date") from None
        return FhirTime(datetime(day.year, day.month, day.day, tzinfo=UTC), precise=False)
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        raise TimeProblem("time is not a valid FHIR dateTime") from None
    if parsed.tzinfo is None:
        # FHIR requires a zone with a time of day; guessing one could shift a value in or out of a window.
        raise TimeProblem("time of day has no time zone")
    return FhirTime(parsed.astimezone(UTC), precise=True)


def within(time: FhirTime, now: datetime, window: timedelta, *, need_time_of_day: bool) -> bool:
    """True when ``time`` lies in [now - window, now]; a day counts if it overlaps."""
    if need_time_of_day and not time.precise:
        return False
    return time.end >= now - window and time.start <= now


def describe_window(window: timedelta) -> str:
    """'24 h' or '365 days', as said in notes and reasons."""
    hours = window.total_seconds() / 3600
    if hours < 72 or hours % 24:
        return f"{hours:g} h"
    return f"{hours / 24:g} days"
