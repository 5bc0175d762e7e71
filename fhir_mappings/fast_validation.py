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

The walk is not interpreted from the shape tables at run time: when a shape is first
needed, Python source for it is generated from the shape (a chain of key comparisons,
each element's check written out, a primitive's check inlined where it is one
expression) and compiled once; each resource is then checked by that straight-line code.
``projected`` does the same for a resource type seen through ``liberal``'s projection: it
checks the elements a fact reads in place and passes over the others, so no projected
copy is built. A date or time of the usual form (a day every year has, seconds below 60)
is recognised by one precompiled pattern per type; any other is checked the long way.

``tests/fhir_mappings/test_fast_validation.py`` keeps it honest: mutated real resources
are never cleared where the model refuses them, and every resource of the repository's
fixtures, demo patients and benchmark charts is cleared (so the fast path pays).
"""

from __future__ import annotations

import datetime
import importlib
import itertools
import math
import re
import threading
import typing
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any, NamedTuple

from fhir_core import constraints, types
from fhir_core.fhirabstractmodel import FHIRAbstractModel

Check = Callable[[Any], bool]
#: A shape's generated check: (value, depth, the one key to pass over) -> cleared.
ShapeCheck = Callable[[Any, int, "str | None"], bool]

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

#: The usual dates and times, each part in the range fhir_core's pattern allows: a year
#: other than 0000, a month and day every year has (29 February is left to the long
#: check), seconds below 60 (no leap second), a zone from -14:00 to +14:00.
_YEAR = r"(?!0000)[0-9]{4}"
_MONTH = r"(?:0[1-9]|1[0-2])"
_MONTH_DAY = (
    r"(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])|(?:0[13-9]|1[0-2])-(?:29|30)|(?:0[13578]|1[02])-31)"
)
_TIME = (
    r"T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]+)?"
    r"(?:Z|[+\-](?:(?:0[0-9]|1[0-3]):[0-5][0-9]|14:00))"
)
_USUAL_DATE = re.compile(f"{_YEAR}(?:-{_MONTH}|-{_MONTH_DAY})?")
_USUAL_DATETIME = re.compile(f"{_YEAR}(?:-{_MONTH}|-{_MONTH_DAY}(?:{_TIME})?)?")
_USUAL_INSTANT = re.compile(f"{_YEAR}-{_MONTH_DAY}{_TIME}")


#: Deepest nesting of objects cleared (the resource is level 1). The model walks each
#: level through several Python frames (about nine), so a deep value exhausts the
#: interpreter's stack there (RecursionError: the resource is left out) long before a walk
#: here would; how deep it may go depends on the caller's stack. At 12 levels the model
#: still validates from 880 frames deep (a request's stack is under 100), and the
#: resources in the repository nest 5 levels at most. Deeper: the model decides.
MAX_DEPTH = 12


def _never(*_args: Any) -> bool:
    return False


class _Field(NamedTuple):
    """One element of a shape, by its JSON name."""

    many: bool
    #: The check of one value as a Python expression of ``{v}`` (and ``depth``, the depth
    #: of the value), or None for an element of the shape ``inner``.
    expression: str | None
    inner: _Spec | None
    #: Index of its choice group (``value[x]``), or -1.
    choice: int


@dataclass
class _Spec:
    """One model's JSON shape (filled after creation: models refer to each other)."""

    fields: dict[str, _Field]
    required: tuple[str, ...]
    required_choices: tuple[int, ...]
    #: A resource's shape: its ``id`` and ``meta`` are compared first.
    resource: bool = False
    #: The generated check, set before the shape is published (``_spec_of``).
    check: ShapeCheck = _never
    #: The generated check's name in ``_NAMESPACE``.
    name: str = ""


def cleared(model: type[FHIRAbstractModel], data: Any) -> bool:
    """True when ``model.model_validate(data)`` would succeed, checked cheaply.

    False means "not sure": the model must decide.
    """
    spec = _spec_of(model)
    if spec is None or type(data) is not dict or data.get("resourceType") != model.__resource_type__:
        return False
    return spec.check(data, 1, "resourceType")


