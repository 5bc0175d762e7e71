"""The fast path of R4B validation never clears what the model refuses, and pays on real charts.

``fast_validation.cleared`` answers True ("the model would accept this") or False ("ask
the model"). The safety rule: True only where ``model_validate`` succeeds. It is checked
here on every resource of the repository's fixtures, demo patients and benchmark charts,
mutated at every depth (nulls, empty values, wrong JSON types, extra keys, bad dates,
whitespace in codes, huge numbers, booleans for numbers, two types of one choice, a
required element dropped), and on generated values in every primitive it models. The
other half: every real resource the model accepts is cleared, so the fast path is taken
on the charts the service meets.
"""

from __future__ import annotations

import copy
import itertools
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B import get_fhir_model_class
from fhir_core import types
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchmarks.charts import charts as benchmark_charts
from fhir_mappings import fast_validation
from fhir_mappings.fast_validation import MAX_DEPTH, _spec_of, cleared, projected
from fhir_mappings.liberal import Verdict, _first_error, read_elements, verdict

ROOT = Path(__file__).resolve().parents[2]


def _resources(doc: Any) -> Iterator[dict[str, Any]]:
    """Every resource of a type the facts read, wherever it sits in ``doc``."""
    if isinstance(doc, dict):
        if doc.get("resourceType") in read_elements().by_type:
            yield doc
        for value in doc.values():
            yield from _resources(value)
    elif isinstance(doc, list):
        for value in doc:
            yield from _resources(value)


def _corpus() -> list[dict[str, Any]]:
    docs: list[Any] = [
        json.loads(path.read_text(encoding="utf-8"))
        for folder in ("tests", "examples")
        for path in sorted((ROOT / folder).rglob("*.json"))
    ]
    docs += benchmark_charts().values()
    seen: set[str] = set()
    found = []
    for doc in docs:
        for resource in _resources(doc):
            text = json.dumps(resource, sort_keys=True)
            if text not in seen:  # the padded charts repeat a few shapes thousands of times
                seen.add(text)
                found.append(resource)
    return found


def _projection(resource: dict[str, Any]) -> dict[str, Any]:
    type_name = resource["resourceType"]
    return {k: v for k, v in resource.items() if read_elements().reads(type_name, k)}


def _model(resource: Any) -> Any:
    return get_fhir_model_class(str(resource.get("resourceType")))


def _accepted(resource: Any) -> bool:
    return _first_error(_model(resource), resource) is None


CORPUS = _corpus()
#: What the model accepts, as ``liberal.verdict`` hands it over (projected) and whole.
VALID = [r for r in CORPUS if _accepted(_projection(r))]
VALID_WHOLE = [r for r in CORPUS if _accepted(r)]


def _assert_safe(resource: Any, type_name: str | None = None) -> None:
    model = get_fhir_model_class(type_name) if type_name else _model(resource)
    if cleared(model, resource):
        assert _first_error(model, resource) is None, json.dumps(resource)[:2000]


# --- it pays: every real resource is cleared -------------------------------------------------


def test_the_corpus_holds_every_type_the_facts_read() -> None:
    assert {r["resourceType"] for r in VALID} == set(read_elements().by_type)
    assert len(VALID) > 150


def test_every_real_resource_the_model_accepts_is_cleared() -> None:
    missed = [json.dumps(r)[:300] for r in VALID if not cleared(_model(r), _projection(r))]
    assert missed == []


def test_every_real_resource_the_model_refuses_is_left_to_the_model() -> None:
    refused = [r for r in CORPUS if not _accepted(_projection(r))]
    assert refused, "the fixtures hold invalid resources"
    assert not [r for r in refused if cleared(_model(r), _projection(r))]


def test_every_model_the_listed_types_reach_is_modelled() -> None:
    # A model with a validator fast_validation does not know is never cleared (None).
    for type_name in read_elements().by_type:
        assert _spec_of(get_fhir_model_class(type_name)) is not None, type_name


# --- it is safe: mutated real resources ------------------------------------------------------

