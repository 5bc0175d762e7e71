"""Lookups a call used to redo and now keeps (issue 18, round 6), each against the long way.

- ``procedures._match`` asks only the value sets that list one of the codings
  (``value_sets_of``): the same hit as asking every searched set in order.
- ``first_listed`` is built once per tuple of ids and site codes in use: the same answers,
  and a site's added code is found once its codes are in use (and not after).
- ``_Mapper.active`` no longer looks a value set up to find it known: an unknown id still
  raises, every time.
- ``_Mapper.respiratory_fed`` is answered once per call: the same answer as asked afresh.
- ``Collected`` and ``FhirTime`` are built by a written-out ``__init__``: the fields in order,
  with their defaults.
- ``start_day`` reads a full date as ``parse_time`` does (a birthDate, every call).
"""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from fhir_mappings import procedures
from fhir_mappings.mapping import _Mapper
from fhir_mappings.parse import Collected, Report, collect
from fhir_mappings.prefetch import ChartInput
from fhir_mappings.thresholds import default_thresholds
from fhir_mappings.timing import FhirTime, TimeProblem, parse_time, start_day
from fhir_mappings.valuesets import all_value_sets, first_listed, use_site_codes, value_set
from tests.hooks import test_model

#: The searches ``procedures`` makes (circulatory, respiratory, each kind alone).
SEARCHES = [
    procedures.SUPPORT_SEARCH,
    procedures.RESPIRATORY,
    procedures.CIRCULATORY,
    *((kind,) for kind in (*procedures.SUPPORT_SEARCH, *procedures.RESPIRATORY)),
]
_SEARCHED_SETS = sorted(procedures.searched(procedures.SUPPORT_SEARCH + procedures.RESPIRATORY))
#: Codings of every searched set, of another set, and codings no set lists.
_LISTED = [
    {"system": c.system, "code": c.code}
    for vs_id in (*_SEARCHED_SETS, "mitral-regurgitation", "echocardiography")
    for c in value_set(vs_id).codes
]
coding = st.one_of(
    st.sampled_from(_LISTED),
    st.fixed_dictionaries(
        {"system": st.sampled_from(["http://snomed.info/sct", "urn:x"]), "code": st.text()}
    ),
    st.fixed_dictionaries({"code": st.sampled_from([c["code"] for c in _LISTED])}),
    st.just({"system": None, "code": "1"}),
)
concept = st.one_of(
    st.lists(coding, max_size=4).map(lambda cs: {"coding": cs}),
    st.just({"text": "intra-aortic balloon pump"}),
    st.none(),
    st.just("not a concept"),
)


def _long_way(concept: Any, value_set_ids: tuple[str, ...]) -> tuple[str, str, Any] | None:
    coded_as = procedures.codings(concept)
    for vs_id in value_set_ids:
        for search in procedures._SEARCHED.get(vs_id) or (vs_id,):
            hit = value_set(search).match(coded_as)
            if hit is not None:
                return vs_id, search, hit
    return None


@settings(deadline=None, max_examples=400)
@given(st.sampled_from(SEARCHES), concept)
@example(procedures.SUPPORT_SEARCH, {"coding": [_LISTED[0], _LISTED[-1]]})
@example(procedures.SUPPORT_SEARCH, {"coding": [_LISTED[-1], _LISTED[0]]})
def test_a_device_or_procedure_code_gets_the_support_kind_of_the_long_way(
    value_set_ids: tuple[str, ...], code: Any
) -> None:
    found = procedures._match(code, value_set_ids)
    expected = _long_way(code, value_set_ids)
    assert (None if found is None else (found.kind, found.value_set, found.code)) == expected


def test_every_searched_set_gets_its_own_codes() -> None:
    # Each code of each searched set, alone: found under the first kind searching a set listing it.
    for vs_id in _SEARCHED_SETS:
        for c in value_set(vs_id).codes:
            code = {"coding": [{"system": c.system, "code": c.code}]}
            for search in SEARCHES:
                found = procedures._match(code, search)
                expected = _long_way(code, search)
                assert (None if found is None else (found.kind, found.value_set, found.code)) == expected


def test_a_kept_first_listed_answers_as_one_built_afresh() -> None:
    for ids in [("systolic-bp", "mean-arterial-pressure"), ("mitral-regurgitation",), ("echo-mr-grade",)]:
        kept = first_listed(ids)
        assert first_listed(ids) is kept
        for vs_id in ids:
            for c in value_set(vs_id).codes:
                code = {"coding": [{"system": c.system, "code": c.code}]}
                assert kept(code) is next(
                    v.match(code["coding"]) for v in map(value_set, ids) if v.match(code["coding"])
                )


