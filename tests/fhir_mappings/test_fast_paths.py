"""Shortcuts taken for speed give exactly what the long way gives.

The per-call value-set index: ``map_chart`` indexes Conditions and Observations by value
set once, and each fact then reads only the resources its value set lists. On generated
codings (listed codes of every value set, unknown codes, codes of one system under
another, non-string and missing parts, a concept that is not a dict) the index must hold,
for every value set, the same resources in the same order as a scan of the chart keeping
those that ``match``.

A drug's classes by code (``medications._by_code``) are matched only for the classes that
list one of its codings: the same matches, in the same order, as asking every class.

The code-status Observations (``valued_in``): those whose ``valueCodeableConcept`` a
code-status value set lists, in chart order, exactly as a scan asking each value set finds.

Resources by type (``Collected.of_type``): grouped once per call, the same resources in the
same (chart) order as a scan, for one type or several.

A resource naming its own patient in ``subject`` only is kept without the full test of
both fields (``_same_patient``): kept exactly when the full test keeps it.

Blood pressure is read newest first only while older readings can change hypotension
(``vitals._settled``): the same hypotension, with and without ``map_only``, as reading
every pressure, on generated series; its notes are a subset.

A lab rule with no Observation coded for it (``_Mapper.lab``, ``_Mapper.lactate``) is
decided without selecting: the same finding as ``assess`` / ``assess_series`` give on no
readings (and on readings of other codes), with no note.

Time parsing: a string longer than ``_LONGEST_DATE`` goes straight to the instant parser,
which is right only if no year, month or day pattern can match it. A reading with an
instant is placed in time (``series._span``, ``observations._time_in_window``) without the
general parser: the same time, the same problem and the same notes as the long way.

Validation projects a resource onto the elements a fact reads by two sets per type
(``ReadElements.split``): a name is kept exactly when ``reads`` says a fact reads it.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest.mock import patch

import pytest
from fhir.resources.R4B import get_fhir_model_class
from hypothesis import example, given, settings
from hypothesis import strategies as st

from fhir_mappings import labs, medications, observations, scope, series, vitals
from fhir_mappings.elements import codings
from fhir_mappings.liberal import _defined, read_elements
from fhir_mappings.mapping import _by_value_set, _Mapper, valued_in
from fhir_mappings.parse import Collected, Report, _names_other_patient, _References, _same_patient, collect
from fhir_mappings.prefetch import ChartInput
from fhir_mappings.thresholds import default_thresholds, load_thresholds
from fhir_mappings.timing import _DAY, _LONGEST_DATE, _MONTH, _YEAR, TimeProblem, parse_time
from fhir_mappings.valuesets import (
    all_value_sets,
    first_listed,
    value_set,
    value_sets_of,
    value_sets_of_concept,
)
from fhir_mappings.vitals import blood_pressures, hypotension
from tests.fhir_mappings.charts import NOW

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


@settings(deadline=None)
@given(st.lists(st.tuples(concept, st.sampled_from([None, *medications.MatchKind])), max_size=4))
def test_drug_classes_by_code_are_those_asking_every_class_finds(
    concepts: list[tuple[Any, medications.MatchKind | None]],
) -> None:
    def every_class() -> list[medications.DrugMatch]:
        found = []
        for drug, kind in concepts:
            for vs_id in medications.CLASSES:
                hit = value_set(vs_id).match(codings(drug))
                if hit is not None:
                    own = (
                        medications.MatchKind.ATC
                        if hit.system == medications.ATC
                        else medications.MatchKind.CODE
                    )
                    found.append(medications.DrugMatch(vs_id, kind or own, hit.system, hit.code, hit.display))
        return found

    assert list(medications._by_code(concepts)) == every_class()


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


REFERENCES = [
    "Patient/pat-1",
    "Patient/pat-2",
    "https://ehr.example/fhir/Patient/pat-1",
    "Group/g-1",
    "#p",
    "",
]
reference = st.one_of(
    st.sampled_from(REFERENCES).map(lambda ref: {"reference": ref}),
    st.sampled_from(REFERENCES),
    st.none(),
    st.just({"display": "no reference"}),
)


@settings(deadline=None)
@given(st.lists(st.fixed_dictionaries({}, optional={"subject": reference, "patient": reference}), max_size=8))
# The subject is the patient's own, the patient another's: left out.
@example([{"subject": {"reference": "Patient/pat-1"}, "patient": {"reference": "Patient/pat-2"}}])
def test_the_usual_own_patient_shortcut_keeps_what_the_full_test_keeps(fields: list[dict[str, Any]]) -> None:
    resources = [{"resourceType": "Observation", "id": f"o-{i}", **f} for i, f in enumerate(fields)]
    notes: list[Any] = []
    kept = list(_same_patient(resources, "pat-1", notes))
    assert [id(r) for r in kept] == [id(r) for r in resources if not _names_other_patient(r, "Patient/pat-1")]
    assert len(notes) == len(resources) - len(kept)


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


@pytest.mark.parametrize(
    "rule",
    [labs.CREATININE_RULE, labs.BILIRUBIN_RULE, labs.PLATELETS_RULE, labs.LACTATE_RULE],
    ids=lambda r: r.value_set,
)
@pytest.mark.parametrize("hours", [None, 6, 72, 24 * 9])
def test_a_lab_rule_with_no_reading_coded_for_it_is_decided_as_the_long_way_decides(
    rule: labs.LabRule, hours: int | None
) -> None:
    thresholds = default_thresholds()
    if hours is not None:
        thresholds = replace(thresholds, labs_window_hours=hours, lactate_window_hours=hours)
    long_way = labs.assess_series if rule is labs.LACTATE_RULE else labs.assess
    other = {
        "resourceType": "Observation",
        "id": "o",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]},
        "effectiveDateTime": "2026-11-20T11:00:00Z",
        "valueQuantity": {
            "value": 80,
            "unit": "mm[Hg]",
            "system": "http://unitsofmeasure.org",
            "code": "mm[Hg]",
        },
    }
    chart = Collected((other,), {}, {}, ())
    mapper = _Mapper(chart, Report(), NOW, thresholds)
    short = mapper.lactate() if rule is labs.LACTATE_RULE else mapper.lab(rule)
    for readings in ([], [other]):
        report = Report()
        assert long_way(rule, readings, now=NOW, thresholds=thresholds, report=report) == short
        assert report.notes == ()
    assert mapper.report.notes == ()
    assert short.status is labs.Status.UNKNOWN
    assert short.missing[0].startswith(f"no {rule.label} in the last")


# --- blood pressure read newest first, only until older readings cannot change hypotension ---

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
CODES = {"sbp": "8480-6", "dbp": "8462-4", "map": "8478-0", "panel": "85354-9"}
#: Around every limit: the plausible minimums (40, 20), the cut-offs (90, 60), the maximums.
PRESSURES = [0, 15, 19, 20, 35, 39, 40, 55, 59, 60, 61, 75, 89, 90, 91, 120, 199, 201, 299, 301]
#: Minutes before NOW: ties, the 30-minute confirmation window's edges, the 24 h window's edge.
MINUTES = [0, 1, 5, 29, 30, 31, 45, 60, 61, 90, 120, 600, 1439, 1440, 1441, 1500]


def _quantity(value: int, unit: str | None) -> dict[str, Any]:
    if unit is None:
        return {"value": value}
    if unit == "kPa":
        return {"value": round(value / 7.50062, 1), "unit": "kPa", "system": UCUM, "code": "kPa"}
    return {"value": value, "unit": unit, "system": UCUM, "code": unit}


@st.composite
def _reading(draw: st.DrawFn, rid: str) -> dict[str, Any]:
    kind = draw(st.sampled_from(["sbp", "sbp", "map", "panel"]))
    ago = draw(st.sampled_from(MINUTES))
    moment = NOW - timedelta(minutes=ago)
    when = draw(
        st.sampled_from(
            [
                moment.isoformat().replace("+00:00", "Z"),
                moment.isoformat().replace("+00:00", "Z"),
                moment.isoformat().replace("+00:00", "Z"),
                moment.date().isoformat(),  # a date only: not usable, may be the newest
                moment.replace(tzinfo=None).isoformat(),  # no zone: not usable
            ]
        )
    )
    unit = draw(st.sampled_from(["mm[Hg]", "mm[Hg]", "mm[Hg]", "kPa", None, "cm[H2O]"]))
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "id": rid,
        "status": draw(st.sampled_from(["final", "final", "final", "amended", "preliminary"])),
        "code": {"coding": [{"system": LOINC, "code": CODES[kind]}]},
        "subject": {"reference": "Patient/pat-1"},
        "effectiveDateTime": when,
    }
    if draw(st.integers(0, 7)) == 0:
        resource["meta"] = {"lastUpdated": "not-a-date"}  # fails validation: left out
    if kind != "panel":
        resource["valueQuantity"] = _quantity(draw(st.sampled_from(PRESSURES)), unit)
        return resource
    parts = draw(st.lists(st.sampled_from(["sbp", "dbp", "map"]), min_size=1, max_size=3, unique=True))
    resource["component"] = [
        {
            "code": {"coding": [{"system": LOINC, "code": CODES[part]}]},
            "valueQuantity": _quantity(draw(st.sampled_from(PRESSURES)), unit),
        }
        for part in parts
    ]
    return resource


@st.composite
def _series(draw: st.DrawFn) -> list[dict[str, Any]]:
    count = draw(st.integers(0, 12))
    return [draw(_reading(f"bp-{i}")) for i in range(count)]


def _simple(kind: str, minutes: int, value: int) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": f"{kind}-{minutes}",
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": CODES[kind]}]},
        "subject": {"reference": "Patient/pat-1"},
        "effectiveDateTime": (NOW - timedelta(minutes=minutes)).isoformat(),
        "valueQuantity": _quantity(value, "mm[Hg]"),
    }


@settings(deadline=None, max_examples=400)
@given(_series())
# A low newest reading confirmed only by one older than a normal reading between them.
@example([_simple("sbp", 0, 35), _simple("sbp", 5, 120), _simple("sbp", 29, 38)])
# The same for the MAP alone (map_only), past where every pressure is settled.
@example([_simple("sbp", 0, 120), _simple("map", 40, 15), _simple("map", 45, 80), _simple("map", 65, 18)])
def test_blood_pressure_read_until_settled_decides_as_reading_every_pressure(
    series: list[dict[str, Any]],
) -> None:
    """Same hypotension, with and without ``map_only``; notes only of readings read."""
    limits = default_thresholds()
    lazy_report, full_report = Report(), Report()
    lazy = blood_pressures(series, now=NOW, thresholds=limits, report=lazy_report)
    with patch.object(vitals, "_settled", lambda *_args: False):
        full = blood_pressures(series, now=NOW, thresholds=limits, report=full_report)
    for map_only in (False, True):
        assert hypotension(lazy, limits, None, map_only=map_only) == hypotension(
            full, limits, None, map_only=map_only
        ), map_only
    assert set(lazy_report.notes) <= set(full_report.notes)


def test_blood_pressure_stops_reading_past_a_usable_reading_and_its_confirmation_window() -> None:
    series = [
        {
            "resourceType": "Observation",
            "id": f"bp-{minutes}",
            "status": "final",
            "code": {"coding": [{"system": LOINC, "code": CODES["panel"]}]},
            "subject": {"reference": "Patient/pat-1"},
            "effectiveDateTime": (NOW - timedelta(minutes=minutes)).isoformat(),
            "component": [
                {
                    "code": {"coding": [{"system": LOINC, "code": CODES["sbp"]}]},
                    "valueQuantity": _quantity(120, "mm[Hg]"),
                },
                {
                    "code": {"coding": [{"system": LOINC, "code": CODES["map"]}]},
                    "valueQuantity": _quantity(80, "mm[Hg]"),
                },
            ],
        }
        for minutes in (0, 20, 30, 31, 60, 600)
    ]
    pressures = blood_pressures(series, now=NOW, thresholds=default_thresholds(), report=Report())
    assert sorted({p.resource["id"] for p in pressures.points}) == ["bp-0", "bp-20", "bp-30"]


# -- Instants ------------------------------------------------------------------------------
# ``timing.instant`` reads a dateTime with a time of day and a zone; ``parse_time`` takes it
# first, and ``series._span`` and ``observations._time_in_window`` use it to place a
# reading in time without a FhirTime. Each must give what the long way gives (``instant``
# patched to say None): the same time, the same problem, the same notes.

_offsets = st.one_of(
    st.sampled_from(["Z", "+00:00", "-00:00", "+14:00", "-12:00", "+05:30", "+23:59", ""]),
    st.integers(-(24 * 60 - 1), 24 * 60 - 1).map(
        lambda m: f"{'+' if m >= 0 else '-'}{abs(m) // 60:02}:{abs(m) % 60:02}"
    ),
)
_clock_times = st.builds(
    lambda moment, fraction, zone: (
        moment.strftime("%Y-%m-%dT%H:%M:%S")[-19:].rjust(19, "0") + fraction + zone
    ),
    st.one_of(
        st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59)),
        st.sampled_from([datetime(1, 1, 1), datetime(9999, 12, 31, 23, 59, 59)]),
        st.integers(-4 * 24 * 60, 60).map(lambda m: (NOW + timedelta(minutes=m)).replace(tzinfo=None)),
        st.sampled_from([(NOW - timedelta(hours=h)).replace(tzinfo=None) for h in (0, 24, 48)]),
    ),
    st.sampled_from(["", ".5", ".958820", ".000"]),
    _offsets,
)
time_strings = st.one_of(
    _clock_times,
    _clock_times.map(lambda raw: raw.replace("T", " ")),
    _clock_times.map(lambda raw: raw + "\n"),
    st.sampled_from(["2026-11-20", "2026-11", "2026", "2026-11-20T12:00", "2026-02-30T10:00:00Z", "T", ""]),
    date_like,
    st.text(max_size=30),
)
effective = st.one_of(
    st.fixed_dictionaries({"effectiveDateTime": st.one_of(time_strings, st.integers(), st.none())}),
    st.fixed_dictionaries({"effectiveInstant": time_strings}),
    st.fixed_dictionaries(
        {"effectivePeriod": st.fixed_dictionaries({}, optional={"start": time_strings, "end": time_strings})}
    ),
    st.fixed_dictionaries({"effectiveDateTime": time_strings, "effectiveInstant": time_strings}),
)


def _parsed(raw: Any) -> tuple[Any, ...]:
    try:
        found = parse_time(raw)
    except TimeProblem as problem:
        return ("problem", str(problem))
    return (found.start, found.start.tzinfo, found.precision)


@settings(deadline=None, max_examples=500)
@given(st.one_of(time_strings, st.integers(), st.none()))
@example("2026-11-20T12:00:00Z")
@example("0001-01-01T00:00:00+14:00")  # out of range once in UTC
@example("2026-11-20T12:00:00")  # no zone
def test_an_instant_parses_as_the_long_way_parses_it(raw: Any) -> None:
    fast = _parsed(raw)
    with patch("fhir_mappings.timing.instant", lambda _raw: None):
        assert fast == _parsed(raw)


@settings(deadline=None, max_examples=500)
@given(effective)
@example({"effectiveDateTime": "2026-11-20T10:00:00+02:00"})
@example({"effectiveDateTime": "2026-11-20T10:00:00"})
@example({"effectiveDateTime": "0001-01-01T05:00:00"})  # no zone, at the calendar's start
def test_a_reading_is_placed_in_time_as_the_long_way_places_it(resource: dict[str, Any]) -> None:
    fast = series._span(resource)
    with patch("fhir_mappings.series.instant", lambda _raw: None):
        assert fast == series._span(resource)


@settings(deadline=None, max_examples=300)
@given(st.lists(effective, max_size=4), st.sampled_from([timedelta(hours=24), timedelta(hours=72)]))
@example(
    [{"effectiveDateTime": "2026-11-19T12:00:00Z"}, {"effectiveDateTime": "2026-11-18T12:00:00Z"}],
    timedelta(hours=24),
)
@example([{"effectiveDateTime": "2026-11-20T12:00:00.000001Z"}], timedelta(hours=24))  # after now
def test_a_series_places_its_readings_as_the_long_way_places_them(
    times: list[dict[str, Any]], window: timedelta
) -> None:
    code = value_set("systolic-bp").codes[0]
    resources = [
        {
            "resourceType": "Observation",
            "id": f"bp-{i}",
            "status": "final",
            "code": {"coding": [{"system": code.system, "code": code.code}]},
            **fields,
        }
        for i, fields in enumerate(times)
    ]

    def placed() -> tuple[Any, ...]:
        report = Report()
        found = series.timed(resources, ("systolic-bp",), now=NOW, window=window, report=report)
        return (found, [t.start.tzinfo for t in found], report.notes, report._routine)

    fast = placed()
    with patch("fhir_mappings.series.instant", lambda _raw: None):
        assert fast == placed()


@settings(deadline=None, max_examples=500)
@given(effective, st.sampled_from([timedelta(hours=24), timedelta(hours=48)]), st.booleans())
@example({"effectiveDateTime": "2026-11-19T12:00:00Z"}, timedelta(hours=24), True)  # on the edge: inside
@example({"effectiveDateTime": "2026-11-19T11:59:59.999999Z"}, timedelta(hours=24), True)
@example({"effectiveDateTime": "2026-11-20T12:00:00.000001Z"}, timedelta(hours=24), True)
def test_a_result_is_found_in_its_window_as_the_long_way_finds_it(
    fields: dict[str, Any], window: timedelta, need_time_of_day: bool
) -> None:
    resource = {"resourceType": "Observation", "id": "obs-1", **fields}
    code = value_set("creatinine").codes[0]

    def placed() -> tuple[Any, ...]:
        report = Report()
        found = observations._time_in_window(resource, NOW, window, need_time_of_day, code, report)
        return (found, found and found.start.tzinfo, report.notes, report._routine)

    fast = placed()
    with patch("fhir_mappings.observations.instant", lambda _raw: None):
        assert fast == placed()


# -- Read elements -------------------------------------------------------------------------
# ``liberal.verdict`` projects a resource onto the elements a fact reads with two sets per
# type (``ReadElements.split``) instead of asking ``reads`` of every key.


@pytest.mark.parametrize("type_name", sorted(read_elements().by_type))
def test_the_read_names_of_a_type_are_those_reads_says_a_fact_reads(type_name: str) -> None:
    elements = read_elements()
    model = get_fhir_model_class(type_name)
    read, unread = elements.split(type_name, model)
    assert not read & unread
    names = {*_defined(model), "resourceType", "valueFoo", "_valueFoo", "onset", "unknownElement", "value"}
    for name in names:
        by_sets = name in read or (name not in unread and elements.reads(type_name, name))
        assert by_sets == elements.reads(type_name, name), name
    assert elements.split(type_name, model) is elements.split(type_name, model)  # worked out once


# -- First listed code -----------------------------------------------------------------------
# ``series.timed`` and ``observations.select`` find a reading's code with
# ``valuesets.first_listed``: the same code object as ``codings`` then ``ValueSet.match``
# set by set, in the order the sets are given (a code two sets list goes to the first).

SERIES_SETS = [
    ("systolic-bp", "mean-arterial-pressure"),
    ("mean-arterial-pressure", "systolic-bp"),
    ("creatinine",),
    ("lactate",),
    ("echo-mr-grade",),
    tuple(sorted(all_value_sets())),
    tuple(sorted(all_value_sets(), reverse=True)),
]


def _long_way(value_set_ids: tuple[str, ...], concept: Any) -> Any:
    for vs_id in value_set_ids:
        hit = value_set(vs_id).match(codings(concept))
        if hit is not None:
            return hit
    return None


@settings(deadline=None, max_examples=500)
@given(st.sampled_from(SERIES_SETS), st.one_of(concept, listed.map(lambda c: {"coding": [c]})))
@example(("creatinine",), {"coding": [{"system": ["http://loinc.org"], "code": "2160-0"}]})  # not hashable
@example(
    ("systolic-bp", "mean-arterial-pressure"), {"coding": [{"system": "http://loinc.org", "code": "85354-9"}]}
)
@example(
    ("mean-arterial-pressure", "systolic-bp"), {"coding": [{"system": "http://loinc.org", "code": "85354-9"}]}
)
def test_the_first_listed_code_is_the_one_the_sets_asked_in_order_find(
    value_set_ids: tuple[str, ...], code: Any
) -> None:
    assert first_listed(value_set_ids)(code) is _long_way(value_set_ids, code)


def test_a_code_two_sets_list_goes_to_the_first_set_asked() -> None:
    shared = [
        (a, b, key)
        for a in all_value_sets().values()
        for b in all_value_sets().values()
        if a.id < b.id
        for key in a.keys & b.keys
        if _index_of(a)[key] != _index_of(b)[key]
    ]
    assert shared, "no code is listed by two value sets with different displays: the order is not tested"
    for a, b, key in shared[:50]:
        concept = {"coding": [{"system": key[0], "code": key[1]}]}
        assert first_listed((a.id, b.id))(concept) is _index_of(a)[key]
        assert first_listed((b.id, a.id))(concept) is _index_of(b)[key]


def _index_of(vs: Any) -> dict[tuple[str, str], Any]:
    return {(c.system, c.code): c for c in vs.codes}


# -- References ------------------------------------------------------------------------------
# ``Collected.by_reference`` is made when first read (``parse._References``): the same
# mapping, in the same order, as the table made at once.

_names = st.sampled_from(["Medication", "Device", "a", "a/b", "b/c", "c", "", "Patient/x"])


@settings(deadline=None)
@given(st.dictionaries(st.tuples(_names, _names), st.builds(dict, id=_names), max_size=8), _names, _names)
@example({("a/b", "c"): {"id": "1"}, ("a", "b/c"): {"id": "2"}}, "a/b", "c")  # one reference, two keys
def test_references_made_when_read_are_the_table_made_at_once(
    seen: dict[tuple[str, str], dict[str, str]], kind: str, rid: str
) -> None:
    at_once = {f"{t}/{i}": r for (t, i), r in seen.items()}
    lazy = _References(seen)
    wanted = f"{kind}/{rid}"
    assert lazy.get(wanted) is at_once.get(wanted)
    assert (wanted in lazy) == (wanted in at_once)
    assert list(lazy.items()) == list(at_once.items())
    assert len(lazy) == len(at_once)
    assert lazy == at_once
    assert repr(lazy) == repr(at_once)
    if wanted not in at_once:
        with pytest.raises(KeyError):
            lazy[wanted]


def test_collect_makes_the_references_of_the_chart() -> None:
    medication = {"resourceType": "Medication", "id": "m-1"}
    order = {"resourceType": "MedicationRequest", "id": "o-1", "subject": {"reference": "Patient/pat-1"}}
    bundle = {"resourceType": "Bundle", "entry": [{"resource": medication}, {"resource": order}]}
    found = collect(ChartInput("pat-1", {"medicationRequests": bundle}))
    assert dict(found.by_reference) == {"Medication/m-1": medication, "MedicationRequest/o-1": order}
    assert found.by_reference.get("Medication/m-1") is medication


@settings(deadline=None, max_examples=500)
@given(st.one_of(concept, listed.map(lambda c: {"coding": [c]})))
@example({"coding": [{"system": ["http://loinc.org"], "code": "2160-0"}]})  # not hashable
@example({"coding": [{"system": "http://loinc.org", "code": "85354-9"}]})  # listed by two sets
def test_the_value_sets_of_a_concept_are_those_of_its_codings(code: Any) -> None:
    assert value_sets_of_concept(code) == value_sets_of(codings(code))
