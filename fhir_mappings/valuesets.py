"""Value sets as data: one JSON file per value-set id under ``valuesets/``, loaded once.

Matching is on (system, code) only, never on display text: a value set here is exactly
the codes listed (no terminology server, so no SNOMED descendants).

A site adds its own codes (WHO ICD-10, ICD-10-GM, local lab codes) without editing these
files: a folder of files in the same format (``MRCDS_VALUESETS_DIR``), each naming a
shipped value set by ``id``, whose codes are added to it (``load_site_codes``,
``use_site_codes``). A site code is marked with the file it came from.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from functools import cache, cached_property
from importlib import resources
from pathlib import Path
from typing import Any

from fhir_mappings.elements import codings


@dataclass(frozen=True)
class ValueSetCode:
    system: str
    code: str
    display: str
    source: str
    strength: str
    #: The site file (``MRCDS_VALUESETS_DIR``) this code was added by; empty when shipped.
    site_file: str = ""


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
def shipped_value_sets() -> Mapping[str, ValueSet]:
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


@cache
def all_value_sets() -> Mapping[str, ValueSet]:
    """Every value set in use, keyed by id: the shipped ones with the active site codes."""
    site = _active.site
    if site is None:
        return shipped_value_sets()
    return {
        vs_id: replace(vs, codes=vs.codes + site.added.get(vs_id, ()))
        for vs_id, vs in shipped_value_sets().items()
    }


def value_set(value_set_id: str) -> ValueSet:
    """The value set with this id; KeyError names it when unknown."""
    try:
        return all_value_sets()[value_set_id]
    except KeyError:
        raise KeyError(f"unknown value set {value_set_id!r}") from None


@cache
def _index(value_set_id: str) -> Mapping[tuple[str, str], ValueSetCode]:
    return {(c.system, c.code): c for c in value_set(value_set_id).codes}


def first_listed(value_set_ids: tuple[str, ...]) -> Callable[[Any], ValueSetCode | None]:
    """For a ``code`` (a CodeableConcept): the code the first of the value sets to list one
    of its codings lists first, as ``codings`` then ``ValueSet.match`` set by set find it.

    For the series of a long stay, asked of every reading: the usual concept, one coding
    with a string system and code, is one lookup in a table of the sets' codes (the first
    set listing a code wins it, as the sets are asked in order); anything else goes the
    long way. Kept per tuple of ids with the site codes it was built under (asked three
    times a call on a small chart, 0.85 us each to build; site codes may change the sets
    between calls: then it is built again).
    """
    site = _active.site
    kept = _FIRST_LISTED.get(value_set_ids)
    if kept is not None and kept[0] is site:
        return kept[1]
    match = _first_listed(value_set_ids)
    if len(_FIRST_LISTED) >= _FIRST_LISTED_KEPT:
        _FIRST_LISTED.clear()
    _FIRST_LISTED[value_set_ids] = (site, match)
    return match


#: Tuple of value-set ids -> (the site codes in use when built, ``first_listed``'s match).
_FIRST_LISTED: dict[tuple[str, ...], tuple[object, Callable[[Any], ValueSetCode | None]]] = {}
_FIRST_LISTED_KEPT = 128


def _first_listed(value_set_ids: tuple[str, ...]) -> Callable[[Any], ValueSetCode | None]:
    sets = tuple(value_set(v) for v in value_set_ids)
    table: dict[tuple[str, str], ValueSetCode] = {}
    for vs in reversed(sets):
        table.update(_index(vs.id))

    def match(concept: Any) -> ValueSetCode | None:
        sole = _sole_coding(concept)
        if sole is not None:
            return table.get(sole)
        coded_as = codings(concept)
        for vs in sets:
            hit = vs.match(coded_as)
            if hit is not None:
                return hit
        return None

    return match


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
    found: frozenset[str] = _NONE
    for coding in codings:
        system, code = coding.get("system"), coding.get("code")
        if isinstance(system, str) and isinstance(code, str):
            # The usual coding is in no value set or in one: no set is built for it.
            hit = index.get((system, code))
            if hit is not None:
                found = found | hit if found else hit
    return found


def value_sets_of_concept(concept: Any) -> frozenset[str]:
    """``value_sets_of(codings(concept))``; the usual concept, one coding with a string
    system and code, is one lookup (asked of every Condition and Observation of a chart)."""
    sole = _sole_coding(concept)
    if sole is not None:
        return _membership().get(sole, _NONE)
    return value_sets_of(codings(concept))


def _sole_coding(concept: Any) -> tuple[str, str] | None:
    """(system, code) of a CodeableConcept with one coding whose system and code are
    strings (the usual concept: one table lookup); None for any other, left to ``codings``."""
    if type(concept) is dict:
        found = concept.get("coding")
        if type(found) is list and len(found) == 1 and type(only := found[0]) is dict:
            system, code = only.get("system"), only.get("code")
            if type(system) is str and type(code) is str:
                return system, code
    return None


_NONE: frozenset[str] = frozenset()


# --------------------------------------------------------------------------- site codes


@dataclass(frozen=True)
class SiteFile:
    """One file of a site's folder, as loaded: its name, the value set it adds to, how many codes."""

    name: str
    value_set_id: str
    added: int


