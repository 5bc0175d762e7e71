"""Copies, constructors and words kept for speed give exactly what the long way gives.

``MRGrade``'s own ``__init__`` (written out for speed) takes and sets exactly the dataclass
fields, as ``tests/hooks/test_model.py`` checks of the facts' and the evidence's.

``Evidence.with_reason`` and ``Evidence.with_note`` copy a piece of evidence with one or two
fields changed, and ``Scope.with_patient`` a scope with the Patient's facts: each must equal
``dataclasses.replace`` with the same changes, field for field, leave the original as it
was, and stay frozen. ``DrugMatch.ingredient`` keeps the wording of each (display, class):
the same words as ``ingredient_of``, first time and kept, and worded again once a site's
codes change the value sets.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fhir_mappings import medications as meds
from fhir_mappings.facts import Evidence, Fact, GradeSource, MatchKind, MRGrade, Scope, Status
from fhir_mappings.valuesets import use_site_codes
from tests.hooks import test_model

_TEXT = st.none() | st.text(max_size=8)
_TIME = st.none() | st.datetimes(timezones=st.just(UTC))
_EVIDENCE = st.builds(
    Evidence,
    resource_type=st.text(min_size=1, max_size=8),
    resource_id=_TEXT,
    system=_TEXT,
    code=_TEXT,
    display=_TEXT,
    value=st.none() | st.floats(allow_nan=False),
    unit=_TEXT,
    value_text=_TEXT,
    time=_TIME,
    note=_TEXT,
    what=_TEXT,
    status=_TEXT,
    reason=_TEXT,
)
_FACT = st.builds(
    Fact,
    name=st.text(max_size=8),
    status=st.sampled_from(Status),
    evidence=st.lists(_EVIDENCE, max_size=2).map(tuple),
)
_SCOPE_FACTS = ("deceased", "comfort_care", "dnr", "pregnant", "durable_vad", "mitral_stenosis")
_SCOPE_FACTS += ("surgical_risk",)
_SCOPE = st.builds(
    Scope,
    age_years=st.none() | st.integers(0, 120),
    adult_age=st.integers(0, 30),
    **dict.fromkeys(_SCOPE_FACTS, _FACT),
)


def _same(copy: object, expected: object) -> None:
    assert copy == expected
    assert type(copy) is type(expected)
    assert copy.__dict__ == expected.__dict__  # no field more, none less
    assert hash(copy) == hash(expected)


@settings(deadline=None, max_examples=200)
@given(_EVIDENCE, _TEXT)
def test_evidence_with_reason_is_replace(evidence: Evidence, reason: str | None) -> None:
    before = dict(evidence.__dict__)
    _same(evidence.with_reason(reason), dataclasses.replace(evidence, reason=reason))
    assert evidence.__dict__ == before


@settings(deadline=None, max_examples=200)
@given(_EVIDENCE, _TEXT, _TIME)
def test_evidence_with_note_is_replace(evidence: Evidence, note: str | None, time: datetime | None) -> None:
    before = dict(evidence.__dict__)
    _same(evidence.with_note(note, time), dataclasses.replace(evidence, note=note, time=time))
    assert evidence.__dict__ == before


@settings(deadline=None, max_examples=100)
@given(_SCOPE, st.none() | st.integers(0, 120), _FACT)
def test_scope_with_patient_is_replace(scope: Scope, age: int | None, deceased: Fact) -> None:
    before = dict(scope.__dict__)
    copy = scope.with_patient(age, deceased)
    _same(copy, dataclasses.replace(scope, age_years=age, deceased=deceased))
    assert copy.out_of_scope == dataclasses.replace(scope, age_years=age, deceased=deceased).out_of_scope
    assert scope.__dict__ == before


def test_copies_stay_frozen() -> None:
    evidence = Evidence("Observation", "o-1").with_reason("x").with_note("n", None)
    with pytest.raises(dataclasses.FrozenInstanceError):
        evidence.reason = "y"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        Scope().with_patient(40, Fact("deceased", Status.ABSENT)).age_years = 3  # type: ignore[misc]


_DISPLAYS = st.sampled_from(
    [
        "norepinephrine",
        "NOREPINEPHRINE 1 MG/ML Injection",
        "sacubitril 24 MG / valsartan 26 MG Oral Tablet",
        "furosemide 10 MG/ML Injectable Solution",
        "milrinone lactate",
        "C01CA",
        "",
    ]
) | st.text(max_size=30)


@settings(deadline=None, max_examples=200)
@given(_DISPLAYS, st.sampled_from(meds.CLASSES))
def test_kept_ingredient_words_are_those_worded_again(display: str, value_set_id: str) -> None:
    drug = meds.DrugMatch(value_set_id, MatchKind.CODE, None, None, display)
    expected = meds.ingredient_of(display, value_set_id)
    assert drug.ingredient == expected  # first time, or kept from an earlier example
    assert drug.ingredient == expected  # kept


def test_site_codes_word_ingredients_again(tmp_path: Path) -> None:
    # A site listing a new loop diuretic by its RxNorm ingredient: the kept wording of a
    # display naming it must change with the value sets, not stay as first worded.
    drug = meds.DrugMatch("loop-diuretics", MatchKind.CODE, None, None, "zorbamide 40 MG Oral Tablet")
    assert drug.ingredient == "zorbamide 40 MG Oral Tablet"
    site = tmp_path / "site"
    site.mkdir()
    (site / "loop-diuretics.json").write_text(
        '{"id": "loop-diuretics", "codes": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm",'
        ' "code": "999999999", "display": "zorbamide", "source": "a test site list"}]}'
    )
    try:
        use_site_codes(str(site))
        assert drug.ingredient == "zorbamide" == meds.ingredient_of(drug.display, "loop-diuretics")
    finally:
        use_site_codes(None)
    assert drug.ingredient == "zorbamide 40 MG Oral Tablet"


def test_mr_grade_init_takes_and_sets_the_fields_in_order() -> None:
    test_model.test_init_takes_the_fields_in_order_with_their_defaults(MRGrade)
    test_model.test_every_field_is_set_from_its_own_argument(MRGrade)
    with pytest.raises(dataclasses.FrozenInstanceError):
        MRGrade(4, GradeSource.ECHO).grade = 3  # type: ignore[misc]
