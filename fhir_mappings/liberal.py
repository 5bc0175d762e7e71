"""Strict in what a rule reads, liberal in the rest (FHIR R4B validation of one resource).

Real charts carry elements R4 does not define (an R5 element, a vendor addition) or a
malformed narrative or note. Leaving the whole resource out for that loses a running
infusion. So a validation error counts only when it lies in an element a fact reads
(``read_elements.json``); a resource whose errors all lie elsewhere still counts, and a
data-quality note names the elements that were not read (names only, never values).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError

from fhir_mappings.elements import Resource, resource_type

#: Longest element name said in a note (a hostile chart may send a 10 kB key).
_NAME_LIMIT = 40


@dataclass(frozen=True)
class Verdict:
    """``error``: why the resource cannot be used (a read element fails), else None.
    ``tolerated``: elements that fail validation but are not read (the resource counts)."""

    error: str | None
    tolerated: tuple[str, ...] = ()


@dataclass(frozen=True)
class ReadElements:
    """Element names a fact reads, per resource type (with every type's common ones)."""

    #: Type -> (element names, choice prefixes: "value" for ``value[x]``).
    by_type: Mapping[str, tuple[frozenset[str], tuple[str, ...]]]

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
    """Validate with the R4B model; errors only in elements no fact reads are tolerated."""
    type_name = resource_type(resource)
    try:
        model = get_fhir_model_class(type_name)
    except (KeyError, ValueError):
        return Verdict(f"unknown resource type {type_name[:_NAME_LIMIT]!r}")
    first = _first_error(model, resource)
    if first is None:
        return Verdict(None)
    errors, message = first
    tops = {str(loc[0]) for loc in errors if loc}
    if any(not loc for loc in errors) or any(read_elements().reads(type_name, t) for t in tops):
        return Verdict(message)
    # Every error lies in an element no fact reads: without those elements, the rest must
    # validate (rules across elements, such as one value[x], are checked only then).
    rest = {k: v for k, v in resource.items() if k not in tops}
    second = _first_error(model, rest)
    if second is not None:
        return Verdict(second[1])
    return Verdict(None, tuple(sorted(t[:_NAME_LIMIT] for t in tops)))


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
