"""Value sets as data: one JSON file per value-set id under ``valuesets/``, loaded once.

Matching is on (system, code) only, never on display text: a value set here is exactly
the codes listed (no terminology server, so no SNOMED descendants).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache, cached_property
from importlib import resources
from typing import Any


@dataclass(frozen=True)
class ValueSetCode:
    system: str
    code: str
    display: str
    source: str
    strength: str


@dataclass(frozen=True)
class ValueSet:
    id: str
    title: str
    codes: tuple[ValueSetCode, ...]

    @cached_property  # value sets are loaded once; their keys are asked for on every call
    def keys(self) -> frozenset[tuple[str, str]]:
        return frozenset((c.system, c.code) for c in self.codes)

    def match(self, codings: Iterable[Mapping[str, Any]]) -> ValueSetCode | None:
        """Return the first listed code among ``codings`` (FHIR Coding dicts), else None."""
        index = _index(self.id)
        for coding in codings:
            if type(coding) is not dict and not isinstance(coding, Mapping):
                continue  # (plain dicts first: the same answer without the slower ABC test)
            system, code = coding.get("system"), coding.get("code")
            if not isinstance(system, str) or not isinstance(code, str):
                continue
            hit = index.get((system, code))
            if hit is not None:
                return hit
        return None


@cache
def all_value_sets() -> Mapping[str, ValueSet]:
    """Every value set shipped with the package, keyed by id."""
    folder = resources.files("fhir_mappings").joinpath("valuesets")
    found: dict[str, ValueSet] = {}
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".json"):
            continue
        doc = json.loads(entry.read_text(encoding="utf-8"))
        codes = tuple(
            ValueSetCode(c["system"], c["code"], c["display"], c["source"], c.get("strength", ""))
            for c in doc["codes"]
        )
        found[doc["id"]] = ValueSet(doc["id"], doc["title"], codes)
    return found


def value_set(value_set_id: str) -> ValueSet:
    """The value set with this id; KeyError names it when unknown."""
    try:
        return all_value_sets()[value_set_id]
    except KeyError:
        raise KeyError(f"unknown value set {value_set_id!r}") from None


@cache
def _index(value_set_id: str) -> Mapping[tuple[str, str], ValueSetCode]:
    return {(c.system, c.code): c for c in value_set(value_set_id).codes}


@cache
def _membership() -> Mapping[tuple[str, str], frozenset[str]]:
    found: dict[tuple[str, str], set[str]] = {}
    for vs in all_value_sets().values():
        for c in vs.codes:
            found.setdefault((c.system, c.code), set()).add(vs.id)
    return {key: frozenset(ids) for key, ids in found.items()}


def value_sets_of(codings: Iterable[Mapping[str, Any]]) -> frozenset[str]:
    """Ids of every value set listing one of ``codings`` (for one cheap pass over a chart)."""
    index = _membership()
    found: set[str] = set()
    for coding in codings:
        key = (coding.get("system"), coding.get("code"))
        if isinstance(key[0], str) and isinstance(key[1], str):
            found |= index.get((key[0], key[1]), frozenset())
    return frozenset(found)
