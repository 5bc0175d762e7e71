"""The newest echo's grade is read once (``mr_grade.decide_and_newest``).

``map_chart`` asks which echo decides and which is the newest valid echo in one call, and
the newest echo's grade is read once for both. It must give what ``decide_echo`` (the
newest echo's grade read again inside ``_decide``) and ``newest_echo`` give: on generated
echo series (final, preliminary, amended and invalid statuses, readable, unreadable and
range grades, ties on time) and on every demo patient and rule scenario, whole facts and
data-quality notes included.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest.mock import patch

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fhir_mappings import mapping, mr_grade
from fhir_mappings.mapping import map_chart
from fhir_mappings.observations import Candidate
from fhir_mappings.parse import Report
from fhir_mappings.prefetch import ChartInput
from fhir_mappings.thresholds import Thresholds, default_thresholds
from tests.fhir_mappings.test_unfed_families import REQUESTS, _as_of, _request

NOW = datetime(2026, 1, 20, 12, tzinfo=UTC)
_ORIGINAL = mr_grade._decide


def _long(
    echoes: Sequence[Candidate], *, thresholds: Thresholds, report: Report
) -> tuple[mr_grade._Decision | None, tuple[Candidate, mr_grade.Parsed] | None]:
    """The long way: the newest echo's grade read inside ``_decide``, then again."""
    with patch.object(
        mr_grade, "_decide", lambda echoes, fallback, newest_read=None: _ORIGINAL(echoes, fallback)
    ):
        decision = mr_grade.decide_echo(echoes, thresholds=thresholds, report=report)
    return decision, mr_grade.newest_echo(echoes, report)


@contextmanager
def _long_way() -> Iterator[None]:
    with patch.object(mapping, "decide_and_newest", _long):
        yield


_VALUES: list[dict[str, Any]] = [
    {"valueInteger": 4},
    {"valueInteger": 2},
    {"valueInteger": 7},
    {"valueString": "3-4+"},
    {"valueString": "severe"},
    {"valueString": "see report"},
    {"valueCodeableConcept": {"coding": [{"system": "http://snomed.info/sct", "code": "24484000"}]}},
    {"valueCodeableConcept": {"text": "moderate"}},
    {"dataAbsentReason": {"text": "not done"}},
    {},
]


@st.composite
def _echoes(draw: st.DrawFn) -> list[dict[str, Any]]:
    found = []
    for index in range(draw(st.integers(0, 5))):
        days = draw(st.sampled_from([0, 1, 2, 20, 40, 400]))
        echo: dict[str, Any] = {
            "resourceType": "Observation",
            "id": f"echo-{index}",
            "status": draw(st.sampled_from(["final", "preliminary", "amended", "entered-in-error", 7])),
            "code": {"coding": [{"system": "http://snomed.info/sct", "code": "48724000"}]},
            "effectiveDateTime": (NOW - timedelta(days=days)).isoformat(),
            "subject": {"reference": "Patient/p"},
            **draw(st.sampled_from(_VALUES)),
        }
        found.append(echo)
    return found


@settings(deadline=None, max_examples=300)
@given(_echoes())
def test_decision_and_newest_echo_are_those_of_the_long_way(observations: list[dict[str, Any]]) -> None:
    thresholds = default_thresholds()
    report, long_report = Report(), Report()
    echoes = mr_grade.echo_grades(observations, now=NOW, thresholds=thresholds, report=report)
    long_echoes = mr_grade.echo_grades(observations, now=NOW, thresholds=thresholds, report=long_report)
    assert mr_grade.decide_and_newest(echoes, thresholds=thresholds, report=report) == _long(
        long_echoes, thresholds=thresholds, report=long_report
    )
    assert report.notes == long_report.notes


@pytest.mark.parametrize("path", REQUESTS, ids=lambda p: p.stem)
def test_a_whole_chart_reads_the_newest_echo_as_the_long_way(path: Any) -> None:
    request = _request(path)
    chart = ChartInput(request["context"]["patientId"], request["prefetch"])
    for now in (_as_of(request), _as_of(request) + timedelta(days=400)):
        found = map_chart(chart, now=now)
        with _long_way():
            assert found == map_chart(chart, now=now)
