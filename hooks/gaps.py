"""What could not be assessed, in clinical words ("medication list could not be read").

``fhir_mappings`` hands over gaps as data (``Gap``: source, reason, parameters); the words
come from ``guideline.json`` (``gap_sources``, ``gap_reasons``). A card never names
servers, allowlists, prefetch or OperationOutcome codes: those parameters go only to the
``--explain`` trail. A plain string (a fact module not yet giving a ``Gap``) is said as
written, as before.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fhir_mappings.gaps import Gap, Missing
from hooks.guideline import Guideline
from hooks.text import unique


def source_words(source: str, g: Guideline) -> str:
    """``medication-requests`` -> "medication list"; an unknown key as plain words."""
    return g.gap_sources.get(source, source.replace("-", " "))


def said(gap: Gap, g: Guideline, *, part: bool = True) -> str:
    """One gap in clinical words: "renal: laboratory results could not be read"."""
    return _with_part(gap.part if part else "", _reason(gap.reason, [gap.source], g), g)


def trail(missing: Missing, g: Guideline) -> str:
    """For ``--explain``: the clinical words, then the technical detail in brackets."""
    if not isinstance(missing, Gap):
        return missing
    detail = "; ".join(f"{v}" if k == "detail" else f"{k} {v}" for k, v in missing.parameters)
    return said(missing, g) + (f" ({detail})" if detail else "")


def as_json(missing: Missing) -> Any:
    """A gap as data (a plain string stays a string)."""
    if not isinstance(missing, Gap):
        return missing
    return {
        "source": missing.source,
        "reason": missing.reason,
        "parameters": dict(missing.parameters),
        **({"part": missing.part} if missing.part else {}),
    }


def grouped(items: Iterable[Missing], g: Guideline, *, part: bool = True) -> str:
    """Gaps sharing a reason said once: "procedures, devices and device records could not be
    read"; plain strings sharing the text after ": " alike ("renal, hepatic: ...")."""
    groups: dict[tuple[str, str, str], list[str]] = {}
    for item in items:
        if isinstance(item, Gap):
            key = ("gap", item.part if part else "", item.reason)
            groups.setdefault(key, []).append(item.source)
        else:
            what, sep, reason = item.partition(": ")
            key = ("text", "", reason if sep else item)
            groups.setdefault(key, []).append(what if sep else "")
    out = []
    for (kind, where, reason), members in groups.items():
        if kind == "gap":
            out.append(_with_part(where, _reason(reason, members, g), g))
        else:
            named = [m for m in unique(members) if m]
            out.append(f"{', '.join(named)}: {reason}" if named else reason)
    return ", ".join(unique(out))


def _reason(reason: str, sources: Iterable[str], g: Guideline) -> str:
    template = g.gap_reasons.get(reason, g.gap_reasons["default"])
    return template.format(sources=_and([source_words(s, g) for s in unique(sources)]))


def _with_part(part: str, text: str, g: Guideline) -> str:
    return f"{g.organs.get(part, part)}: {text}" if part else text


def _and(words: list[str]) -> str:
    """ "a", "a and b", "a, b and c"."""
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"
