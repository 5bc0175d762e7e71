"""Words for facts: times, values and the plain-text trail lines of ``--explain``.

Text on a card passes ``plain``: Markdown and HTML characters are dropped (not escaped, so
no backslash shows where an EHR renders plain text), and nothing can open an HTML tag:
EHRs such as the CDS Hooks sandbox render card detail with raw HTML enabled.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache

from fhir_mappings.facts import Evidence
from fhir_mappings.numbers import fmt

_MAX_TEXT = 160


def collapse(text: str, limit: int = _MAX_TEXT) -> str:
    """One line, at most ``limit`` characters (chart text can be arbitrarily long)."""
    one_line = " ".join(str(text).split())
    return one_line if len(one_line) <= limit else one_line[: limit - 3].rstrip() + "..."


_MD_ANY = re.compile(r"[\\`*_\[\]#|~]")
#: "<" where it could open an HTML tag, comment or declaration; "<1.5" and ">15" stay.
_TAG_START = re.compile(r"<(?=[A-Za-z/!?])")


def plain(text: str, limit: int = _MAX_TEXT) -> str:
    """Our own words for a card: one line, Markdown and HTML characters dropped, not escaped
    (an escape shows up as a backslash where the EHR renders plain text)."""
    return _plain(text, limit)


@lru_cache(maxsize=1024)
def _plain(text: str, limit: int) -> str:
    """``plain``, kept: a card's lines repeat call after call (the same chart, the same gaps),
    ~1 us to make plain against ~0.15 us to look up."""
    return _TAG_START.sub("", _MD_ANY.sub("", collapse(text, limit)))


def fmt_time(value: datetime | None) -> str:
    """ISO-8601 in UTC to the minute, e.g. ``2026-01-15 10:30 UTC`` (naive means UTC)."""
    if value is None:
        return ""
    try:
        moment = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except (OverflowError, ValueError):
        return value.isoformat()
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def utc(moment: datetime) -> datetime:
    """An aware instant (naive means UTC), so that any two can be compared."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


#: Beyond this many days a time is a month and year ("March 2022"), never "N days ago".
MAX_DAYS_AGO = 30


def ago(moment: datetime, now: datetime) -> str:
    """How long before ``now``, as people say it: "45 min ago", "3 h ago", "2 days ago";
    older than 30 days, the month and year ("March 2022")."""
    seconds = _seconds_before(moment, now)
    if seconds is None:
        return fmt_time(moment)
    if seconds < 0:
        return "later than now"
    if seconds > MAX_DAYS_AGO * 86400:
        return month_year(moment)
    return f"{_span(seconds)} ago"


def duration(since: datetime, now: datetime) -> str:
    """How long something has been going on: "for 40 min", "for 5 h", "for 3 days";
    begun more than 30 days ago, "since March 2022"."""
    seconds = _seconds_before(since, now)
    if seconds is None or seconds < 0:
        return ""
    if seconds > MAX_DAYS_AGO * 86400:
        return f"since {month_year(since)}"
    return f"for {_span(seconds)}"


def month_year(moment: datetime) -> str:
    """ "March 2022" (English month names, whatever the machine's locale)."""
    month = utc(moment).astimezone(UTC)
    return f"{_MONTHS[month.month - 1]} {month.year}"


_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def _seconds_before(moment: datetime, now: datetime) -> float | None:
    try:
        return (utc(now) - utc(moment)).total_seconds()
    except OverflowError:
        return None


def _span(seconds: float) -> str:
    """ "45 min", "3 h", "2 days" (whole units, as a clinician says them)."""
    if seconds < 3600:
        return f"{max(1, round(seconds / 60))} min"
    if seconds < 48 * 3600:
        return f"{round(seconds / 3600)} h"
    return f"{min(MAX_DAYS_AGO, round(seconds / 86400))} days"


def on_day(moment: datetime, now: datetime) -> str:
    """A day as people write it: "9 Mar", with the year when it is not ``now``'s ("9 Mar 2025")."""
    day, here = utc(moment).astimezone(UTC), utc(now).astimezone(UTC)
    text = f"{day.day} {day.strftime('%b')}"
    return text if day.year == here.year else f"{text} {day.year}"


def fmt_unit(unit: str | None, units: Mapping[str, str]) -> str:
    """The unit for people (``mm[Hg]`` -> ``mmHg``); unknown units are shown as recorded."""
    if unit is None:
        return ""
    return units.get(unit, unit)


@dataclass(frozen=True)
class Style:
    """How chart text and references are written in the plain-text trail."""

    esc: Callable[[str], str]
    ref: Callable[[str], str]
    bold: Callable[[str], str]


PLAIN = Style(esc=collapse, ref=lambda r: collapse(r, 100), bold=lambda s: s)


def describe(ev: Evidence, units: Mapping[str, str], style: Style) -> str:
    """One evidence line: what, value, the rule it met, reference and time."""
    what = ev.display or ev.code or ev.resource_type
    text = style.esc(what)
    value = _value(ev, units)
    if value:
        text += f": {style.esc(value)}"
    if ev.note:
        text += f" ({style.esc(ev.note)})"
    text += f"; {style.ref(ev.reference)}"
    when = fmt_time(ev.time)
    if when:
        text += f", {when}"
    return text


def _value(ev: Evidence, units: Mapping[str, str]) -> str:
    if ev.value is not None:
        unit = fmt_unit(ev.unit, units)
        return f"{fmt(ev.value, ev.unit)} {unit}".strip()
    return ev.value_text or ""


def first(items: Iterable[str], limit: int) -> list[str]:
    """The first ``limit`` items: a card never says "and N more" (the rest is in ``--explain``)."""
    return list(items)[:limit]


def unique(items: Iterable[str]) -> tuple[str, ...]:
    """Items without repeats, in first-seen order."""
    return tuple(dict.fromkeys(items))
