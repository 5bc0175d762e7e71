"""MR grade (docs/clinical-rules.md, MR grade): latest echo within 365 days decides; never round up."""

from __future__ import annotations

import pytest

from fhir_mappings.facts import GradeSource, Status
from fhir_mappings.gaps import Gap, Reason
from fhir_mappings.mr_grade import grade_name, grade_of_observation
from tests.fhir_mappings.charts import facts, reasons


@pytest.mark.parametrize(
    ("fixture", "grade"),
    [
        ("echo/severe_qualifier.json", 4),
        ("echo/moderate_to_severe_qualifier.json", 3),
        ("echo/integer_4.json", 4),
        ("echo/quantity_4_grade.json", 4),
        ("echo/string_4_plus.json", 4),
    ],
)
def test_machine_readable_echo_grade(fixture: str, grade: int) -> None:
    result = facts(mr_grade=fixture)
    assert result.mr_grade.grade == grade
    assert result.mr_grade.source is GradeSource.ECHO
    assert result.mr_grade.machine_readable
    assert result.severe_mr is (grade == 4)


def test_severe_qualifier_evidence_names_the_echo_and_the_qualifier() -> None:
    evidence = facts(mr_grade="echo/severe_qualifier.json").mr_grade.evidence[0]
    assert evidence.reference == "Observation/echo-1"
    assert evidence.code == "48724000"
    assert evidence.value_text == "4+ (severe, SNOMED 24484000)"


def test_a_range_is_shown_as_a_range() -> None:
    (evidence,) = facts(mr_grade="echo/string_range.json").mr_grade.evidence
    assert evidence.value_text == "3-4+ (moderate-to-severe to severe)"
    assert evidence.status == "range"


def test_unreadable_free_text_grade_is_never_quoted() -> None:
    (evidence,) = facts(mr_grade="echo/string_prose.json").mr_grade.evidence
    assert evidence.value_text is None


def test_mild_to_moderate_is_the_range_1_to_2_never_rounded_up() -> None:
    grade = facts(mr_grade="echo/mild_to_moderate_qualifier.json").mr_grade
    assert (grade.grade, grade.grade_range) == (None, (1, 2))
    assert grade.current_echo_grade  # a range below 4+ is a current grade: no grade card


def test_text_only_concept_with_an_exact_grade_word_is_read() -> None:
    grade = facts(mr_grade="echo/text_only_concept.json").mr_grade
    assert grade.grade == 4
    assert grade.evidence[0].value_text == "4+ (severe)"


@pytest.mark.parametrize(
    ("fixture", "why"),
    [
        ("echo/quantity_3_5.json", "echo grade 3.5 is not a whole grade (never rounded)"),
        ("echo/integer_5.json", "echo grade 5 is outside 0-4"),
        ("echo/quantity_4_percent.json", "echo grade has a unit that is not a grade"),
        ("echo/string_prose.json", "echo grade is free text, not machine-readable"),
        ("echo/no_value.json", "echo grade was not recorded (data absent)"),
    ],
)
def test_echo_grade_that_is_not_machine_readable(fixture: str, why: str) -> None:
    grade = facts(mr_grade=fixture).mr_grade
    assert grade.grade is None
    assert grade.machine_readable is False
    assert grade.source is GradeSource.ECHO
    assert grade.missing == (why,)


def test_free_text_grade_is_never_quoted_back() -> None:
    result = facts(mr_grade="echo/string_prose.json")
    text = " ".join(result.mr_grade.missing) + " ".join(e.note or "" for e in result.mr_grade.evidence)
    assert "Smith" not in text


def test_unreadable_latest_echo_does_not_fall_back_to_a_severe_echo_more_than_30_days_before() -> None:
    grade = facts(mr_grade="echo/latest_unreadable_older_severe.json").mr_grade
    assert grade.grade is None
    assert grade.evidence[0].reference == "Observation/echo-13"


def test_a_range_reaching_4_is_never_severe_and_not_a_current_grade() -> None:
    grade = facts(mr_grade="echo/string_range.json").mr_grade
    assert (grade.grade, grade.grade_range, grade.severe) == (None, (3, 4), False)
    assert not grade.current_echo_grade