def projected(model: type[FHIRAbstractModel], read: frozenset[str], unread: frozenset[str]) -> Check:
    """A check of a whole resource as ``liberal`` projects it onto the names in ``read``.

    ``check(resource)`` is True only when ``cleared(model, projection)`` would be, where
    ``projection`` keeps the keys of ``resource`` in ``read``, and every other key of
    ``resource`` is in ``unread`` (a name outside both: False, the caller decides).
    """
    key = (model, read, unread)
    found = _PROJECTED.get(key)
    if found is None:
        with _LOCK:
            found = _PROJECTED.get(key)
            if found is None:
                found = _PROJECTED[key] = _projected(model, read, unread)
    return found


# --- primitives ---------------------------------------------------------------------------


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


def _decimal(value: Any) -> bool:
    if type(value) is int:
        return -_DECIMAL_LIMIT < value < _DECIMAL_LIMIT
    if type(value) is float:
        # fhir_core matches str(value) against the decimal regex: 1e+20 and 1e-07 pass.
        return math.isfinite(value) and types.Decimal.pattern.fullmatch(str(value)) is not None
    return False  # a string, a boolean: the model decides


def _calendar_day(value: str) -> bool:
    """A full date (``YYYY-MM-DD``...) must be a real day; a partial one needs nothing more."""
    if len(value) < 10:
        return True
    try:
        datetime.date(int(value[0:4]), int(value[5:7]), int(value[8:10]))
    except ValueError:
        return False
    return True


def _dated(pattern: re.Pattern[str], usual: re.Pattern[str]) -> Check:
    """``date``, ``dateTime`` or ``instant``: the usual form at once; else fhir_core's
    regex, then a real day, no leap second."""
    usual_match = usual.fullmatch

    def check(value: Any) -> bool:
        if type(value) is not str:
            return False
        if usual_match(value) is not None:
            return True
        return (
            pattern.fullmatch(value) is not None
            and _LEAP_SECOND.search(value) is None
            and _calendar_day(value)
        )

    return check


_DATE = _dated(types.Date.pattern, _USUAL_DATE)
_DATETIME = _dated(types.DateTime.pattern, _USUAL_DATETIME)
_INSTANT = _dated(types.Instant.pattern, _USUAL_INSTANT)

#: The primitives' checks as expressions of ``{v}``, over the names in ``_NAMESPACE``.
_BOOLEAN_CHECK = "type({v}) is bool"
#: A printable ASCII string is the usual case: it has an ASCII character and encodes.
_STRING_CHECK = "(type({v}) is str and ({v}.isascii() and {v}.isprintable() and {v} != '' or _string({v})))"
#: A code without spaces is the usual case: printable ASCII but a space is ``[!-~]+``.
_CODE_CHECK = (
    "(type({v}) is str and ({v}.isascii() and {v}.isprintable() and ' ' not in {v} and {v} != ''"
    " or _code({v}) is not None))"
)
_ID_CHECK = "(type({v}) is str and _id({v}) is not None)"
# The model's uri pattern (\S*, searched) matches any string; only an encodable one is read.
_URI_CHECK = "(type({v}) is str and {v} != '' and {v}.isascii())"


def _primitive(metadata: tuple[Any, ...]) -> str | None:
    """The check for an ``Annotated[..., <fhir_core type>]``, or None (not modelled)."""
    if len(metadata) != 1:
        return None
    kind = type(metadata[0])
    if kind is types.String:
        return _STRING_CHECK if not constraints.TYPES_STRING_ALLOW_EMPTY_STR else None
    if kind is types.Code:
        return _CODE_CHECK
    if kind is types.Id:
        limit = constraints.TYPES_ID_MAX_LENGTH
        same_pattern = constraints.TYPES_ID_PATTERN == r"^[A-Za-z0-9\-.]+$"
        return _ID_CHECK if same_pattern and (limit is None or limit >= 64) else None
    if kind in (types.Uri, types.Canonical):
        return _URI_CHECK
    if kind is types.Decimal:
        return "_decimal({v})"
    if kind in (types.Integer, types.UnsignedInt, types.PositiveInt):
        low, high = metadata[0].min_length, metadata[0].max_length
        if type(low) is not int or type(high) is not int:
            return None
        return f"(type({{v}}) is int and {low!r} <= {{v}} <= {high!r})"
    dated = {types.Date: "_DATE({v})", types.DateTime: "_DATETIME({v})", types.Instant: "_INSTANT({v})"}
    return dated.get(kind)


# --- the models' shapes -------------------------------------------------------------------

