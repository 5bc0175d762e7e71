"""Strict in what a rule reads, and only there (FHIR R4B validation of one resource).

Real charts carry elements R4 does not define (an R5 element, a vendor addition) or a
malformed narrative or note. Leaving the whole resource out for that loses a running
infusion. So only the elements a fact reads (``read_elements.json``, with the common ones
every type reads) are validated, by the R4B model, exactly as strictly as the whole
resource would be: the model validates a projection of the resource onto those elements.
Validation costs what the rules read, not what the EHR sent (narrative, identifiers,
notes, performers are never walked). An error there leaves the resource out.

Most resources never reach the model: ``fast_validation.cleared`` checks the same
projection with plain comparisons and clears what is certainly valid; anything unusual
goes to the model, which decides and words the error as before (issue 18).

Elements no fact reads are not validated. A name R4B does not define for the type is
still noticed (a key lookup, no validation) and a data-quality note names it (names only,
never values); a defined element with a malformed value is not noticed any more.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache, partial
from importlib import resources
from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError

from fhir_mappings.elements import Resource, resource_type
from fhir_mappings.fast_validation import cleared, projected

#: Longest element name said in a note (a hostile chart may send a 10 kB key).
_NAME_LIMIT = 40


@dataclass(frozen=True)
class Verdict:
    """``error``: why the resource cannot be used (a read element fails), else None.
    ``tolerated``: elements R4B does not define for the type and no fact reads (the
    resource counts)."""

    error: str | None
    tolerated: tuple[str, ...] = ()


@dataclass(frozen=True)
class ReadElements:
    """Element names a fact reads, per resource type (with every type's common ones)."""

    #: Type -> (element names, choice prefixes: "value" for ``value[x]``).
    by_type: Mapping[str, tuple[frozenset[str], tuple[str, ...]]]
    #: (type, model) -> ``split``'s answer, worked out once: it depends on neither the chart
    #: nor the call, only on this file and the model.
    _splits: dict[tuple[str, Any], tuple[frozenset[str], frozenset[str]]] = field(
        default_factory=dict, compare=False, repr=False
    )

    def split(self, type_name: str, model: Any) -> tuple[frozenset[str], frozenset[str]]:
        """The names ``model`` defines (and ``resourceType``) that a fact reads (``reads``),
        and those it does not.

        Every key of every resource validated is asked about: a set lookup instead of
        ``reads`` for each (a name the model does not define is still asked of ``reads``)."""
        found = self._splits.get((type_name, model))
        if found is None:
            defined = _defined(model) | {"resourceType"}
            read = frozenset(name for name in defined if self.reads(type_name, name))
            found = self._splits[(type_name, model)] = (read, defined - read)
        return found

    def reads(self, type_name: str, element: str) -> bool:
        """True when a fact reads ``element`` (a primitive's ``_element`` goes with it).

        A type not listed is read in full: validated strictly, as before.
        """
        listed = self.by_type.get(type_name)
        if listed is None:
            return True
        names, choices = listed
        name = element.removeprefix("_")
        return name in names or any(_choice_of(name, c) for c in choices)


def _choice_of(name: str, prefix: str) -> bool:
    """``valueQuantity`` is a ``value[x]``: the prefix, then a type name's capital."""
    return name.startswith(prefix) and name[len(prefix) : len(prefix) + 1].isupper()


@cache
def read_elements() -> ReadElements:
    raw = json.loads(resources.files("fhir_mappings").joinpath("read_elements.json").read_text("utf-8"))
    return parse_read_elements(raw)


def parse_read_elements(raw: Mapping[str, Any]) -> ReadElements:
    by_type = {}
    for type_name, listed in raw["types"].items():
        items = [*raw["common"], *listed]
        names = frozenset(n for n in items if not n.endswith("[x]"))
        choices = tuple(n.removesuffix("[x]") for n in items if n.endswith("[x]"))
        by_type[type_name] = (names, choices)
    return ReadElements(by_type)


def verdict(resource: Resource) -> Verdict:
    """Validate what a fact reads with the R4B model; name elements R4B does not define.

    The model sees a projection onto the read elements: every element it requires, and
    every choice (``value[x]``) whose types it counts, is read (a test keeps it so), so
    the projection is valid exactly when the read elements are. The one exception, a
    choice no fact reads (``MedicationRequest.reported[x]``), is not checked at all.
    """
    type_name = resource_type(resource)
    fast = _FAST.get(type_name)
    if fast is None:
        fast = _fast_check(type_name)
    if fast(resource):
        return _VALID  # the common case, checked in place (``fast_validation.projected``)
    try:
        model = get_fhir_model_class(type_name)
    except (KeyError, ValueError):
        return Verdict(f"unknown resource type {type_name[:_NAME_LIMIT]!r}")
    listed = read_elements().by_type.get(type_name)
    if listed is None:
        first = None if cleared(model, resource) else _first_error(model, resource)
        return Verdict(first[1] if first is not None else None)
    elements = read_elements()
    read, unread = elements.split(type_name, model)
    reads = elements.reads
    projection = {k: v for k, v in resource.items() if k in read or (k not in unread and reads(type_name, k))}
    # The common case is checked cheaply (``fast_validation``); the model decides the rest.
    first = None if cleared(model, projection) else _first_error(model, projection)
    if first is not None:
        return Verdict(first[1])
    if len(projection) == len(resource):
        return Verdict(None)
    defined = _defined(model)
    unknown = sorted(str(k)[:_NAME_LIMIT] for k in resource if k not in projection and k not in defined)
    return Verdict(None, tuple(unknown))


_VALID = Verdict(None)
#: R4B resource type -> the check of a resource ``verdict`` finds valid with nothing to
#: name (``_fast_check``); filled as types are met.
_FAST: dict[str, Callable[[Any], bool]] = {}


def _fast_check(type_name: str) -> Callable[[Any], bool]:
    """The check for ``type_name``: ``projected`` onto what a fact reads, ``cleared`` whole
    for a type not listed, ``_never`` for a name R4B does not know (not kept: a hostile
    chart may name thousands). A resource it passes is one the model accepts as
    ``verdict`` hands it over, with no name left to note."""
    try:
        model = get_fhir_model_class(type_name)
    except (KeyError, ValueError):
        return _never
    elements = read_elements()
    if type_name in elements.by_type:
        check = projected(model, *elements.split(type_name, model))
    else:
        check = partial(cleared, model)
    _FAST[type_name] = check
    return check


def _never(_resource: Any) -> bool:
    return False


def strict_error(resource: Resource) -> str | None:
    """The first error of validating the WHOLE resource as 'path: message', or None."""
    try:
        model = get_fhir_model_class(resource_type(resource))
    except (KeyError, ValueError):
        return f"unknown resource type {resource_type(resource)[:_NAME_LIMIT]!r}"
    first = _first_error(model, resource)
    return first[1] if first is not None else None


@cache
def _defined(model: Any) -> frozenset[str]:
    """Every top-level name the model accepts: its fields and their JSON aliases (``_status``)."""
    fields = model.model_fields
    return frozenset(fields) | frozenset(f.alias for f in fields.values() if f.alias)


def _first_error(model: Any, resource: Resource) -> tuple[list[tuple[Any, ...]], str] | None:
    """Every error's location, and the first as 'path: message' (never the offending value)."""
    try:
        model.model_validate(resource)
    except ValidationError as exc:
        errors = exc.errors()
        locations = [tuple(e.get("loc", ())) for e in errors]
        path = ".".join(str(p) for p in locations[0])
        return locations, f"{path or 'resource'}: {errors[0].get('msg', 'invalid')}"[:200]
    except (TypeError, ValueError, RecursionError) as exc:
        # RecursionError: nesting deeper than the model can walk (120 nested extensions).
        return [()], f"resource: {type(exc).__name__}"
    return None
