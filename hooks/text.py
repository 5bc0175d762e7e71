"""Words for facts: times, values, evidence lines, in Markdown (cards) or plain text (CLI).

Text that comes from the chart or the mapping (displays, ids, notes) is escaped for
Markdown and can never open an HTML tag: EHRs such as the CDS Hooks sandbox render card
detail with raw HTML enabled.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from fhir_mappings.facts import Evidence

_MD_SPECIAL = re.compile(r"([\\`*_\[\]#|~])")
#: "<" followed by what could start an HTML tag, comment or declaration.
_TAG_START = re.compile(r"<(?=[A-Za-z/!?])")
_MAX_TEXT = 160


def collapse(text: str, limit: int = _MAX_TEXT) -> str:
    """One line, at most ``limit`` characters (chart text can be arbitrarily long)."""
    one_line = " ".join(str(text).split())
    return one_line if len(one_line) <= limit else one_line[: limit - 3].rstrip() + "..."


_MD_ANY = re.compile(r"[\\`*_\[\]#|~<>]")


def plain(text: str, limit: int = _MAX_TEXT) -> str:
    """Our own words for a card: one line, Markdown and HTML characters dropped, not escaped
    (an escape shows up as a backslash where the EHR renders plain text)."""
    return _MD_ANY.sub("", collapse(text, limit))


def md_escape(text: str) -> str:
    """Chart-derived text as literal Markdown: no emphasis, links, code or HTML."""
    escaped = _MD_SPECIAL.sub(r"\\\1", collapse(text))
    return _TAG_START.sub("&lt;", escaped)


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


def ago(moment: datetime, now: datetime) -> str:
    """How long before ``now``, as people say it: "45 min ago", "3 h ago", "2 days ago"."""
    try:
        seconds = (utc(now) - utc(moment)).total_seconds()
    except OverflowError:
        return fmt_time(moment)
    if seconds < 0:
        return "later than now"
    if seconds < 3600:
        return f"{max(1, round(seconds / 60))} min ago"
    if seconds < 48 * 3600:
        return f"{round(seconds / 3600)} h ago"
    return f"{round(seconds / 86400)} days ago"


def fmt_number(value: float) -> str:
    """A measured value as recorded: no rounding to fewer than six significant digits."""
    if not math.isfinite(value):
        return str(value)
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.6g}"


def fmt_unit(unit: str | None, units: Mapping[str, str]) -> str:
    """The unit for people (``mm[Hg]`` -> ``mmHg``); unknown units are shown as recorded."""
    if unit is None:
        return ""
    return units.get(unit, unit)


@dataclass(frozen=True)
class Style:
    """How chart text and references are written: Markdown for cards, plain for the CLI."""

    esc: Callable[[str], str]
    ref: Callable[[str], str]
    bold: Callable[[str], str]


#: FHIR ids are ``[A-Za-z0-9\-\.]{1,64}``; anything else in a reference is replaced.
_NOT_REFERENCE = re.compile(r"[^A-Za-z0-9\-./]")


def _code_span(reference: str) -> str:
    return "`" + collapse(_NOT_REFERENCE.sub("?", reference), 100) + "`"


MARKDOWN = Style(esc=md_escape, ref=_code_span, bold=lambda s: f"**{s}**")
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
        return f"{fmt_number(ev.value)} {unit}".strip()
    return ev.value_text or ""


def join_limited(items: Iterable[str], limit: int, more: str) -> list[str]:
    """The first ``limit`` items, then one "and N more" item."""
    listed = list(items)
    if len(listed) <= limit:
        return listed
    return [*listed[:limit], more.format(count=len(listed) - limit)]


def unique(items: Iterable[str]) -> tuple[str, ...]:
    """Items without repeats, in first-seen order."""
    return tuple(dict.fromkeys(items))
