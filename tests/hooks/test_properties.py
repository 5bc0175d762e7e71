"""Property: for any combination of facts, ``evaluate`` never raises, no rule fails, every
summary stays under 140 characters and no detail carries HTML."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import hooks
from cds_service.calls.schemas import validate_response
from fhir_mappings.facts import (
    DataQualityNote,
    Evidence,
    Fact,
    GradeSource,
    MatchKind,
    MedicationClasses,
    MedicationMatch,
    MRGrade,
    PatientFacts,
    Status,
)
from fhir_mappings.valuesets import all_value_sets
from tests.hooks.factories import NOW, ORGANS, counter_ids

HTML_TAG = re.compile(r"<[A-Za-z/!?][^>]*>")

#: Codes from our value sets (so labels are looked up) mixed with arbitrary ones.
_CODES = sorted({(c.system, c.code) for vs in all_value_sets().values() for c in vs.codes})

text = st.text(max_size=300)
optional_text = st.none() | text
moments = st.datetimes(
    min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC) | st.none()
) | st.builds(lambda d: NOW - timedelta(hours=d), st.floats(0, 24 * 800))
numbers = (
    st.none() | st.floats(allow_nan=True, allow_infinity=True) | st.integers(-(10**20), 10**20).map(float)
)
codes = st.sampled_from(_CODES) | st.tuples(optional_text, optional_text)

evidence = st.builds(
    lambda rt, rid, code, display, value, unit, vtext, time, note: Evidence(
        rt, rid, code[0], code[1], display, value, unit, vtext, time, note
    ),
    st.sampled_from(["Observation", "Condition", "Procedure", "Device", "MedicationRequest"]) | text,
    optional_text,
    codes,
    optional_text,
    numbers,
    st.sampled_from(["mm[Hg]", "mmol/L", "mg/dL", "{grade}"]) | optional_text,
    optional_text,
    st.none() | moments,
    optional_text,
)
evidences = st.lists(evidence, max_size=4).map(tuple)
missings = st.lists(text, max_size=3).map(tuple)


def facts_of(name: str) -> st.SearchStrategy[Fact]:
    return st.builds(Fact, st.just(name), st.sampled_from(Status), evidences, missings, evidences)


grades = st.builds(
    MRGrade,
    st.none() | st.integers(-2, 6),
    st.sampled_from(GradeSource),
    st.booleans(),
    evidences,
    missings,
)
first_line = ["loop-diuretics", "ace-inhibitors", "arbs", "vasodilators-iv", "inotropes", "vasopressors"]
matches = st.builds(MedicationMatch, st.sampled_from(first_line) | text, st.sampled_from(MatchKind), evidence)
medication_classes = st.builds(
    lambda ms, missing: MedicationClasses(
        by_class={m.value_set: tuple(x for x in ms if x.value_set == m.value_set) for m in ms},
        missing=missing,
    ),
    st.lists(matches, max_size=6),
    missings,
)
patient_facts = st.builds(
    PatientFacts,
    as_of=st.just(NOW),
    patient_id=st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-.", min_size=1, max_size=64),
    mr_documented=facts_of("mr_documented"),
    mr_unconfirmed=st.booleans(),
    mr_grade=grades,
    hypotension=facts_of("hypotension"),
    hypoperfusion=facts_of("hypoperfusion"),
    cardiogenic_shock=facts_of("cardiogenic_shock"),
    vasoactive_support=facts_of("vasoactive_support"),
    mechanical_support=facts_of("mechanical_support"),
    mr_on_echo=facts_of("mr_on_echo"),
    respiratory_ecmo=facts_of("respiratory_ecmo"),
    organ_dysfunction=st.fixed_dictionaries({o: facts_of(o) for o in ORGANS})
    | st.dictionaries(text, facts_of("organ"), max_size=3),
    multi_organ_failure=facts_of("multi_organ_failure"),
    acute_mr_trigger=facts_of("acute_mr_trigger"),
    pulmonary_edema=facts_of("pulmonary_edema"),
    heart_failure_symptoms=facts_of("heart_failure_symptoms"),
    medications=medication_classes,
    data_quality=st.lists(st.builds(DataQualityNote, text, optional_text, text), max_size=4).map(tuple),
    unavailable=st.lists(
        st.tuples(st.sampled_from(["labs", "vital-signs", "procedures"]) | text, text), max_size=3
    ).map(tuple),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(patient_facts)
def test_evaluate_never_raises_and_cards_stay_valid(facts: PatientFacts) -> None:
    result = hooks.evaluate_detailed(facts, now=NOW, ids=counter_ids())
    assert result.failed_rules == ()
    validate_response({"cards": list(result.cards)})
    for card in result.cards:
        assert len(card["summary"]) < 140
        assert not HTML_TAG.search(card["detail"])
        assert card["indicator"] in {"info", "warning", "critical"}
    ranks = [{"critical": 0, "warning": 1, "info": 2}[c["indicator"]] for c in result.cards]
    assert ranks == sorted(ranks)
    explained = hooks.explain(facts)
    assert sum(r.fired for r in explained) == len(result.cards)
    assert hooks.explanation_text(explained, now=NOW)
