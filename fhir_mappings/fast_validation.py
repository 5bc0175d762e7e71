"""The common case of R4B validation, checked without building the models (issue 18).

The R4B model costs 60-100 us per resource, mostly fhir_core's Python validators run on
every nested element (``reject_null_complex_elements``, ``_validate_one_of_many``, each
model's ``__init__``): about half of ``map_chart`` on the demo chart. ``cleared`` walks
the same JSON with plain comparisons and answers True only when the model would accept
it. On False (anything unusual) the caller asks the model, which decides and names the
error exactly as before. False is never a verdict: a resource the model accepts may get
False here and only takes the slow path.

What it checks is read from the models themselves (the field names and JSON aliases,
list or single, the datatype of each field, the elements each model requires, the choice
elements ``value[x]`` and whether one is required), so every R4B type is covered the same
way. On top of that, it is stricter than the model wherever the model's rule is subtle:

- every value must be present and non-empty: ``null``, ``""``, ``[]`` and ``{}`` are
  never cleared (the model refuses some and accepts others);
- a key must be the element's JSON name (the model also takes its Python name:
  ``status__ext``); ``fhir_comments`` and ``resourceType`` inside an element are never
  cleared;
- primitives must have their JSON type exactly (a boolean is not a number, a number not
  a string) and a value the model's pattern accepts in every regex engine: a ``code`` of
  ASCII words separated by single spaces, an ``id`` of at most 64 characters, a
  ``string`` holding at least one ASCII character, a ``decimal`` under 10^15 or a finite
  float, a date or time that is a real calendar day (a leap second is left to the
  model);
- datatypes it does not model (``time``, ``base64Binary``, ``markdown``, ``xhtml``,
  ``url``, ``uuid``, ``oid``, ``integer64``, contained resources) and any model with a
  validator this module does not know are never cleared.

``tests/fhir_mappings/test_fast_validation.py`` keeps it honest: mutated real resources
are never cleared where the model refuses them, and every resource of the repository's
fixtures, demo patients and benchmark charts is cleared (so the fast path pays).
"""

from __future__ import annotations

import datetime
import importlib
import math
import re
import threading
import typing
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from fhir_core import constraints, types
from fhir_core.fhirabstractmodel import FHIRAbstractModel

Check = Callable[[Any], bool]

#: The validators every R4B model runs (fhir_core's FHIRAbstractModel); ``cleared``
#: checks what they check. A model with any other validator is never cleared.
_KNOWN_VALIDATORS = frozenset({"reject_null_complex_elements", "validate_after_model_construction"})
#: FHIRPrimitiveExtension (``_status``) also requires one of id, extension, fhir_comments:
#: a non-empty object without fhir_comments has one.
_PRIMITIVE_EXTENSION = ("FHIRPrimitiveExtension", "validate_extension_or_fhir_comment_required")

_CODE = re.compile(r"[!-~]+(?: [!-~]+)*")
_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")
#: A ``string`` must match ``[ \r\n\t\S]+`` somewhere; one ASCII character does in any engine.
_HAS_ASCII = re.compile(r"[ -~\t\r\n]")
_LEAP_SECOND = re.compile(r"T\d\d:\d\d:60")
_DECIMAL_LIMIT = 10**15


#: Deepest nesting of objects cleared (the resource is level 1). The model walks each
#: level through several Python frames (about nine), so a deep value exhausts the
#: interpreter's stack there (RecursionError: the resource is left out) long before a walk
#: here would; how deep it may go depends on the caller's stack. At 12 levels the model
#: still validates from 880 frames deep (a request's stack is under 100), and the
#: resources in the repository nest 5 levels at most. Deeper: the model decides.
MAX_DEPTH = 12

_PRIMITIVE, _ELEMENT, _CONTAINED = 0, 1, 2


@dataclass
class _Spec:
    """One model's JSON shape (filled after creation: models refer to each other)."""

    #: JSON name -> (a list?, kind, the check of a primitive or a contained resource,
    #: the shape of an element, index of its choice group ``value[x]`` or -1)
    fields: dict[str, tuple[bool, int, Any, _Spec | None, int]]
    required: tuple[str, ...]
    required_choices: tuple[int, ...]


def cleared(model: type[FHIRAbstractModel], data: Any) -> bool:
    """True when ``model.model_validate(data)`` would succeed, checked cheaply.

    False means "not sure": the model must decide.
    """
    spec = _spec_of(model)
    if spec is None or type(data) is not dict or data.get("resourceType") != model.__resource_type__:
        return False
    return _object(spec, data, 1, "resourceType")


