"""Shortcuts taken for speed give exactly what the long way gives.

The per-call value-set index: ``map_chart`` indexes Conditions and Observations by value
set once, and each fact then reads only the resources its value set lists. On generated
codings (listed codes of every value set, unknown codes, codes of one system under
another, non-string and missing parts, a concept that is not a dict) the index must hold,
for every value set, the same resources in the same order as a scan of the chart keeping
those that ``match``.

The code-status Observations (``valued_in``): those whose ``valueCodeableConcept`` a
code-status value set lists, in chart order, exactly as a scan asking each value set finds.

Resources by type (``Collected.of_type``): grouped once per call, the same resources in the
same (chart) order as a scan, for one type or several.

Time parsing: a string longer than ``_LONGEST_DATE`` goes straight to the instant parser,
which is right only if no year, month or day pattern can match it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fhir_mappings import scope
from fhir_mappings.elements import codings
from fhir_mappings.mapping import _by_value_set, _Mapper, valued_in
from fhir_mappings.parse import Collected, Report
from fhir_mappings.thresholds import load_thresholds
from fhir_mappings.timing import _DAY, _LONGEST_DATE, _MONTH, _YEAR
from fhir_mappings.valuesets import all_value_sets

LISTED = sorted({(c.system, c.code) for vs in all_value_sets().values() for c in vs.codes})
SYSTEMS = [*sorted({system for system, _ in LISTED}), "http://example.org/other"]

part = st.one_of(st.none(), st.integers(0, 9), st.sampled_from(SYSTEMS), st.text(max_size=6))
listed = st.sampled_from(LISTED).map(lambda sc: {"system": sc[0], "code": sc[1]})
crossed = st.tuples(st.sampled_from(SYSTEMS), st.sampled_from(LISTED)).map(
    lambda pair: {"system": pair[0], "code": pair[1][1]}
)
odd = st.one_of(
    st.fixed_dictionaries({}, optional={"system": part, "code": part}),
    st.integers(),
    st.none(),
)
coding = st.one_of(listed, listed, crossed, odd)
concept = st.one_of(
    st.fixed_dictionaries({"coding": st.lists(coding, max_size=4)}),
    st.fixed_dictionaries({"coding": st.one_of(st.none(), st.text(max_size=3))}),
    st.none(),
    st.just("not a concept"),
)


@settings(deadline=None)  # no timing in tests: a loaded machine is not a failure
@given(st.lists(concept, max_size=12))
def test_index_equals_a_full_scan_for_every_value_set(concepts: list[Any]) -> None:
    chart = [{"resourceType": "Condition", "id": f"c-{i}", "code": c} for i, c in enumerate(concepts)]
    index = _by_value_set(chart)
    for vs_id, vs in all_value_sets().items():
        scanned = [r for r in chart if vs.match(codings(r.get("code"))) is not None]
        assert [id(r) for r in index.get(vs_id, [])] == [id(r) for r in scanned], vs_id


CODE_STATUS_CODES = sorted({(c.system, c.code) for v in scope.CODE_STATUS for c in all_value_sets()[v].codes})
code_status_concept = st.lists(
    st.one_of(st.sampled_from(CODE_STATUS_CODES).map(lambda sc: {"system": sc[0], "code": sc[1]}), coding),
    max_size=3,
).map(lambda found: {"coding": found})


@settings(deadline=None)
@given(st.lists(st.one_of(code_status_concept, concept, st.just(None)), max_size=12))
def test_code_status_observations_are_those_a_scan_finds_in_chart_order(values: list[Any]) -> None:
    chart = [
        {"resourceType": "Observation", "id": f"o-{i}", "valueCodeableConcept": v}
        for i, v in enumerate(values)
    ]
    for resource in chart[::3]:
        del resource["valueCodeableConcept"]  # most Observations hold no coded value
    scanned = [r for r in chart if scope._code_status_hit(r.get("valueCodeableConcept")) is not None]
    assert [id(r) for r in valued_in(chart, scope.CODE_STATUS)] == [id(r) for r in scanned]


TYPES = ["Condition", "Observation", "Procedure", "Device", "DeviceUseStatement", "Patient"]


@settings(deadline=None)
@given(
    st.lists(st.sampled_from(TYPES), max_size=20), st.lists(st.sampled_from(TYPES), min_size=1, max_size=3)
)
def test_resources_of_a_type_are_those_a_scan_finds_in_chart_order(
    types: list[str], asked: list[str]
) -> None:
    resources = tuple({"resourceType": t, "id": str(i)} for i, t in enumerate(types))
    chart = Collected(resources, {}, {}, ())
    scanned = [r for r in resources if r["resourceType"] in asked]
    assert [id(r) for r in chart.of_type(*asked)] == [id(r) for r in scanned]
    assert [id(r) for r in chart.of_type(*asked)] == [id(r) for r in scanned]  # asked again: the same


date_like = st.text(alphabet="0123456789-T:Z.+\n\u0660", min_size=_LONGEST_DATE + 1, max_size=16)


@settings(deadline=None)
@given(st.one_of(date_like, st.text(min_size=_LONGEST_DATE + 1)))
def test_no_date_pattern_matches_a_string_longer_than_a_day(raw: str) -> None:
    assert not any(pattern.match(raw) for pattern in (_YEAR, _MONTH, _DAY))


def test_the_longest_string_a_date_pattern_matches_is_not_cut_short() -> None:
    longest = "2026-11-20\n"
    assert _DAY.match(longest) is not None
    assert len(longest) <= _LONGEST_DATE


def test_asking_for_an_unknown_value_set_still_fails_when_no_condition_is_coded() -> None:
    """Value sets coding no Condition of the chart skip the scan, never the check of the id:
    a misspelt id must not read as "no such Condition"."""
    chart = Collected(({"resourceType": "Condition", "id": "c", "code": None},), {}, {}, ())
    mapper = _Mapper(chart, Report(), datetime(2026, 1, 1, tzinfo=UTC), load_thresholds())
    assert mapper.active("heart-failure") == ()
    with pytest.raises(KeyError, match="no-such-value-set"):
        mapper.active("no-such-value-set")