def test_unreadable_latest_echo_does_not_fall_back_to_condition_severity() -> None:
    result = facts(mr_grade="echo/string_range.json", conditions="conditions/mr_severe_severity.json")
    assert result.mr_grade.grade is None
    assert result.severe_mr is False


def test_latest_echo_decides_even_when_an_older_one_is_worse() -> None:
    assert facts(mr_grade="echo/latest_moderate_older_severe.json").mr_grade.grade == 2


def test_echo_older_than_365_days_is_not_used_and_is_reported() -> None:
    result = facts(mr_grade="echo/severe_400_days.json")
    assert result.mr_grade.grade is None
    assert result.mr_grade.source is GradeSource.NONE
    assert reasons(result)["Observation/echo-17"] == [
        "Mitral valve regurgitation (disorder): outside the 365 days window"
    ]


def test_echo_dated_364_days_ago_without_time_of_day_is_used() -> None:
    assert facts(mr_grade="echo/date_only_364_days.json").mr_grade.grade == 4


def test_preliminary_echo_counts_and_is_labelled() -> None:
    result = facts(mr_grade="echo/severe_preliminary.json")
    assert result.mr_grade.grade == 4
    assert result.mr_grade.preliminary
    assert result.mr_grade.evidence[0].status == "preliminary"
    assert "Observation/echo-18" not in reasons(result)


def test_without_echo_condition_severity_recorded_within_365_days_gives_the_grade() -> None:
    result = facts(conditions="conditions/mr_severe_severity_recent.json")
    assert result.mr_grade.grade == 4
    assert result.mr_grade.source is GradeSource.CONDITION
    assert result.mr_grade.evidence[0].reference == "Condition/mr-23"
    assert result.mr_grade.missing == ("no echo MR grade in the last 365 days",)


def test_condition_severity_recorded_more_than_365_days_ago_is_not_used() -> None:
    result = facts(conditions="conditions/mr_severe_severity.json")
    assert result.mr_grade.grade is None
    assert result.mr_grade.source is GradeSource.NONE
    assert result.mr_grade.missing == (
        "no echo MR grade in the last 365 days; MR Condition severity recorded more than 365 days ago",
    )


def test_echo_older_than_365_days_falls_back_to_condition_severity() -> None:
    result = facts(mr_grade="echo/severe_400_days.json", conditions="conditions/mr_moderate_severity.json")
    assert result.mr_grade.grade == 2
    assert result.mr_grade.source is GradeSource.CONDITION


def test_echo_in_window_wins_over_condition_severity() -> None:
    result = facts(
        mr_grade="echo/moderate_to_severe_qualifier.json", conditions="conditions/mr_severe_severity.json"
    )
    assert result.mr_grade.grade == 3
    assert result.mr_grade.source is GradeSource.ECHO


def test_condition_severity_as_text_is_not_machine_readable() -> None:
    grade = facts(conditions="conditions/mr_text_severity.json").mr_grade
    assert grade.grade is None
    assert grade.machine_readable is False
    assert grade.source is GradeSource.CONDITION


def test_no_echo_and_no_severity_means_no_grade() -> None:
    grade = facts(conditions="conditions/mr_active.json").mr_grade
    assert grade.grade is None
    assert grade.source is GradeSource.NONE
    assert grade.machine_readable is True
    assert grade.missing == ("no echo MR grade in the last 365 days, and no severity on an MR Condition",)


def test_echo_results_unavailable_means_no_grade_and_no_fallback() -> None:
    result = facts(
        unavailable={"mr-grade": "not prefetched and no FHIR server access"},
        conditions="conditions/mr_severe_severity.json",
    )
    assert result.mr_grade.grade is None
    assert result.mr_grade.missing == (
        Gap.of("mr-grade", Reason.NOT_OBTAINED, detail="not prefetched and no FHIR server access"),
    )


def test_severe_echo_alone_without_mr_condition_is_severe_mr() -> None:
    result = facts(mr_grade="echo/integer_4.json")
    assert result.severe_mr is True
    assert result.mr_documented.present is False