_WEIRD: list[Any] = [
    None,
    "",
    " ",
    "\t",
    "\x0b",
    "\xa0",
    "\x1c",
    "a\ud800",
    "a  b",
    " a",
    "a ",
    "a\nb",
    "a\n",
    "x",
    "Ödem",
    "心",
    "#m1",
    "Patient/1",
    "2024",
    "2024-02",
    "2024-02-30",
    "2023-02-29",
    "2024-02-29",
    "2024-13-01",
    "0000-01-01",
    "0001-01-01",
    "2024-01-15T10:00:00",
    "2024-01-15T10:00Z",
    "2024-01-15T10:00:00Z",
    "2024-01-15T10:00:60Z",
    "2024-01-15T24:00:00Z",
    "2024-01-15T10:00:00.123456789+14:00",
    "2024-01-15T10:00:00+15:00",
    "2024-01-15 10:00:00Z",
    "a" * 65,
    "a" * 256,
    [],
    {},
    [None],
    [{}],
    [""],
    ["x"],
    0,
    -1,
    1,
    1.5,
    -0.0,
    1e308,
    1e-7,
    float("inf"),
    float("nan"),
    10**15,
    10**20,
    2**31,
    -(2**31) - 1,
    True,
    False,
    {"extension": []},
    {"extension": [{"url": "http://x", "valueString": "y"}]},
    {"id": "x"},
    {"url": "http://x"},
    {"reference": "Patient/1"},
    {"coding": [{"code": "x"}]},
    {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]},
    {"value": 1, "unit": "mg"},
    {"start": "2024-01-15"},
    {"resourceType": "Coding", "code": "x"},
    {"resourceType": "Medication", "id": "m", "code": {"text": "x"}},
    {"resourceType": "Nonsense", "id": "m"},
    {"fhir_comments": "x"},
    [{"resourceType": "Coding", "code": "x"}],
    [{"resourceType": "Medication", "id": "m"}],
    [{"resourceType": "Medication", "contained": [{"resourceType": "Device"}]}],
    {"extension": [{}]},
    {"extension": [None]},
]

_KEYS = [
    "_status",
    "_code",
    "_value",
    "_effectiveDateTime",
    "fhir_comments",
    "resourceType",
    "status__ext",
    "resource_type",
    "valueString",
    "valueBoolean",
    "valueQuantity",
    "valueCodeableConcept",
    "onsetString",
    "effectivePeriod",
    "medicationReference",
    "medicationCodeableConcept",
    "extension",
    "modifierExtension",
    "contained",
    "id",
    "text",
    "display",
    "coding",
    "code",
    "system",
    "url",
    "value",
    "unit",
    "start",
    "end",
    "reference",
    "status",
    "category",
    "foo",
]


