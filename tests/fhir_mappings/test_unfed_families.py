"""A fact family the chart holds nothing for is decided once and shared (``_Mapper.unfed``).

The organ systems with multiple organ failure, mechanical support with respiratory ECMO,
the medications with vasoactive support, and the scope facts other than the Patient's read
only some Conditions, Observations, Procedures, devices, medications and orders; respiratory
support is not searched for without a Procedure or a respiratory device. On a chart holding
none of them each family's facts depend only on the thresholds and on which keys could not
be obtained, so they are kept from an earlier such chart. Here, on the demo patients and the
rule scenarios, whole and with resources and keys left out at random, the facts
(data-quality notes included, in order) are those the long way gives, with the shortcut
turned off; and each family asks for no value set beyond those its ``*_fed`` test looks at.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from unittest.mock import patch

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fhir_mappings import mapping
from fhir_mappings.mapping import (
    ORGAN_CONDITIONS,
    ORGAN_LABS,
    SCOPE_CONDITIONS,
    SCOPE_OBSERVATIONS,
    _Mapper,
    map_chart,
)
from fhir_mappings.parse import KEY_LABELS, Report, collect
from fhir_mappings.prefetch import ChartInput
from fhir_mappings.thresholds import Thresholds, default_thresholds
from fhir_mappings.valuesets import value_set

#: Other windows and age: the words of an undecided lab, and the adult age, change.
OTHER = replace(
    default_thresholds(),
    labs_window_hours=12,
    lactate_window_hours=6,
    adult_age_years=16,
    vitals_window_hours=6,
)

ROOT = Path(__file__).resolve().parents[2]
REQUESTS = sorted(
    [
        *(ROOT / "examples" / "patients").glob("*.json"),
        *(ROOT / "tests" / "hooks" / "scenarios").glob("*.json"),
    ]
)


def _request(path: Path) -> dict[str, Any]:
    doc = json.loads(path.read_text(encoding="utf-8"))
    return doc.get("request", doc)


def _as_of(request: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(request["extension"]["org.mr-cds-hooks.demo"]["asOf"])


@contextmanager
def _long_way() -> Iterator[None]:
    with (
        patch.object(_Mapper, "organs_fed", lambda self: True),
        patch.object(_Mapper, "support_fed", lambda self: True),
        patch.object(_Mapper, "scope_fed", lambda self, durable: True),
        patch.object(_Mapper, "medications_fed", lambda self: True),
        patch.object(_Mapper, "respiratory_fed", lambda self: True),
    ):
        yield


def _both(chart: ChartInput, now: datetime, thresholds: Thresholds | None = None) -> None:
    # Twice: the first may decide a family and keep it, the second then reads it kept.
    first = map_chart(chart, now=now, thresholds=thresholds)
    second = map_chart(chart, now=now, thresholds=thresholds)
    with _long_way():
        expected = map_chart(chart, now=now, thresholds=thresholds)
    assert first == expected
    assert second == expected


def test_the_charts_include_some_that_feed_no_family() -> None:
    unfed = set()
    for path in REQUESTS:
        request = _request(path)
        chart = ChartInput(request["context"]["patientId"], request["prefetch"])
        mapper = _Mapper(collect(chart), Report(), _as_of(request), default_thresholds())
        unfed |= {
            name
            for name, fed in (
                ("organs", mapper.organs_fed()),
                ("support", mapper.support_fed()),
                ("scope", mapper.scope_fed(())),
                ("medications", mapper.medications_fed()),
                ("respiratory", mapper.respiratory_fed()),
            )
            if not fed
        }
    assert unfed == {"organs", "support", "scope", "medications", "respiratory"}


@pytest.mark.parametrize("path", REQUESTS, ids=lambda p: p.stem)
def test_a_whole_chart_gets_the_facts_of_the_long_way(path: Path) -> None:
    request = _request(path)
    chart = ChartInput(request["context"]["patientId"], request["prefetch"])
    _both(chart, _as_of(request))
    _both(chart, _as_of(request) + timedelta(days=400))


@st.composite
def _part_of_a_chart(draw: st.DrawFn) -> tuple[ChartInput, datetime]:
    request = _request(draw(st.sampled_from(REQUESTS)))
    prefetch: dict[str, Any] = {}
    unavailable: dict[str, str] = {}
    incomplete: dict[str, str] = {}
    for key, value in request["prefetch"].items():
        fate = draw(st.sampled_from(["kept", "kept", "kept", "unavailable", "incomplete", "null"]))
        if fate == "unavailable":
            unavailable[key] = draw(st.sampled_from(["not prefetched", "could not be fetched"]))
            continue
        if fate == "null":
            prefetch[key] = None
            continue
        if fate == "incomplete":
            incomplete[key] = "search pages past the cap"
        if isinstance(value, dict) and isinstance(value.get("entry"), list):
            entries = value["entry"]
            kept = draw(st.lists(st.sampled_from(range(len(entries))), unique=True)) if entries else []
            value = {**value, "entry": [entries[i] for i in sorted(kept)]}
        prefetch[key] = value
    for key in KEY_LABELS:
        if draw(st.booleans()) and key not in prefetch and key not in unavailable:
            prefetch[key] = None
    now = _as_of(request) + timedelta(days=draw(st.sampled_from([0, 0, 3, 40, 400])))
    return ChartInput(request["context"]["patientId"], prefetch, unavailable, incomplete), now


@settings(deadline=None, max_examples=300)
@given(_part_of_a_chart(), st.sampled_from([None, OTHER]))
def test_part_of_a_chart_gets_the_facts_of_the_long_way(
    drawn: tuple[ChartInput, datetime], thresholds: Thresholds | None
) -> None:
    chart, now = drawn
    _both(chart, now, thresholds)


class _Recording(dict[str, list[Any]]):
    """A value-set index that notes each value-set id read from it."""

    def __init__(self, index: dict[str, list[Any]], asked: list[str]) -> None:
        super().__init__(index)
        self.asked = asked

    def get(self, key: str, default: Any = None) -> Any:
        self.asked.append(key)
        return super().get(key, default)

    def __getitem__(self, key: str) -> list[Any]:
        self.asked.append(key)
        return super().__getitem__(key)

    def __contains__(self, key: object) -> bool:
        self.asked.append(str(key))
        return super().__contains__(key)


@pytest.mark.parametrize("path", REQUESTS, ids=lambda p: p.stem)
def test_each_family_asks_only_for_the_value_sets_its_test_looks_at(path: Path) -> None:
    request = _request(path)
    chart = collect(ChartInput(request["context"]["patientId"], request["prefetch"]))
    mapper = _Mapper(chart, Report(), _as_of(request), default_thresholds())
    asked: list[str] = []
    active, coded = _Mapper.active, _Mapper.coded

    def recording_active(self: _Mapper, value_set_id: str) -> Any:
        asked.append(value_set_id)
        return active(self, value_set_id)

    def recording_coded(self: _Mapper, *value_set_ids: str) -> Any:
        asked.extend(value_set_ids)
        return coded(self, *value_set_ids)

    # Read straight from the value-set index too (a pregnancy-status Observation is).
    mapper.conditions_in = _Recording(mapper.conditions_in, asked)
    mapper.observations_in = _Recording(mapper.observations_in, asked)
    with patch.object(_Mapper, "active", recording_active), patch.object(_Mapper, "coded", recording_coded):
        mapper.multi_organ_failure(mapper.organ_dysfunction())
        assert set(asked) <= {*ORGAN_CONDITIONS, *ORGAN_LABS}
        asked.clear()
        mapper.scope_of(None, ())
        assert set(asked) <= {*SCOPE_CONDITIONS, *SCOPE_OBSERVATIONS}
        asked.clear()
        mapper.mechanical_support()
        mapper.respiratory_ecmo()
        assert asked == []


def test_a_kept_family_is_not_read_with_other_thresholds() -> None:
    mapping._UNFED.clear()
    request = _request(ROOT / "examples" / "patients" / "02-cardiogenic-shock.json")
    chart = ChartInput(request["context"]["patientId"], request["prefetch"])
    _both(chart, _as_of(request), OTHER)
    _both(chart, _as_of(request))
    assert {key[1] for key in mapping._UNFED} == {id(OTHER), id(default_thresholds())}


_VENTILATOR = {"coding": [{"system": "http://snomed.info/sct", "code": "706172005"}]}
_VV_ECMO = {"coding": [{"system": "http://snomed.info/sct", "code": "786453001"}]}


@pytest.mark.parametrize(
    "device",
    [
        # A ventilator in use, its Device contained in the statement: no Device in the chart.
        {
            "resourceType": "DeviceUseStatement",
            "id": "dus-1",
            "status": "active",
            "subject": {"reference": "Patient/pat-1"},
            "timingDateTime": "2026-01-14T10:00:00Z",
            "contained": [{"resourceType": "Device", "id": "d1", "type": _VENTILATOR}],
            "device": {"reference": "#d1"},
        },
        {"resourceType": "Device", "id": "vent-1", "status": "active", "type": _VENTILATOR},
        {"resourceType": "Device", "id": "ecmo-1", "status": "active", "type": _VV_ECMO},
    ],
    ids=["contained-ventilator-in-use", "ventilator-device", "vv-ecmo-device"],
)
def test_a_respiratory_device_alone_feeds_the_organ_systems(device: dict[str, Any]) -> None:
    key = "device-use-statements" if device["resourceType"] == "DeviceUseStatement" else "devices"
    bundle = {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": device}]}
    chart = ChartInput("pat-1", {k: None for k in KEY_LABELS} | {key: bundle})
    now = datetime.fromisoformat("2026-01-15T10:30:00+00:00")
    mapper = _Mapper(collect(chart), Report(), now, default_thresholds())
    assert mapper.organs_fed()
    _both(chart, now)


def test_a_key_not_sent_and_one_not_obtained_in_the_same_words_are_kept_apart() -> None:
    now = datetime.fromisoformat("2026-01-15T10:30:00+00:00")
    searched = {k: None for k in KEY_LABELS if k != "labs"}
    not_sent = ChartInput("pat-1", searched)
    not_obtained = ChartInput("pat-1", searched, {"labs": "not provided by the EHR"})
    assert collect(not_sent).unavailable == collect(not_obtained).unavailable
    _both(not_sent, now)
    _both(not_obtained, now)


# Each value set a family's ``*_fed`` test looks at, alone in a chart: the test must see it,
# or a chart holding only that entry (a positive pregnancy test, a DNR order, a cirrhosis)
# would be given the facts kept from a chart holding nothing.
_NOW = datetime.fromisoformat("2026-11-20T12:00:00+00:00")
_TERMINOLOGY = "http://terminology.hl7.org/CodeSystem"


def _lone(key: str, resource: dict[str, Any]) -> ChartInput:
    bundle = {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": resource}]}
    return ChartInput("pat-1", {k: None for k in KEY_LABELS} | {key: bundle})


def _coded(value_set_id: str) -> dict[str, Any]:
    first = value_set(value_set_id).codes[0]
    return {"coding": [{"system": first.system, "code": first.code}]}


def _condition(value_set_id: str) -> dict[str, Any]:
    return {
        "resourceType": "Condition",
        "id": "c-1",
        "subject": {"reference": "Patient/pat-1"},
        "clinicalStatus": {"coding": [{"system": f"{_TERMINOLOGY}/condition-clinical", "code": "active"}]},
        "verificationStatus": {
            "coding": [{"system": f"{_TERMINOLOGY}/condition-ver-status", "code": "confirmed"}]
        },
        "code": _coded(value_set_id),
        "recordedDate": "2026-11-19T08:00:00Z",
    }


def _observation(value_set_id: str) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": "o-1",
        "status": "final",
        "subject": {"reference": "Patient/pat-1"},
        "code": _coded(value_set_id),
        "effectiveDateTime": "2026-11-19T08:00:00Z",
    }


@pytest.mark.parametrize("value_set_id", SCOPE_CONDITIONS)
def test_a_lone_condition_of_a_scope_value_set_feeds_the_scope_facts(value_set_id: str) -> None:
    chart = _lone("conditions", _condition(value_set_id))
    assert _Mapper(collect(chart), Report(), _NOW, default_thresholds()).scope_fed(())
    _both(chart, _NOW)


@pytest.mark.parametrize("value_set_id", SCOPE_OBSERVATIONS)
def test_a_lone_observation_of_a_scope_value_set_feeds_the_scope_facts(value_set_id: str) -> None:
    chart = _lone("labs", _observation(value_set_id))
    assert _Mapper(collect(chart), Report(), _NOW, default_thresholds()).scope_fed(())
    _both(chart, _NOW)


@pytest.mark.parametrize("value_set_id", ORGAN_CONDITIONS)
def test_a_lone_condition_of_an_organ_value_set_feeds_the_organ_systems(value_set_id: str) -> None:
    chart = _lone("conditions", _condition(value_set_id))
    assert _Mapper(collect(chart), Report(), _NOW, default_thresholds()).organs_fed()
    _both(chart, _NOW)


@pytest.mark.parametrize("value_set_id", ORGAN_LABS)
def test_a_lone_lab_of_an_organ_value_set_feeds_the_organ_systems(value_set_id: str) -> None:
    chart = _lone("labs", _observation(value_set_id))
    assert _Mapper(collect(chart), Report(), _NOW, default_thresholds()).organs_fed()
    _both(chart, _NOW)