def _object(spec: _Spec, value: Any, depth: int, skip: str | None = None) -> bool:
    if type(value) is not dict or not value or depth > MAX_DEPTH:
        return False
    fields = spec.fields
    seen: set[int] | None = None
    for key, item in value.items():
        field = fields.get(key)
        if field is None:
            if key == skip:
                continue
            return False
        many, kind, check, inner, choice = field
        if many:
            if type(item) is not list or not item:
                return False
        else:
            item = (item,)
        for one in item:
            if kind == _PRIMITIVE:
                if not check(one):
                    return False
            elif kind == _ELEMENT:
                if not _object(inner, one, depth + 1):  # type: ignore[arg-type]
                    return False
            elif not check(one, depth + 1):
                return False
        if choice >= 0:
            if seen is None:
                seen = set()
            elif choice in seen:
                return False  # two types of one choice element
            seen.add(choice)
    for key in spec.required:
        if key not in value:
            return False
    return not spec.required_choices or (seen is not None and seen.issuperset(spec.required_choices))


# --- primitives ---------------------------------------------------------------------------


def _boolean(value: Any) -> bool:
    return type(value) is bool


def _unicode(value: str) -> bool:
    """pydantic refuses a string it cannot encode (a lone surrogate from a JSON escape)."""
    if value.isascii():
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _string(value: Any) -> bool:
    return type(value) is str and _HAS_ASCII.search(value) is not None and _unicode(value)


def _code(value: Any) -> bool:
    return type(value) is str and _CODE.fullmatch(value) is not None


def _id(value: Any) -> bool:
    return type(value) is str and _ID.fullmatch(value) is not None


def _uri(value: Any) -> bool:
    # The model's pattern (\S*, searched) matches any string; only an encodable one is read.
    return type(value) is str and value.isascii() and value != ""


def _decimal(value: Any) -> bool:
    if type(value) is int:
        return -_DECIMAL_LIMIT < value < _DECIMAL_LIMIT
    if type(value) is float:
        # fhir_core matches str(value) against the decimal regex: 1e+20 and 1e-07 pass.
        return math.isfinite(value) and types.Decimal.pattern.fullmatch(str(value)) is not None
    return False  # a string, a boolean: the model decides


def _integer(low: int, high: int) -> Check:
    def check(value: Any) -> bool:
        return type(value) is int and low <= value <= high

    return check


def _calendar_day(value: str) -> bool:
    """A full date (``YYYY-MM-DD``...) must be a real day; a partial one needs nothing more."""
    if len(value) < 10:
        return True
    try:
        datetime.date(int(value[0:4]), int(value[5:7]), int(value[8:10]))
    except ValueError:
        return False
    return True


def _dated(pattern: re.Pattern[str]) -> Check:
    """``date``, ``dateTime`` or ``instant``: fhir_core's regex, then a real day, no leap second."""

    def check(value: Any) -> bool:
        return (
            type(value) is str
            and pattern.fullmatch(value) is not None
            and _LEAP_SECOND.search(value) is None
            and _calendar_day(value)
        )

    return check


_DATE = _dated(types.Date.pattern)
_DATETIME = _dated(types.DateTime.pattern)
_INSTANT = _dated(types.Instant.pattern)


def _primitive(metadata: tuple[Any, ...]) -> Check | None:
    """The check for an ``Annotated[..., <fhir_core type>]``, or None (not modelled)."""
    if len(metadata) != 1:
        return None
    kind = type(metadata[0])
    if kind is types.String:
        return _string if not constraints.TYPES_STRING_ALLOW_EMPTY_STR else None
    if kind is types.Code:
        return _code
    if kind is types.Id:
        limit = constraints.TYPES_ID_MAX_LENGTH
        same_pattern = constraints.TYPES_ID_PATTERN == r"^[A-Za-z0-9\-.]+$"
        return _id if same_pattern and (limit is None or limit >= 64) else None
    if kind in (types.Uri, types.Canonical):
        return _uri
    if kind is types.Decimal:
        return _decimal
    if kind in (types.Integer, types.UnsignedInt, types.PositiveInt):
        return _integer(metadata[0].min_length, metadata[0].max_length)
    return {types.Date: _DATE, types.DateTime: _DATETIME, types.Instant: _INSTANT}.get(kind)


# --- the models' shapes -------------------------------------------------------------------

#: Finished shapes, read without a lock. A shape is built under the lock in ``_BUILDING``
#: and published here only once it and every shape it refers to are complete: a thread
#: must never walk a shape whose required elements are not filled in yet.
_SPECS: dict[type[FHIRAbstractModel], _Spec | None] = {}
_BUILDING: dict[type[FHIRAbstractModel], _Spec | None] = {}
_LOCK = threading.RLock()