def _paths(doc: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every place in ``doc`` holding a value, at every depth."""
    if prefix:
        yield prefix
    if isinstance(doc, dict):
        for key, value in doc.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(doc, list):
        for i, value in enumerate(doc):
            yield from _paths(value, (*prefix, i))


def _at(doc: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        doc = doc[step]
    return doc


def _edits(value: Any) -> list[Any]:
    """Near misses of one value: its own kind, slightly wrong."""
    if isinstance(value, bool):
        return [not value, int(value), str(value).lower()]
    if isinstance(value, int):
        return [-value, value * 1e20, float(value), str(value), value + 0.5, value * 10**18, bool(value)]
    if isinstance(value, float):
        return [-value, value * 1e20, str(value), value + 0.5, value * 1e300, bool(value)]
    if isinstance(value, str):
        edits = [value + " ", " " + value, value + "\n", value.replace("-", "/"), value[:-1], value.upper()]
        edits += [
            value + "x" * 70,
            value.replace(" ", "  "),
            value.replace("0", "9"),
            value.replace("1", "3"),
        ]
        return [*edits, value.replace("T", " "), value.replace("Z", ""), value[:4], value + ".5"]
    if isinstance(value, list):
        return [value[0] if value else None, [*value, *value], [*value, None], value[1:]]
    if isinstance(value, dict):
        return [[value], {**value, "id": "x"}, {k: v for i, (k, v) in enumerate(value.items()) if i}]
    return []


@st.composite
def mutated(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    """A real resource (projected or whole) with one to four mutations at any depth, and
    its type (the model ``verdict`` picks; a mutation may change ``resourceType``)."""
    doc = copy.deepcopy(draw(st.sampled_from(VALID)))
    type_name = doc["resourceType"]
    if draw(st.booleans()):
        doc = _projection(doc)
    for _ in range(draw(st.integers(1, 4))):
        paths = list(_paths(doc))
        path = draw(st.sampled_from(paths))
        parent, key = _at(doc, path[:-1]), path[-1]
        target = parent[key]
        how = draw(st.sampled_from(["drop", "weird", "edit", "extra", "swap"]))
        if how == "drop":
            del parent[key]
        elif how == "weird":
            parent[key] = copy.deepcopy(draw(st.sampled_from(_WEIRD)))
        elif how == "edit" and _edits(target):
            parent[key] = draw(st.sampled_from(_edits(target)))
        elif how == "extra" and isinstance(target, dict):
            target[draw(st.sampled_from(_KEYS))] = copy.deepcopy(draw(st.sampled_from([*_WEIRD, target])))
        elif how == "swap":
            parent[key] = copy.deepcopy(_at(doc, draw(st.sampled_from(paths))))
        if draw(st.integers(0, 5)) == 0:  # now and then at the top, where the required elements sit
            doc[draw(st.sampled_from(_KEYS))] = copy.deepcopy(draw(st.sampled_from(_WEIRD)))
    return type_name, doc


@settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_a_mutated_real_resource_is_cleared_only_when_the_model_accepts_it(
    case: tuple[str, dict[str, Any]],
) -> None:
    type_name, doc = case
    _assert_safe(doc, type_name)


# --- it is safe: generated values in every primitive it models -------------------------------

_OBSERVATION = {
    "resourceType": "Observation",
    "status": "final",
    "code": {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]},
    "subject": {"reference": "Patient/1"},
}
_PATIENT: dict[str, Any] = {"resourceType": "Patient", "id": "p"}  # a type validated whole
_ORDER = {
    "resourceType": "MedicationRequest",
    "status": "active",
    "intent": "order",
    "subject": {"reference": "Patient/1"},
    "medicationCodeableConcept": {"text": "dobutamine"},
    "dosageInstruction": [{"timing": {"repeat": {"frequency": 1}}}],
}
#: (resource, path to the slot, its FHIR type)
SLOTS = [
    (_OBSERVATION, ("valueQuantity", "value"), "decimal"),
    (_OBSERVATION, ("effectiveDateTime",), "dateTime"),
    (_OBSERVATION, ("issued",), "instant"),
    (_OBSERVATION, ("valueInteger",), "integer"),
    (_OBSERVATION, ("valueBoolean",), "boolean"),
    (_OBSERVATION, ("status",), "code"),
    (_OBSERVATION, ("code", "coding", 0, "code"), "code"),
    (_OBSERVATION, ("code", "text"), "string"),
    (_OBSERVATION, ("code", "coding", 0, "system"), "uri"),
    (_OBSERVATION, ("id",), "id"),
    (_OBSERVATION, ("meta", "lastUpdated"), "instant"),
    (_OBSERVATION, ("effectivePeriod", "start"), "dateTime"),
    (_PATIENT, ("birthDate",), "date"),
    (_ORDER, ("dosageInstruction", 0, "timing", "repeat", "frequency"), "positiveInt"),
    (_ORDER, ("dosageInstruction", 0, "sequence"), "integer"),
    (_ORDER, ("dosageInstruction", 0, "timing", "repeat", "count"), "positiveInt"),
    (_ORDER, ("dosageInstruction", 0, "timing", "repeat", "durationMax"), "decimal"),
    (_OBSERVATION, ("_status",), "extension"),
    (_OBSERVATION, ("_effectiveDateTime",), "extension"),
    (_OBSERVATION, ("contained",), "contained"),
    (_OBSERVATION, ("category",), "list"),
    (_OBSERVATION, ("valueQuantity",), "Quantity"),
    (_OBSERVATION, ("code",), "CodeableConcept"),
    (_OBSERVATION, ("code", "coding"), "codings"),
    (_OBSERVATION, ("subject",), "Reference"),
]


def _put(template: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    doc = copy.deepcopy(template)
    parent = doc
    for step in path[:-1]:
        parent = parent.setdefault(step, {}) if isinstance(step, str) else parent[step]
    parent[path[-1]] = copy.deepcopy(value)
    return doc


_ANY_TEXT = st.text(st.characters(exclude_categories=()), max_size=12)
_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(-(2**70), 2**70),
    st.sampled_from([0, 1, -1, 2**31 - 1, 2**31, -(2**31), -(2**31) - 1, 10**15 - 1, 10**15]),
    st.floats(),
    st.floats(-1e20, 1e20),
    _ANY_TEXT,
    st.text(st.sampled_from(" \t\n\r\x0b\xa0ab-.:T0123456789Z+"), max_size=12),
    st.from_regex(types.DateTime.pattern, fullmatch=True),
    st.from_regex(types.Instant.pattern, fullmatch=True),
    st.from_regex(types.Date.pattern, fullmatch=True),
    st.from_regex(
        r"[0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,12})?(Z|[+-][0-9]{2}:[0-9]{2})?)?",
        fullmatch=True,
    ),
    st.from_regex(r"[A-Za-z0-9\-.]{60,70}", fullmatch=True),
    st.from_regex(r"[A-Za-z0-9\-.]{250,260}", fullmatch=True),
    st.sampled_from(["a" * 64, "a" * 65, "a" * 255, "a" * 256]),
    st.lists(st.sampled_from(_WEIRD), min_size=1, max_size=2),
    st.lists(st.none() | st.integers() | _ANY_TEXT, max_size=2),
    st.dictionaries(st.sampled_from(["value", "id", "extension", "url"]), st.none() | _ANY_TEXT, max_size=2),
)


@settings(max_examples=2500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(SLOTS), _VALUES)
def test_a_generated_primitive_is_cleared_only_when_the_model_accepts_it(slot: Any, value: Any) -> None:
    template, path, _fhir_type = slot
    _assert_safe(_put(template, path, value))


def test_every_odd_value_in_every_slot_is_cleared_only_if_the_model_accepts() -> None:
    """Every value of the odd list, alone and in a list, in every slot: no sampling."""
    for template, path, _fhir_type in SLOTS:
        for value in _WEIRD:
            _assert_safe(_put(template, path, value))
            _assert_safe(_put(template, path, [value]))


def _shape(value: Any) -> Any:
    if isinstance(value, dict):
        return tuple(sorted((k, _shape(v)) for k, v in value.items()))
    if isinstance(value, list):
        return tuple(sorted({_shape(v) for v in value}, key=repr))
    return type(value).__name__


#: One real resource per shape (keys and JSON types at every depth).
SHAPES = list({_shape(r): r for r in VALID}.values())


def test_every_odd_value_at_every_place_of_every_real_shape_is_cleared_only_if_the_model_accepts() -> None:
    """Each distinct real shape, projected, with each place in it replaced by each odd value."""
    for resource in SHAPES:
        doc = _projection(resource)
        type_name = doc["resourceType"]
        for path in _paths(doc):
            if path == ("resourceType",):
                continue
            for value in _WEIRD:
                mutated_doc = copy.deepcopy(doc)
                parent = _at(mutated_doc, path[:-1])
                parent[path[-1]] = copy.deepcopy(value)
                _assert_safe(mutated_doc, type_name)


@pytest.mark.parametrize(
    ("template", "path", "fhir_type"), SLOTS, ids=[f"{s[2]}-{'.'.join(map(str, s[1]))}" for s in SLOTS]
)
def test_each_primitive_slot_is_cleared_with_a_plain_valid_value(
    template: Any, path: Any, fhir_type: str
) -> None:
    """So the generated values above reach the checks (a slot never cleared would prove nothing)."""
    plain = {
        "decimal": 12.5,
        "dateTime": "2024-01-15T10:00:00+01:00",
        "instant": "2024-01-15T10:00:00.123Z",
        "integer": 3,
        "positiveInt": 2,
        "boolean": True,
        "code": "final",
        "string": "Systolic blood pressure",
        "uri": "http://loinc.org",
        "id": "obs-1",
        "date": "1950-02-28",
        "extension": {"extension": [{"url": "http://example.org/why", "valueCode": "asked"}]},
        "contained": [{"resourceType": "Device", "id": "d1", "type": {"text": "IABP"}}],
        "list": [{"coding": [{"system": "http://example.org", "code": "x"}]}],
        "codings": [{"system": "http://loinc.org", "code": "8480-6"}],
        "Quantity": {"value": 88, "unit": "mm[Hg]"},
        "CodeableConcept": {"text": "Systolic blood pressure"},
        "Reference": {"reference": "Patient/1", "display": "Jane"},
    }[fhir_type]
    doc = _put(template, path, plain)
    assert cleared(_model(doc), doc)
    assert _accepted(doc)


# --- cases a reader would ask about ----------------------------------------------------------

_SBP = {
    **_OBSERVATION,
    "valueQuantity": {"value": 88, "unit": "mm[Hg]", "system": "http://unitsofmeasure.org", "code": "mm[Hg]"},
}


def _with(**changes: Any) -> dict[str, Any]:
    doc = copy.deepcopy(_SBP)
    doc.update(changes)
    return {k: v for k, v in doc.items() if v is not _DROP}


_DROP = object()


@pytest.mark.parametrize(
    "doc",
    [
        pytest.param(_with(code=_DROP), id="required code missing"),
        pytest.param(_with(status=_DROP), id="required status missing"),
        pytest.param(
            _with(_status={"extension": [{"url": "http://x", "valueCode": "unknown"}]}, status=_DROP),
            id="status only as an extension",
        ),
        pytest.param(_with(valueString="88"), id="two types of value[x]"),
        pytest.param(_with(valueQuantity={"value": True}), id="boolean as decimal"),
        pytest.param(_with(valueQuantity={"value": "88"}), id="string as decimal"),
        pytest.param(_with(valueQuantity={"value": None}), id="null decimal"),
        pytest.param(_with(category=[]), id="empty list"),
        pytest.param(_with(category=[None]), id="null in a list"),
        pytest.param(_with(meta={}), id="empty object"),
        pytest.param(_with(meta=None), id="null object"),
        pytest.param(_with(status="final "), id="code with trailing space"),
        pytest.param(_with(status="fi  nal"), id="code with two spaces"),
        pytest.param(_with(effectiveDateTime="2024-02-30"), id="no such day"),
        pytest.param(_with(effectiveDateTime="2024-01-15T10:00:60Z"), id="leap second"),
        pytest.param(_with(effectiveDateTime="2024-01-15T10:00:00"), id="time without zone"),
        pytest.param(_with(status__ext={"id": "x"}), id="python name of an element"),
        pytest.param(
            _with(code={"resourceType": "CodeableConcept", "text": "x"}), id="resourceType inside an element"
        ),
        pytest.param(_with(contained=[{"resourceType": "Coding", "code": "x"}]), id="contained datatype"),
        pytest.param(_with(contained=[{"resourceType": "Nonsense"}]), id="contained unknown type"),
        pytest.param(_with(modifierExtension=[{"valueString": "x"}]), id="extension without url"),
        pytest.param(_with(id="a" * 65), id="id longer than 64"),
        pytest.param(_with(code={"text": "\x0b"}), id="string of a vertical tab"),
        pytest.param(_with(code={"text": "a\ud800"}), id="lone surrogate"),
        pytest.param(_with(fhir_comments="x"), id="fhir_comments"),
        pytest.param(_with(resourceType="Condition"), id="another resource type"),
    ],
)
def test_an_unusual_resource_is_left_to_the_model(doc: dict[str, Any]) -> None:
    model = get_fhir_model_class("Observation")
    assert not cleared(model, doc)


def test_a_resource_with_an_extension_on_a_primitive_and_a_contained_resource_is_cleared() -> None:
    doc = _with(
        _status={"extension": [{"url": "http://example.org/why", "valueString": "checked"}]},
        contained=[{"resourceType": "Device", "id": "d1", "type": {"text": "IABP"}}],
        modifierExtension=[{"url": "http://example.org/x", "valueBoolean": False}],
    )
    assert cleared(get_fhir_model_class("Observation"), doc)
    assert _accepted(doc)


def _nested(levels: int) -> dict[str, Any]:
    """An Observation nesting ``levels`` objects deep through its modifier extensions."""
    extension: dict[str, Any] = {"url": "http://x", "valueString": "y"}
    for _ in range(levels - 2):
        extension = {"url": "http://x", "extension": [extension]}
    return _with(modifierExtension=[extension])


def _called_from(frames: int, call: Any) -> Any:
    return call() if frames == 0 else _called_from(frames - 1, call)


def test_nesting_deeper_than_the_limit_is_left_to_the_model() -> None:
    model = get_fhir_model_class("Observation")
    assert cleared(model, _nested(MAX_DEPTH))
    assert not cleared(model, _nested(MAX_DEPTH + 1))
    # 120 levels: the model runs out of stack (the resource is left out, not a 500).
    assert not cleared(model, _nested(120))
    assert verdict(_nested(2000)).error is not None


def test_the_model_accepts_the_deepest_cleared_nesting_even_from_a_deep_stack() -> None:
    """The model's own limit depends on the caller's stack; a request's is far below 700."""
    assert _called_from(700, lambda: _accepted(_nested(MAX_DEPTH)))


def test_real_resources_nest_well_within_the_limit() -> None:
    def depth(value: Any) -> int:
        if isinstance(value, dict):
            return 1 + max((depth(v) for v in value.values()), default=0)
        if isinstance(value, list):
            return max((depth(v) for v in value), default=0)
        return 0

    assert max(depth(_projection(r)) for r in VALID) <= MAX_DEPTH - 4


def test_verdicts_are_those_of_the_model_on_every_real_resource() -> None:
    """The fast path changes no verdict: with it, as without it (model only)."""
    for resource in CORPUS:
        projection = _projection(resource)
        expected = _first_error(_model(resource), projection)
        found = verdict(resource)
        assert found.error == (expected[1] if expected is not None else None)


def test_a_shape_is_visible_to_other_threads_only_once_complete(monkeypatch: pytest.MonkeyPatch) -> None:
    """A half-built shape (required elements not filled in yet) would clear what lacks them."""
    monkeypatch.setattr(fast_validation, "_SPECS", {})
    visible_while_building: list[Any] = []
    known = fast_validation._validators_known

    def spy(model: Any) -> bool:
        visible_while_building.extend(m for m in fast_validation._BUILDING if m in fast_validation._SPECS)
        # A published shape has its check compiled (the default refuses everything).
        visible_while_building.extend(
            m for m, s in fast_validation._SPECS.items() if s and s.check is fast_validation._never
        )
        return known(model)

    compile_checks = fast_validation._compile

    def compile_spy(specs: list[Any]) -> None:
        # Compiled before it is published: no thread walks a shape without its check.
        visible_while_building.extend(s for s in specs if s in fast_validation._SPECS.values())
        compile_checks(specs)

    monkeypatch.setattr(fast_validation, "_validators_known", spy)
    monkeypatch.setattr(fast_validation, "_compile", compile_spy)
    observation = get_fhir_model_class("Observation")
    assert _spec_of(observation) is not None
    assert visible_while_building == []
    assert get_fhir_model_class("Extension") in fast_validation._SPECS
    assert not cleared(observation, _with(code=_DROP))
    assert cleared(observation, _SBP)


# --- the projection checked in place (``liberal.verdict``'s first step) ---------------------


def _in_place(type_name: str) -> Any:
    model = get_fhir_model_class(type_name)
    return projected(model, *read_elements().split(type_name, model))


def _assert_safe_in_place(doc: dict[str, Any], type_name: str) -> None:
    """Passed in place only when every key is one R4B defines (no name to note) and the
    model accepts what ``verdict`` hands it: the keys a fact reads."""
    if _in_place(type_name)(doc):
        read, unread = read_elements().split(type_name, get_fhir_model_class(type_name))
        assert set(doc) <= read | unread, sorted(set(doc) - read - unread)
        projection = {k: v for k, v in doc.items() if k in read}
        assert _first_error(get_fhir_model_class(type_name), projection) is None, json.dumps(doc)[:2000]
        assert verdict(doc) == Verdict(None)


def test_every_real_resource_with_only_defined_names_is_passed_in_place() -> None:
    """It pays: what the model accepts, holding no name to note, never reaches the model."""
    defined = [
        r for r in VALID if set(r) <= set().union(*read_elements().split(r["resourceType"], _model(r)))
    ]
    assert len(defined) > 0.9 * len(VALID)
    assert [json.dumps(r)[:300] for r in defined if not _in_place(r["resourceType"])(r)] == []


def test_no_real_resource_the_model_refuses_or_with_an_unknown_name_is_passed_in_place() -> None:
    for resource in CORPUS:
        _assert_safe_in_place(resource, resource["resourceType"])


@settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated(), st.booleans())
def test_a_mutated_real_resource_is_passed_in_place_only_when_the_model_accepts_its_projection(
    case: tuple[str, dict[str, Any]], whole: bool
) -> None:
    type_name, doc = case
    if whole:  # the mutations, but in the whole resource (unread elements and names kept)
        doc = {**next(r for r in VALID if r["resourceType"] == type_name), **doc}
    _assert_safe_in_place(doc, type_name)