#: Finished shapes, read without a lock. A shape is built under the lock in ``_BUILDING``
#: and published here only once it and every shape it refers to are complete and their
#: checks compiled: a thread must never walk a shape whose required elements are not
#: filled in yet.
_SPECS: dict[type[FHIRAbstractModel], _Spec | None] = {}
_BUILDING: dict[type[FHIRAbstractModel], _Spec | None] = {}
_LOCK = threading.RLock()
#: (model, read, unread) -> ``projected``'s check.
_PROJECTED: dict[tuple[type[FHIRAbstractModel], frozenset[str], frozenset[str]], Check] = {}


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
                _compile([s for s in _BUILDING.values() if s is not None])
                _SPECS.update(_BUILDING)
        finally:
            if outermost:
                _BUILDING.clear()
        return spec


def _build(model: type[FHIRAbstractModel]) -> _Spec | None:
    if not _validators_known(model):
        _BUILDING[model] = None
        return None
    spec = _Spec({}, (), (), resource=model.has_resource_base())
    _BUILDING[model] = spec  # before the fields: they may refer to it
    instance = model.model_construct()
    groups = instance.get_one_of_many_fields()
    group_of = {name: i for i, names in enumerate(groups.values()) for name in names}
    required = []
    for name, info in model.model_fields.items():
        key = info.alias or name
        shape = _shape(info.annotation)
        if shape is not None:
            spec.fields[key] = _Field(*shape, group_of.get(name, -1))
        if info.is_required():
            required.append(key)
    # Required primitives (Observation.status): the value itself is asked for here; the
    # model also takes ``_status`` with an extension in its place (then it decides).
    required += [element for element, _ext in instance.get_required_fields()]
    spec.required = tuple(dict.fromkeys(required))
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


def _shape(annotation: Any) -> tuple[bool, str | None, _Spec | None] | None:
    """(a list?, check expression, shape) of a field's annotation, or None (not modelled)."""
    inner, many = _optional(annotation), False
    if typing.get_origin(inner) is list:
        (inner,) = typing.get_args(inner)
        inner, many = _optional(inner), True  # a list of primitives may hold nulls: never cleared
    if inner is bool:
        return many, _BOOLEAN_CHECK, None
    if typing.get_origin(inner) is typing.Annotated:
        check = _primitive(tuple(inner.__metadata__))
        return (many, check, None) if check is not None else None
    if not (isinstance(inner, type) and issubclass(inner, types.FhirBase)):
        return None
    if issubclass(inner, types.FhirElementOrResourceBase):
        contained = _contained(inner)
        return (many, contained, None) if contained is not None else None
    spec = _spec_of(inner.get_model_klass())
    return (many, None, spec) if spec is not None else None