def test_site_codes_build_first_listed_again(tmp_path: Path) -> None:
    # A site's creatinine code: found by the match built once its codes are in use, and no
    # longer once they are not, though a match was kept before each change.
    code = {"coding": [{"system": "urn:oid:1.2.3.4", "code": "CREA-1"}]}
    assert first_listed(("creatinine",))(code) is None
    site = tmp_path / "site"
    site.mkdir()
    (site / "creatinine.json").write_text(
        json.dumps(
            {
                "id": "creatinine",
                "codes": [
                    {
                        "system": "urn:oid:1.2.3.4",
                        "code": "CREA-1",
                        "display": "Creatinine",
                        "source": "a test list",
                    }
                ],
            }
        )
    )
    try:
        use_site_codes(str(site))
        hit = first_listed(("creatinine",))(code)
        assert hit is not None
        assert (hit.code, hit.site_file) == ("CREA-1", "creatinine.json")
    finally:
        use_site_codes(None)
    assert first_listed(("creatinine",))(code) is None


def _mapper(prefetch: dict[str, Any], patient_id: str = "p1") -> _Mapper:
    chart = collect(ChartInput(patient_id, prefetch))
    return _Mapper(chart, Report(), datetime(2026, 1, 15, tzinfo=UTC), default_thresholds())


def test_an_unknown_value_set_still_raises_every_time() -> None:
    mapper = _mapper({"patient": {"resourceType": "Patient", "id": "p1"}})
    for _ in range(2):
        with pytest.raises(KeyError, match="no-such-set"):
            mapper.active("no-such-set")
        with pytest.raises(KeyError, match="no-such-set"):
            _mapper({"patient": {"resourceType": "Patient", "id": "p1"}}).active("no-such-set")
    assert mapper.active("cardiogenic-shock") == ()
    assert all(_mapper({}).active(vs_id) == () for vs_id in all_value_sets())


ROOT = Path(__file__).resolve().parents[2]
REQUESTS = sorted(
    [
        *(ROOT / "examples" / "patients").glob("*.json"),
        *(ROOT / "tests" / "hooks" / "scenarios").glob("*.json"),
    ]
)


def test_respiratory_fed_answered_once_is_the_answer_asked_afresh() -> None:
    answers = set()
    for path in REQUESTS:
        doc = json.loads(path.read_text(encoding="utf-8"))
        request = doc.get("request", doc)
        mapper = _mapper(request["prefetch"], request["context"]["patientId"])
        expected = bool(mapper.procedures) or any(
            r.get("resourceType") != "Device"
            or not procedures.searched(procedures.RESPIRATORY)
            .union({"ventilator-device"})
            .isdisjoint(
                {vs for vs in all_value_sets() if value_set(vs).match(procedures.codings(r.get("type")))}
            )
            for r in mapper.devices
        )
        assert mapper.respiratory_fed() is expected
        assert mapper.respiratory_fed() is expected
        answers.add(expected)
    assert answers == {True, False}


def test_collected_init_takes_and_sets_the_fields_in_order() -> None:
    test_model.test_init_takes_the_fields_in_order_with_their_defaults(Collected)
    test_model.test_every_field_is_set_from_its_own_argument(Collected)
    first, second = Collected((), {}, {}, ()), Collected((), {}, {}, ())
    assert first.reasons == {}
    assert first.reasons is not second.reasons
    with pytest.raises(dataclasses.FrozenInstanceError):
        first.notes = ()  # type: ignore[misc]


def test_fhir_time_init_takes_and_sets_the_fields_in_order() -> None:
    test_model.test_init_takes_the_fields_in_order_with_their_defaults(FhirTime)
    test_model.test_every_field_is_set_from_its_own_argument(FhirTime)
    with pytest.raises(dataclasses.FrozenInstanceError):
        FhirTime(datetime(2026, 1, 1, tzinfo=UTC)).precision = "day"  # type: ignore[misc]


_DATE_LIKE = st.one_of(
    st.dates().map(date.isoformat),
    st.from_regex(r"\A[0-9]{4}-[0-9]{2}-[0-9]{2}\n?\Z"),
    st.from_regex(r"\A[0-9]{4}(-[0-9]{2}){0,2}(T[0-9]{2}:[0-9]{2}:[0-9]{2}(Z|[+-][0-9]{2}:[0-9]{2})?)?\Z"),
    st.text(max_size=12),
    st.none(),
    st.integers(),
)


@settings(deadline=None, max_examples=500)
@given(_DATE_LIKE)
@example("1950-09-08")
@example("2026-02-30")
@example("1950-09-08\n")
@example("1950")
@example("1950-09")
@example("0000-01-01")
def test_a_birth_date_reads_as_the_day_parse_time_starts_on(raw: Any) -> None:
    try:
        expected: date | str = parse_time(raw).start.date()
    except TimeProblem as problem:
        expected = str(problem)
    try:
        found: date | str = start_day(raw)
    except TimeProblem as problem:
        found = str(problem)
    assert found == expected