def test_every_odd_value_at_every_top_level_place_of_every_real_shape_is_passed_in_place_only_if_valid() -> (
    None
):
    """Each distinct real shape, whole, with each top-level element and each of its values
    replaced by each odd value (read elements are checked, unread ones passed over)."""
    for resource in SHAPES:
        type_name = resource["resourceType"]
        for path in _paths(resource):
            if path == ("resourceType",) or len(path) > 3:
                continue
            for value in _WEIRD:
                doc = copy.deepcopy(resource)
                _at(doc, path[:-1])[path[-1]] = copy.deepcopy(value)
                _assert_safe_in_place(doc, type_name)
        for key in _KEYS:
            _assert_safe_in_place({**resource, key: "x"}, type_name)


def test_an_unread_element_is_passed_over_and_an_unknown_name_left_to_verdict() -> None:
    check = _in_place("Observation")
    assert check(_SBP)
    assert check({**_SBP, "note": [{"text": "\x0b"}]})  # unread and malformed: passed over
    assert not check({**_SBP, "valueFoo": 1})  # R4B does not define it: verdict names it
    assert not check({**_SBP, "code": {"text": "\x0b"}})
    assert not check({**_SBP, "resourceType": "Condition"})
    assert not check({k: v for k, v in _SBP.items() if k != "status"})


