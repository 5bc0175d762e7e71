"""Validation costs what the rules read (issue 18): the R4B model validates a projection.

``liberal.verdict`` hands the model only the elements a fact reads. The reference here is
the verdict before issue 18: validate the whole resource, then forgive errors that lie
only in elements no fact reads. On every fixture, scenario and demo chart, and on
generated charts with invalid values in read and unread elements, both leave out the same
resources and give the same facts and byte-identical cards. What changes is said in the
notes only: a malformed value in an R4 element no fact reads is no longer noticed (an
element R4 does not define still is), and the reason a resource was left out names its
first error among the read elements.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any
from unittest import mock

import pytest
from fhir.resources.R4B import get_fhir_model_class
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fhir_mappings import ChartInput, PatientFacts, map_chart
from fhir_mappings.facts import Status
from fhir_mappings.liberal import _NAME_LIMIT, Verdict, _first_error, read_elements, verdict
from fhir_mappings.parse import KEY_LABELS, TOLERATED_PREFIX
from tests.fhir_mappings.charts import NOW, PATIENT
from tests.fhir_mappings.test_lazy_validation import FIXTURES, VALID_FIXTURES, _cards, _key, charts
from tests.fhir_mappings.test_liberal_validation import _every_chart, running_dobutamine, sbp_89

# --- the reference: the whole resource validated, unread errors forgiven ----------------


def whole_verdict(resource: Any) -> Verdict:
    """The verdict before issue 18 (fhir_mappings/liberal.py at 3d79949)."""
    type_name = str(resource.get("resourceType"))
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
    second = _first_error(model, {k: v for k, v in resource.items() if k not in tops})
    if second is not None:
        return Verdict(second[1])
    return Verdict(None, tuple(sorted(t[:_NAME_LIMIT] for t in tops)))


@contextmanager
def whole_validation() -> Iterator[None]:
    with mock.patch("fhir_mappings.parse.verdict", whole_verdict):
        yield


def _left_out(facts: PatientFacts) -> set[tuple[str, str | None]]:
    failed = (n for n in facts.data_quality if n.reason.startswith("failed validation"))
    return {(n.resource_type, n.resource_id) for n in failed}


def _named(facts: PatientFacts) -> set[tuple[str, str | None, str]]:
    """(type, id, element) of every element a note says was not read."""
    return {
        (n.resource_type, n.resource_id, name)
        for n in facts.data_quality
        if n.reason.startswith(TOLERATED_PREFIX)
        for name in n.reason.removeprefix(TOLERATED_PREFIX).split(", ")
    }


def _other_notes(facts: PatientFacts) -> set[Any]:
    return {n for n in facts.data_quality if not n.kept and not n.reason.startswith("failed validation")}


def assert_same_answer(chart: ChartInput, now: Any = NOW) -> None:
    projected = map_chart(chart, now=now)
    with whole_validation():
        whole = map_chart(chart, now=now)
    assert _left_out(projected) == _left_out(whole)
    assert _other_notes(projected) == _other_notes(whole)
    assert _named(projected) <= _named(whole)  # malformed unread R4 elements: no longer named
    assert replace(whole, data_quality=projected.data_quality) == projected
    assert _cards(whole) == _cards(projected)


# --- every chart the project has ----------------------------------------------------------


def test_projected_validation_answers_as_whole_validation_on_every_chart() -> None:
    checked = 0
    for chart, now in _every_chart():
        assert_same_answer(chart, now)
        checked += 1
    assert checked > 50


# --- generated charts, with invalid values in read and unread elements --------------------

#: (element, value) pairs a fact reads, each invalid in R4B for every listed type.
INVALID_READ = [
    ("status", 5),
    ("subject", {"reference": 5}),
    ("meta", {"lastUpdated": "not an instant"}),
    ("id", "not an id!"),
    ("code", {"coding": "8480-6"}),
    ("category", "vital-signs"),
    ("contained", [{"resourceType": "Medication", "code": "x"}]),
]
#: (element, value) pairs no fact reads: R4 elements with a malformed value, or undefined.
INVALID_UNREAD = [
    ("text", {"status": "generated", "div": 5}),
    ("note", "free text where a list belongs"),
    ("identifier", {"value": 5}),
    ("extension", [{"url": 5}]),
    ("language", ["en"]),
    ("encounterX", {"reference": "Encounter/e-1"}),
    ("unknownElement", True),
    ("_zeta", {"bad": 1}),
]


@st.composite
def mutated(draw: st.DrawFn, resource: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(resource)
    for element, value in draw(st.lists(st.sampled_from(INVALID_UNREAD), max_size=3)):
        out[element] = value
    if draw(st.integers(0, 3)) == 0:
        element, value = draw(st.sampled_from(INVALID_READ))
        out[element] = value
    if out.get("resourceType") == "Observation" and "valueQuantity" in out and draw(st.integers(0, 5)) == 0:
        out["valueString"] = "89"  # two value[x]: a rule across read elements
    return out


@st.composite
def mutated_charts(draw: st.DrawFn) -> ChartInput:
    chart = draw(charts())
    prefetch: dict[str, Any] = {}
    for key, bundle in chart.prefetch.items():
        if bundle is None:
            prefetch[key] = None
            continue
        entries = [{"resource": draw(mutated(e["resource"]))} for e in bundle["entry"]]
        prefetch[key] = {**bundle, "entry": entries}
    return ChartInput(chart.patient_id, prefetch)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(chart=mutated_charts())
def test_projected_validation_answers_as_whole_validation_on_mutated_charts(chart: ChartInput) -> None:
    assert_same_answer(chart)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), resource=st.sampled_from(FIXTURES))
def test_a_resource_is_left_out_exactly_when_whole_validation_leaves_it_out(
    data: st.DataObject, resource: dict[str, Any]
) -> None:
    changed = data.draw(mutated(resource))
    projected, whole = verdict(changed), whole_verdict(changed)
    assert (projected.error is None) == (whole.error is None)
    assert set(projected.tolerated) <= set(whole.tolerated)


# --- a read element is validated exactly as strictly as before --------------------------


READ_CASES = [
    pytest.param(resource, element, value, id=f"{resource['resourceType']}/{resource.get('id')}.{element}")
    for resource in VALID_FIXTURES[::5]
    for element, value in INVALID_READ
    if read_elements().reads(resource["resourceType"], element)
]


@pytest.mark.parametrize(("resource", "element", "value"), READ_CASES)
def test_an_invalid_value_in_a_read_element_is_still_left_out(
    resource: dict[str, Any], element: str, value: Any
) -> None:
    found = verdict({**resource, element: value})
    assert found.error is not None
    assert found.error.startswith(element) or found.error.startswith("resource")
    assert str(value) not in found.error or len(str(value)) < 3


def test_an_invalid_sbp_value_is_left_out_beside_a_malformed_unread_note() -> None:
    bad = sbp_89(note="x", valueQuantity={"value": "eighty-nine", "unit": "mm[Hg]"})
    prefetch: dict[str, Any] = {key: None for key in KEY_LABELS}
    prefetch["vital-signs"] = {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": bad}]}
    result = map_chart(ChartInput(PATIENT, prefetch), now=NOW)
    assert result.hypotension.status is not Status.PRESENT
    (note,) = [n for n in result.data_quality if n.resource_id == "bp-1"]
    assert note.reason.startswith("failed validation: valueQuantity.value")  # not "note"


# --- what is not validated any more ---------------------------------------------------------


def test_a_malformed_r4_element_no_fact_reads_is_not_validated() -> None:
    found = verdict(running_dobutamine(note="x", text={"div": 5}, identifier="x"))
    assert found == Verdict(None)
    assert whole_verdict(running_dobutamine(note="x")).tolerated == ("note",)  # noticed before


def test_an_element_r4_does_not_define_is_still_named() -> None:
    found = verdict(running_dobutamine(encounter={"reference": "Encounter/e-1"}, note="x"))
    assert found == Verdict(None, ("encounter",))


def test_nesting_too_deep_for_the_model_in_an_unread_element_no_longer_leaves_it_out() -> None:
    deep: dict[str, Any] = {"url": "http://example.org/x", "valueString": "x"}
    for _ in range(400):
        deep = {"url": "http://example.org/x", "extension": [deep]}
    assert whole_verdict(sbp_89(extension=[deep])).error is not None
    assert verdict(sbp_89(extension=[deep])) == Verdict(None)


def test_two_reported_choices_of_an_order_are_not_checked() -> None:
    # The one choice of a listed type no fact reads (see the next test).
    order = next(r for r in VALID_FIXTURES if r["resourceType"] == "MedicationRequest")
    twice = {**order, "reportedBoolean": True, "reportedReference": {"reference": "Practitioner/p"}}
    assert whole_verdict(twice).error is not None
    assert verdict(twice).error is None


@pytest.mark.parametrize("kind", sorted(read_elements().by_type))
def test_every_element_the_model_requires_and_every_choice_it_counts_is_read(kind: str) -> None:
    # What makes the projection valid exactly when the read elements are: the model's rules
    # across elements (required elements, one type per choice) concern read elements only.
    model = get_fhir_model_class(kind)
    reads = read_elements().reads
    required = {f.alias or name for name, f in model.model_fields.items() if f.is_required()}
    required |= {name for name, _ in model.model_construct().get_required_fields()}
    assert {name for name in required if not reads(kind, name)} == set()
    choices = model.model_construct().get_one_of_many_fields()
    unread = {prefix for prefix, names in choices.items() if not all(reads(kind, n) for n in names)}
    assert unread == ({"reported"} if kind == "MedicationRequest" else set())


def test_the_cases_reach_every_listed_type() -> None:
    assert {_key(r) for r in FIXTURES} >= {"vital-signs", "labs", "mr-grade", "conditions"}
    assert {case.values[0]["resourceType"] for case in READ_CASES} >= {"Observation", "Condition"}