def _spec_of(model: type[FHIRAbstractModel]) -> _Spec | None:
    if model in _SPECS:
        return _SPECS[model]
    with _LOCK:
        if model in _SPECS:
            return _SPECS[model]
        if model in _BUILDING:
            return _BUILDING[model]  # refers to itself (an Extension holds Extensions)
        outermost = not _BUILDING
        try:
            spec = _build(model)
            if outermost:
                _SPECS.update(_BUILDING)
        finally:
            if outermost:
                _BUILDING.clear()
        return spec


def _build(model: type[FHIRAbstractModel]) -> _Spec | None:
    if not _validators_known(model):
        _BUILDING[model] = None
        return None
    spec = _Spec({}, (), ())
    _BUILDING[model] = spec  # before the fields: they may refer to it
    instance = model.model_construct()
    groups = instance.get_one_of_many_fields()
    group_of = {name: i for i, names in enumerate(groups.values()) for name in names}
    required = []
    for name, info in model.model_fields.items():
        key = info.alias or name
        shape = _shape(info.annotation)
        if shape is not None:
            spec.fields[key] = (*shape, group_of.get(name, -1))
        if info.is_required():
            required.append(key)
    # Required primitives (Observation.status): the value itself is asked for here; the
    # model also takes ``_status`` with an extension in its place (then it decides).
    required += [element for element, _ext in instance.get_required_fields()]
    spec.required = tuple(required)
    spec.required_choices = tuple(
        i
        for i, names in enumerate(groups.values())
        if (model.model_fields[names[0]].json_schema_extra or {}).get("one_of_many_required") is True  # type: ignore[union-attr]
    )
    return spec


def _validators_known(model: type[FHIRAbstractModel]) -> bool:
    decorators = model.__pydantic_decorators__
    known = set(_KNOWN_VALIDATORS)
    if model.__name__ == _PRIMITIVE_EXTENSION[0]:
        known.add(_PRIMITIVE_EXTENSION[1])
    return (
        set(decorators.model_validators) <= known
        and not decorators.field_validators
        and not decorators.validators
        and not decorators.root_validators
        and model.model_config.get("extra") == "forbid"
    )


def _shape(annotation: Any) -> tuple[bool, int, Any, _Spec | None] | None:
    """(a list?, kind, check, shape) of a field's annotation, or None (not modelled)."""
    inner, many = _optional(annotation), False
    if typing.get_origin(inner) is list:
        (inner,) = typing.get_args(inner)
        inner, many = _optional(inner), True  # a list of primitives may hold nulls: never cleared
    if inner is bool:
        return many, _PRIMITIVE, _boolean, None
    if typing.get_origin(inner) is typing.Annotated:
        check = _primitive(tuple(inner.__metadata__))
        return (many, _PRIMITIVE, check, None) if check is not None else None
    if not (isinstance(inner, type) and issubclass(inner, types.FhirBase)):
        return None
    if issubclass(inner, types.FhirElementOrResourceBase):
        contained = _contained(inner)
        return (many, _CONTAINED, contained, None) if contained is not None else None
    spec = _spec_of(inner.get_model_klass())
    return (many, _ELEMENT, None, spec) if spec is not None else None


def _optional(annotation: Any) -> Any:
    if typing.get_origin(annotation) in (typing.Union, _UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return args[0] if len(args) == 1 else None
    return annotation


_UnionType = type(int | None)


def _contained(holder: type[types.FhirElementOrResourceBase]) -> Callable[[Any, int], bool] | None:
    """A contained resource: the model named by its ``resourceType`` validates it whole.

    fhir_core finds that model in ``FHIR_TYPES_MAPS`` and refuses one that is not a
    resource (a ``Coding``); the same lookup is made here, and anything else is left to it.
    """
    if holder.get_model_klass().__name__ != "Resource":
        return None  # an Element holder: never seen in what the facts read

    def check(value: Any, depth: int) -> bool:
        if type(value) is not dict:
            return False
        name = value.get("resourceType")
        if type(name) is not str:
            return False
        path = constraints.FHIR_TYPES_MAPS.get(f"{holder._prefix}{name}Type")
        model = _resource_model(path) if path is not None else None
        if model is None:
            return False
        spec = _spec_of(model)
        return spec is not None and _object(spec, value, depth, "resourceType")

    return check


@cache
def _resource_model(path: str) -> type[FHIRAbstractModel] | None:
    """The R4B resource model at ``path`` (from ``FHIR_TYPES_MAPS``), else None."""
    if not path.startswith("fhir.resources.R4B."):
        return None
    module, _, name = path.rpartition(".")
    model = getattr(importlib.import_module(module), name, None)
    if isinstance(model, type) and issubclass(model, FHIRAbstractModel) and model.has_resource_base():
        return model
    return None