# --- the usual dates and times: recognised at once, each one the long check accepts ------


_LONG = {
    name: fast_validation._dated(pattern, re.compile(r"(?!)"))  # no usual form: the long check only
    for name, pattern in (
        ("date", types.Date.pattern),
        ("dateTime", types.DateTime.pattern),
        ("instant", types.Instant.pattern),
    )
}
_USUAL = {
    "date": fast_validation._USUAL_DATE,
    "dateTime": fast_validation._USUAL_DATETIME,
    "instant": fast_validation._USUAL_INSTANT,
}
_TIMES = [
    "",
    "T00:00:00Z",
    "T23:59:59.999+14:00",
    "T10:30:00-13:59",
    "T10:30:00+14:01",
    "T10:30:00+15:00",
    "T10:00:60Z",
    "T24:00:00Z",
    "T10:00:00",
    "T10:00Z",
    "T10:00:00.Z",
    "T\u0661\u0660:00:00Z",  # Arabic-Indic digits: not [0-9]
]


@pytest.mark.parametrize("kind", sorted(_USUAL))
def test_every_usual_date_is_one_the_long_check_accepts(kind: str) -> None:
    """Every year kind, month 00-13, day 00-32 (29 February in leap and common years),
    with and without times: the usual pattern accepts only what the long check does."""
    usual, long = _USUAL[kind].fullmatch, _LONG[kind]
    accepted = 0
    for year in (
        "0000",
        "0001",
        "0999",
        "1000",
        "1900",
        "2000",
        "2023",
        "2024",
        "9999",
        "\u0662\u0660\u0662\u0664",
        "20244",
    ):
        for text in (year, *(f"{year}-{m:02}" for m in range(14))):
            assert not usual(text) or long(text), text
        for month, day, time in itertools.product(range(14), range(33), _TIMES):
            text = f"{year}-{month:02}-{day:02}{time}"
            if usual(text):
                assert long(text), text
                accepted += 1
    assert accepted > 1000  # it pays


@settings(max_examples=500, deadline=None)
@given(
    st.sampled_from(sorted(_USUAL)),
    st.from_regex(
        r"[0-9]{4}(-[0-9]{2}(-[0-9]{2}(T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,4})?(Z|[+-][0-9]{2}:[0-9]{2})?)?)?)?",
        fullmatch=True,
    ),
)
def test_a_generated_usual_date_is_one_the_long_check_accepts(kind: str, text: str) -> None:
    assert not _USUAL[kind].fullmatch(text) or _LONG[kind](text)


@pytest.mark.parametrize(
    ("kind", "text"),
    [
        ("date", "2024-12-21"),
        ("date", "2024-12"),
        ("date", "2024"),
        ("dateTime", "2024-12-21T10:30:00Z"),
        ("dateTime", "2024-12-21T10:30:00.123+01:00"),
        ("dateTime", "2024-01-31"),
        ("instant", "2024-12-21T10:30:00.123Z"),
        ("instant", "2024-04-30T23:59:59-05:00"),
    ],
)
def test_the_usual_forms_are_recognised_at_once(kind: str, text: str) -> None:
    assert _USUAL[kind].fullmatch(text)
