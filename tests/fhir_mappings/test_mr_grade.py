"""MR grade (docs/clinical-rules.md, MR grade): latest echo within 365 days decides; never round up."""

from __future__ import annotations

import pytest

from fhir_mappings.facts import GradeSource, Status
from fhir_mappings.gaps import Gap, Reason
from tests.fhir_mappings.charts import facts, reasons


@pytest.mark.parametrize(
    ("fixture", "grade"),
    [
        ("echo/severe_qualifier.json", 4),
        ("echo/moderate_to_severe_qualifier.json", 3),
        ("echo/mild_to_moderate_qualifier.json", 1),
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


def test_unreadable_grade_like_string_is_shown_as_recorded() -> None:
    (evidence,) = facts(mr_grade="echo/string_range.json").mr_grade.evidence
    assert evidence.value_text == "3-4+"


def test_unreadable_free_text_grade_is_never_quoted() -> None:
    (evidence,) = facts(mr_grade="echo/string_prose.json").mr_grade.evidence
    assert evidence.value_text is None


def test_mild_to_moderate_is_grade_1_never_rounded_up() -> None:
    assert facts(mr_grade="echo/mild_to_moderate_qualifier.json").mr_grade.grade == 1


@pytest.mark.parametrize(
    ("fixture", "why"),
    [
        ("echo/string_range.json", "echo grade '3-4+' is a range, not a grade"),
        ("echo/quantity_3_5.json", "echo grade 3.5 is not a whole grade (never rounded)"),
        ("echo/integer_5.json", "echo grade 5 is outside 0-4"),
        ("echo/quantity_4_percent.json", "echo grade has a unit that is not a grade"),
        ("echo/text_only_concept.json", "echo grade is text only"),
        ("echo/string_prose.json", "echo grade is free text, not machine-readable"),
        ("echo/no_value.json", "echo grade is missing"),
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


def test_unreadable_latest_echo_does_not_fall_back_to_an_older_severe_echo() -> None:
    grade = facts(mr_grade="echo/latest_unreadable_older_severe.json").mr_grade
    assert grade.grade is None
    assert grade.evidence[0].reference == "Observation/echo-13"


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


def test_preliminary_echo_is_ignored_and_reported() -> None:
    result = facts(mr_grade="echo/severe_preliminary.json")
    assert result.mr_grade.grade is None
    assert reasons(result)["Observation/echo-18"] == ["status preliminary"]


def test_without_echo_condition_severity_gives_the_grade() -> None:
    result = facts(conditions="conditions/mr_severe_severity.json")
    assert result.mr_grade.grade == 4
    assert result.mr_grade.source is GradeSource.CONDITION
    assert result.mr_grade.evidence[0].reference == "Condition/mr-20"
    assert result.mr_grade.missing == ("no echo MR grade in the last 365 days",)


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