def test_echo_dated_only_by_this_year_is_within_365_days() -> None:
    assert facts(mr_grade="echo/severe_dated_this_year_only.json").mr_grade.grade == 4


def test_echo_found_under_another_key_while_the_echo_search_failed_is_used_but_flagged() -> None:
    result = facts(mr_grade="parse/operation_outcome_not_found.json", labs="echo/integer_4.json")
    assert result.mr_grade.grade == 4
    assert result.mr_grade.missing == (
        Gap.of("mr-grade", Reason.NOT_OBTAINED, detail="could not be fetched (OperationOutcome: not-found)"),
    )


def test_a_range_counts_by_its_lower_bound_for_mr_on_echo_only() -> None:
    result = facts(mr_grade="echo/string_range.json")
    assert result.mr_grade.grade is None
    assert result.mr_on_echo.status is Status.PRESENT


def test_mild_mr_on_a_recent_echo_is_not_mr_on_echo() -> None:
    assert facts(mr_grade="echo/mild_to_moderate_qualifier.json").mr_on_echo.status is Status.ABSENT


def test_free_text_grade_leaves_mr_on_echo_unknown() -> None:
    assert facts(mr_grade="echo/string_prose.json").mr_on_echo.status is Status.UNKNOWN


# --- revision 3: exact grade words, one data file ---------------------------------------

LOCAL = "urn:oid:2.16.840.1.113883.19.5.99999.1"
SNOMED_UNKNOWN = {"system": "http://snomed.info/sct", "code": "1", "display": "Severe"}
LOCAL_MILD = {"system": LOCAL, "code": "x", "display": "mild"}


@pytest.mark.parametrize(
    ("value", "grade"),
    [
        ({"valueString": "Severe"}, 4),
        ({"valueString": "severe MR"}, 4),
        ({"valueString": "Severe mitral regurgitation"}, 4),
        ({"valueString": "SEVERE REGURGITATION"}, 4),
        ({"valueString": "moderate-to-severe"}, 3),
        ({"valueString": "Moderately severe MR"}, 3),
        ({"valueString": "moderate"}, 2),
        ({"valueString": "mild"}, 1),
        ({"valueString": "trace"}, 0),
        ({"valueString": "trivial"}, 0),
        ({"valueString": "none"}, 0),
        ({"valueCodeableConcept": {"text": "Severe"}}, 4),
        ({"valueCodeableConcept": {"coding": [{"system": LOCAL, "code": "4", "display": "severe"}]}}, 4),
    ],
)
def test_an_exact_grade_word_is_read(value: dict[str, object], grade: int) -> None:
    assert grade_of_observation(value).grade == grade


@pytest.mark.parametrize(
    "value",
    [
        {"valueString": "not severe"},
        {"valueString": "severe AS"},
        {"valueString": "severe MR, see report"},
        {"valueString": "moderate-severe"},
        {"valueString": "probably severe"},
        {"valueCodeableConcept": {"text": "severe tricuspid regurgitation"}},
        # An unknown SNOMED CT code is not read by its display: its code says what it is.
        {
            "valueCodeableConcept": {
                "coding": [{"system": "http://snomed.info/sct", "code": "1", "display": "Severe"}]
            }
        },
        # A local display and the text that disagree give no grade.
        {
            "valueCodeableConcept": {
                "coding": [{"system": LOCAL, "code": "x", "display": "mild"}],
                "text": "severe",
            }
        },
    ],
)
def test_anything_but_an_exact_grade_word_is_not_read(value: dict[str, object]) -> None:
    parsed = grade_of_observation(value)
    assert parsed.grade is None
    assert not parsed.is_range


def test_mild_to_moderate_as_a_word_is_the_range_1_to_2() -> None:
    parsed = grade_of_observation({"valueString": "Mild to moderate MR"})
    assert (parsed.grade, parsed.at_least, parsed.at_most) == (None, 1, 2)


def test_the_card_word_for_each_grade_comes_from_the_one_data_file() -> None:
    assert [grade_name(g) for g in range(5)] == ["no", "mild", "moderate", "moderate-to-severe", "severe"]