def _optional(annotation: Any) -> Any:
    if typing.get_origin(annotation) in (typing.Union, _UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return args[0] if len(args) == 1 else None
    return annotation


_UnionType = type(int | None)


@cache
def _contained(holder: type[types.FhirElementOrResourceBase]) -> str | None:
    """A contained resource: the model named by its ``resourceType`` validates it whole.

    fhir_core finds that model in ``FHIR_TYPES_MAPS`` and refuses one that is not a
    resource (a ``Coding``); the same lookup is made here, and anything else is left to it.
    The check's expression calls a function put in ``_NAMESPACE``.
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
        return spec is not None and spec.check(value, depth, "resourceType")

    name = f"_contained{next(_NAMES)}"
    _NAMESPACE[name] = check
    return name + "({v}, depth)"


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


# --- the generated checks -----------------------------------------------------------------

#: The generated functions and what their source names (shared by all of them: a shape's
#: check calls the checks of the shapes it holds by name, so shapes may refer to each
#: other and to themselves).
_NAMESPACE: dict[str, Any] = {
    "_code": _CODE.fullmatch,
    "_id": _ID.fullmatch,
    "_string": _string,
    "_decimal": _decimal,
    "_DATE": _DATE,
    "_DATETIME": _DATETIME,
    "_INSTANT": _INSTANT,
}
_NAMES = itertools.count()
#: Names compared last in a shape's chain of keys: rare in what the facts read.
_LATE = frozenset({"id", "extension", "modifierExtension", "implicitRules", "language", "contained"})


def _compile(specs: list[_Spec]) -> None:
    """Generate and compile the checks of ``specs`` (a batch that may refer to itself)."""
    for spec in specs:
        spec.name = f"_shape{next(_NAMES)}"
    source = "\n\n".join(_object_source(spec) for spec in specs)
    exec(compile(source, "<fast_validation shapes>", "exec"), _NAMESPACE)  # noqa: S102 - our own source
    for spec in specs:
        spec.check = _NAMESPACE[spec.name]


def _object_source(spec: _Spec) -> str:
    """``def name(value, depth, skip=None)``: the shape's object at ``depth``, ``skip``
    (``resourceType`` of a resource) passed over."""
    lines = [
        f"def {spec.name}(value, depth, skip=None):",
        f"    if type(value) is not dict or not value or depth > {MAX_DEPTH}:",
        "        return False",
        "    depth += 1",
    ]
    lines += _walk_source(spec, spec.fields, "key != skip", spec.required)
    return "\n".join(lines)


def _projected(model: type[FHIRAbstractModel], read: frozenset[str], unread: frozenset[str]) -> Check:
    spec = _spec_of(model)
    if spec is None or "resourceType" not in read or any(k not in read for k in spec.required):
        return _never  # the projection would be refused, or is not modelled: the model decides
    name = f"_projected{next(_NAMES)}"
    passed = f"_passed{next(_NAMES)}"
    _NAMESPACE[passed] = frozenset(unread | {"resourceType"})
    lines = [
        f"def {name}(value):",
        f"    if type(value) is not dict or value.get('resourceType') != {model.__resource_type__!r}:",
        "        return False",
        "    depth = 2",
    ]
    fields = {key: field for key, field in spec.fields.items() if key in read}
    lines += _walk_source(spec, fields, "True", spec.required, passed)
    exec(compile("\n".join(lines), "<fast_validation projections>", "exec"), _NAMESPACE)  # noqa: S102
    check: Check = _NAMESPACE[name]
    return check


def _walk_source(
    spec: _Spec, fields: dict[str, _Field], refused: str, required: Iterable[str], passed: str | None = None
) -> list[str]:
    """The loop over ``value``'s keys: each key in ``fields`` checked, any other key for
    which ``refused`` holds refused; then the required elements and choices.

    ``passed``: the name of a set of keys passed over (a projection's unread names and
    ``resourceType``, which every resource has and which is then compared first): asked
    after the usual keys, before the choices and the rare ones."""
    choices = any(field.choice >= 0 for field in fields.values())
    lines = ["    seen = 0"] if choices else []
    lines.append("    for key, item in value.items():")
    branch = "if"
    if passed is not None:
        lines += ["        if key == 'resourceType':", "            continue"]
        branch = "elif"
    for key in sorted(fields, key=lambda k: _rank(spec, k, fields[k])):
        if passed is not None and _rank(spec, key, fields[key]) > 1:
            lines += [f"        elif key in {passed}:", "            continue"]
            passed = None
        lines.append(f"        {branch} key == {key!r}:")
        lines += _field_source(fields[key])
        branch = "elif"
    if passed is not None:
        lines += [f"        elif key in {passed}:", "            continue"]
    otherwise = "else" if refused == "True" else f"{branch} {refused}"
    lines += [f"        {otherwise}:", "            return False"]
    lines += [f"    if {key!r} not in value:\n        return False" for key in required]
    if spec.required_choices:
        mask = sum(1 << i for i in spec.required_choices)
        lines.append(f"    return (seen & {mask}) == {mask}")
    else:
        lines.append("    return True")
    return lines


def _rank(spec: _Spec, key: str, field: _Field) -> int:
    """Usual keys first in the chain (a key costs one comparison per key before it)."""
    if spec.resource and key in ("id", "meta"):
        return 0
    if key.startswith("_"):
        return 4
    if key in _LATE:
        return 3
    return 2 if field.choice >= 0 else 1


def _field_source(field: _Field) -> list[str]:
    if field.expression is not None:
        expression = field.expression
    else:
        assert field.inner is not None
        assert field.inner.name  # named in this batch or compiled before
        expression = field.inner.name + "({v}, depth)"
    if field.many:
        lines = [
            "            if type(item) is not list or not item:",
            "                return False",
            "            for one in item:",
            f"                if not {expression.format(v='one')}:",
            "                    return False",
        ]
    else:
        lines = [f"            if not {expression.format(v='item')}:", "                return False"]
    if field.choice >= 0:
        bit = 1 << field.choice
        lines += [f"            if seen & {bit}:", "                return False"]
        lines.append(f"            seen |= {bit}")
    return lines
