"""Shortcuts in reading Conditions give exactly what the long way gives.

A Condition's clinical or verification status (``conditions.status_code``) is read from
the usual concept, one coding of the HL7 system, without building its codings; any other
concept goes the long way. The long way is taken here by handing the same concept in a
read-only mapping that is not a ``dict``.

The time an active Condition's evidence carries (``_recorded_time``) is read straight from
an instant: the same moment as ``onset_of(...).start``, and None exactly when that raises.

``ActiveCondition`` has its own ``__init__`` (written out for speed): it takes and sets
exactly the dataclass fields, and the object stays frozen.
"""

from __future__ import annotations

import inspect
from dataclasses import FrozenInstanceError, fields
from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from fhir_mappings.codesystems import CONDITION_CLINICAL, CONDITION_VER_STATUS
from fhir_mappings.conditions import (
    _CLINICAL,
    _VERIFICATION,
    ActiveCondition,
    _recorded_time,
    onset_of,
    status_code,
)
from fhir_mappings.facts import Evidence
from fhir_mappings.timing import TimeProblem
from tests.fhir_mappings.test_fast_paths import time_strings

_SYSTEMS = [CONDITION_CLINICAL, CONDITION_VER_STATUS, None, "http://example.org/other", 3]
_CODES = [*sorted(_CLINICAL | _VERIFICATION), "Active", "", None, 1, ["active"]]
status_coding = st.one_of(
    st.fixed_dictionaries(
        {}, optional={"system": st.sampled_from(_SYSTEMS), "code": st.sampled_from(_CODES)}
    ),
    st.sampled_from([None, "active", 1]),
)
status_concept = st.one_of(
    st.fixed_dictionaries({"coding": st.lists(status_coding, max_size=3)}),
    st.fixed_dictionaries({"coding": st.one_of(st.none(), st.just("active"))}),
    st.fixed_dictionaries({}, optional={"text": st.just("active")}),
    st.none(),
    st.just("active"),
)


@settings(deadline=None, max_examples=400)
@given(
    status_concept,
    st.sampled_from([(CONDITION_CLINICAL, _CLINICAL), (CONDITION_VER_STATUS, _VERIFICATION)]),
)
@example({"coding": [{"system": CONDITION_CLINICAL, "code": "active"}]}, (CONDITION_CLINICAL, _CLINICAL))
@example({"coding": [{"system": CONDITION_VER_STATUS, "code": 1}]}, (CONDITION_VER_STATUS, _VERIFICATION))
@example({"coding": [{"system": CONDITION_CLINICAL, "code": "active"}]}, (CONDITION_VER_STATUS, frozenset()))
@example({"coding": [{"code": "resolved"}]}, (CONDITION_CLINICAL, _CLINICAL))
def test_a_status_reads_as_the_long_way_reads_it(concept: Any, kind: tuple[str, frozenset[str]]) -> None:
    system, known = kind
    long_way = MappingProxyType(concept) if isinstance(concept, dict) else concept
    assert status_code(concept, system, known) == status_code(long_way, system, known)


_when = st.one_of(time_strings, st.integers(), st.none())
onsets = st.fixed_dictionaries(
    {},
    optional={
        "onsetDateTime": _when,
        "onsetPeriod": st.one_of(st.fixed_dictionaries({}, optional={"start": _when}), st.just("2026")),
        "recordedDate": _when,
    },
)


@settings(deadline=None, max_examples=500)
@given(onsets)
@example({"onsetDateTime": "2026-11-20T10:00:00+02:00"})
@example({"onsetPeriod": {"start": "2026-11-20T10:00:00Z"}, "recordedDate": "2020-01-01T00:00:00Z"})
@example({"onsetDateTime": None, "recordedDate": "2026-11-20T10:00:00Z"})
@example({"onsetDateTime": "2026-11-20", "recordedDate": "2026-11-20T10:00:00Z"})
@example({"recordedDate": "2026-11-20T10:00:00"})  # no zone
def test_an_active_conditions_time_is_its_onset_as_the_long_way_reads_it(resource: dict[str, Any]) -> None:
    try:
        expected = onset_of(resource).start
    except TimeProblem:
        expected = None
    found = _recorded_time(resource)
    assert found == expected
    assert (found.tzinfo if found else None) == (expected.tzinfo if expected else None)


def test_an_active_condition_takes_and_sets_exactly_its_fields() -> None:
    params = list(inspect.signature(ActiveCondition.__init__).parameters.values())[1:]
    assert [p.name for p in params] == [f.name for f in fields(ActiveCondition)]
    assert all(p.default is inspect.Parameter.empty for p in params)
    values = {f.name: (f"value-{f.name}",) for f in fields(ActiveCondition)}
    for made in (ActiveCondition(**values), ActiveCondition(*values.values())):
        assert vars(made) == values
        with pytest.raises(FrozenInstanceError):
            made.unconfirmed = True  # type: ignore[misc]
    evidence = Evidence("Condition", "c-1")
    assert ActiveCondition({"id": "c-1"}, "heart-failure", evidence, False) == ActiveCondition(
        {"id": "c-1"}, "heart-failure", evidence, False
    )
