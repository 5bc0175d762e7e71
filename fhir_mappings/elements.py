"""Small typed accessors over raw FHIR JSON (dicts), shared by the fact modules."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any

Resource = Mapping[str, Any]


def codings(concept: Any) -> tuple[Mapping[str, Any], ...]:
    """The codings of a CodeableConcept dict (empty for anything else)."""
    # Asked of every coded resource several times per call: plain dicts (what the JSON
    # parsers give) skip the slower abstract-class test, with the same result.
    if type(concept) is not dict and not isinstance(concept, Mapping):
        return ()
    found = concept.get("coding")
    if not isinstance(found, list):
        return ()
    for c in found:  # a loop, not all(<generator>): this runs tens of thousands of times a call
        if type(c) is not dict:
            return tuple(c for c in found if isinstance(c, Mapping))
    return tuple(found)


def concepts(value: Any) -> Iterator[Any]:
    """A CodeableConcept or a list of them, as an iterator."""
    if isinstance(value, list):
        yield from value
    elif value is not None:
        yield value


def coded(concept: Any, system: str) -> str | None:
    """The first code of ``system`` in a CodeableConcept, else None."""
    for coding in codings(concept):
        if coding.get("system") == system and isinstance(coding.get("code"), str):
            return str(coding["code"])
    return None


def resource_id(resource: Resource) -> str | None:
    value = resource.get("id")
    return value if isinstance(value, str) else None


def resource_type(resource: Resource) -> str:
    value = resource.get("resourceType")
    return value if isinstance(value, str) else "Unknown"


def reference_of(value: Any) -> str | None:
    """The ``reference`` string of a Reference dict."""
    if (type(value) is dict or isinstance(value, Mapping)) and isinstance(value.get("reference"), str):
        return str(value["reference"])
    return None


def relative_reference(reference: str) -> str:
    """``Type/id`` from a relative or absolute reference (history suffix dropped)."""
    parts = reference.split("/_history/")[0].rstrip("/").split("/")
    return "/".join(parts[-2:]) if len(parts) >= 2 else reference


def resolve(
    reference: str | None, holder: Resource, by_reference: Mapping[str, Resource], wanted_type: str
) -> Resource | None:
    """The ``wanted_type`` resource a reference points at: contained in ``holder`` (``#id``)
    or present in the chart (``Type/id``); None when it is neither, or of another type."""
    if reference is None:
        return None
    if reference.startswith("#"):
        contained = holder.get("contained")
        return next(
            (
                c
                for c in (contained if isinstance(contained, list) else ())
                if isinstance(c, Mapping)
                and c.get("resourceType") == wanted_type
                and c.get("id") == reference[1:]
            ),
            None,
        )
    target = by_reference.get(relative_reference(reference))
    return target if target is not None and resource_type(target) == wanted_type else None


def number(value: Any) -> float | None:
    """A JSON number (not a bool) as float; Decimal when the JSON was parsed that way."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return None
    return float(value)


def token(value: Any) -> str | None:
    """A code-like value as a string, else None (a list or object where a code belongs)."""
    return value if isinstance(value, str) else None