@dataclass(frozen=True)
class SiteCodes:
    """A site's folder of extra codes, read and checked (``load_site_codes``)."""

    folder: str
    files: tuple[SiteFile, ...]
    #: Value-set id -> the codes added to it, in file order (codes already listed are not).
    added: Mapping[str, tuple[ValueSetCode, ...]]

    def summary(self) -> str:
        """``file.json -> value-set-id (n codes)`` for each file, for logs and ``/readyz``."""
        if not self.files:
            return "none (the folder has no .json file)"
        return ", ".join(f"{f.name} -> {f.value_set_id} ({f.added} codes)" for f in self.files)


def load_site_codes(folder: str | Path) -> SiteCodes:
    """Read every ``*.json`` file of ``folder``; ValueError says, in one line, what is wrong.

    Each file is in the shipped format: ``{"id": <a shipped value-set id>, "codes": [{"system",
    "code", "display", "source", "strength"?}, ...]}`` (``title`` and a file-level ``source``
    may be given and are not used). Every code must name its source: a code nobody can trace
    must not change a card. A code already listed (shipped, or by an earlier file) is skipped.
    """
    path = Path(folder)
    if not path.is_dir():
        raise ValueError(f"{str(path)!r} is not a folder")
    shipped = shipped_value_sets()
    known = {vs_id: set(vs.keys) for vs_id, vs in shipped.items()}
    added: dict[str, list[ValueSetCode]] = {}
    files: list[SiteFile] = []
    for entry in sorted(path.glob("*.json")):
        vs_id, codes = _read_site_file(entry, shipped)
        fresh = [c for c in codes if (c.system, c.code) not in known[vs_id]]
        known[vs_id].update((c.system, c.code) for c in fresh)
        added.setdefault(vs_id, []).extend(fresh)
        files.append(SiteFile(entry.name, vs_id, len(fresh)))
    return SiteCodes(str(path), tuple(files), {k: tuple(v) for k, v in added.items()})


def _read_site_file(entry: Path, shipped: Mapping[str, ValueSet]) -> tuple[str, list[ValueSetCode]]:
    name = entry.name
    try:
        doc = json.loads(entry.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValueError(f"{name}: cannot be read ({exc.strerror or type(exc).__name__})") from None
    except UnicodeDecodeError:
        raise ValueError(f"{name}: is not UTF-8") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"{name}: is not valid JSON (line {exc.lineno}, column {exc.colno})") from None
    if not isinstance(doc, dict):
        raise ValueError(f"{name}: must hold a JSON object with 'id' and 'codes'")
    vs_id = doc.get("id")
    if not isinstance(vs_id, str) or vs_id not in shipped:
        shown = repr(vs_id) if isinstance(vs_id, str) else "missing"
        raise ValueError(f"{name}: id {shown} is not a shipped value set (see docs/data-requirements.md)")
    raw_codes = doc.get("codes")
    if not isinstance(raw_codes, list) or not raw_codes:
        raise ValueError(f"{name}: 'codes' must be a non-empty list")
    codes = []
    for index, raw in enumerate(raw_codes):
        where = f"{name}: codes[{index}]"
        if not isinstance(raw, dict):
            raise ValueError(f"{where} must be an object")
        for key in ("system", "code", "display", "source"):
            value = raw.get(key)
            if not isinstance(value, str) or not value.strip():
                why = " (every site code names the public or local source it was checked against)"
                raise ValueError(f"{where} has no {key}" + (why if key == "source" else ""))
        if raw["code"] != raw["code"].strip() or ":" not in raw["system"]:
            raise ValueError(f"{where}: system must be a URI and code carry no surrounding spaces")
        strength = raw.get("strength", "site")
        if not isinstance(strength, str):
            raise ValueError(f"{where}: strength must be text")
        codes.append(ValueSetCode(raw["system"], raw["code"], raw["display"], raw["source"], strength, name))
    return vs_id, codes


@dataclass
class _Active:
    folder: str | None = None
    site: SiteCodes | None = None


_active = _Active()
_switch = threading.Lock()
#: Caches elsewhere that are computed from value sets (registered by their modules).
_derived: list[Callable[[], None]] = []


def on_value_sets_changed(clear: Callable[[], None]) -> None:
    """Register a cache of another module to clear when the site codes in use change."""
    _derived.append(clear)


def use_site_codes(folder: str | None) -> SiteCodes | None:
    """Use the site codes of ``folder`` (``None`` or empty: shipped codes only) from now on,
    in this process. Loading and checking happen once per folder; asking again is a no-op.
    """
    folder = folder or None
    if folder == _active.folder:
        return _active.site
    with _switch:
        if folder != _active.folder:
            _active.site = load_site_codes(folder) if folder else None
            _active.folder = folder
            caches = (all_value_sets.cache_clear, _index.cache_clear, _membership.cache_clear)
            for clear in (*caches, _FIRST_LISTED.clear, *_derived):
                clear()
    return _active.site


def site_codes_in_use() -> SiteCodes | None:
    """The site codes in use in this process, if any."""
    return _active.site


def site_file_of(system: str | None, code: str | None) -> str | None:
    """The site file that added (system, code), when a site code matched; None for shipped codes."""
    site = _active.site
    if site is None or system is None or code is None:
        return None
    for codes in site.added.values():
        for c in codes:
            if c.system == system and c.code == code:
                return c.site_file
    return None
