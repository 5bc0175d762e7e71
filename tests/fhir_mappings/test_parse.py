"""Prefetch handling: bundles, null, OperationOutcome, duplicates, keys, validation."""

from __future__ import annotations

import pytest

from fhir_mappings import ChartInput, map_chart
from fhir_mappings.facts import Status
from fhir_mappings.gaps import Gap, Reason
from tests.fhir_mappings.charts import NOW, PATIENT, chart, facts, load, reasons


def test_operation_outcome_key_is_unavailable_with_its_issue_code_only() -> None:
    result = facts(vital_signs="parse/operation_outcome_not_found.json")
    reason = dict(result.unavailable)["vital-signs"]
    assert reason == "could not be fetched (OperationOutcome: not-found)"
    assert "Jane" not in reason  # diagnostics is free text and is never copied
    assert result.hypotension.missing[0] == Gap.of("vital-signs", Reason.NOT_OBTAINED, detail=reason)


def test_null_key_means_searched_and_nothing_found() -> None:
    result = facts(vital_signs=None)
    assert "vital-signs" not in dict(result.unavailable)
    assert result.hypotension.missing == ("no blood pressure in the last 24 h",)


def test_key_absent_from_prefetch_and_not_declared_unavailable_is_not_provided() -> None:
    result = map_chart(ChartInput(PATIENT, {}), now=NOW)
    assert dict(result.unavailable)["vital-signs"] == "not provided by the EHR"
    assert result.hypotension.status is Status.UNKNOWN


def test_a_value_that_is_not_a_resource_makes_the_key_unavailable() -> None:
    prefetch = dict(chart().prefetch, labs=["not", "a", "resource"])
    result = map_chart(ChartInput(PATIENT, prefetch), now=NOW)
    assert dict(result.unavailable)["labs"] == "the value received is not a FHIR resource"
    assert result.hypoperfusion.status is Status.UNKNOWN


def test_error_outcome_entry_marks_the_search_as_partial_but_keeps_its_resources() -> None:
    result = facts(vital_signs="parse/bundle_with_error_outcome.json")
    assert (
        dict(result.unavailable)["vital-signs"]
        == "the search was only partly answered (OperationOutcome: too-costly)"
    )
    # SBP 120 was seen, but a later one may be missing: not enough to say "no hypotension".
    assert result.hypotension.status is Status.UNKNOWN


def test_search_cut_short_by_the_page_cap_cannot_say_absent() -> None:
    base = chart(vital_signs="vitals/sbp_90_2h.json")
    cut = ChartInput(PATIENT, base.prefetch, incomplete={"vital-signs": "more pages than the cap of 5"})
    result = map_chart(cut, now=NOW)
    reason = "results may be incomplete (more pages than the cap of 5)"
    assert dict(result.unavailable)["vital-signs"] == reason
    # SBP 90 was read, but a later one may be on a page that was not: not "no hypotension".
    assert result.hypotension.status is Status.UNKNOWN
    assert Gap.of("vital-signs", Reason.PARTIAL, detail=reason) in result.hypotension.missing


def test_search_cut_short_still_counts_what_it_found() -> None:
    base = chart(vital_signs="vitals/sbp_89_2h.json")
    cut = ChartInput(PATIENT, base.prefetch, incomplete={"vital-signs": "a next link to another server"})
    result = map_chart(cut, now=NOW)
    assert result.hypotension.status is Status.PRESENT


def test_warning_outcome_entry_is_not_an_error() -> None:
    result = facts(vital_signs="parse/bundle_with_warning_outcome.json")
    assert "vital-signs" not in dict(result.unavailable)
    assert result.hypotension.status is Status.ABSENT


def test_same_resource_under_two_keys_is_counted_once() -> None:
    result = facts(vital_signs="vitals/sbp_89_2h.json", labs="vitals/sbp_89_2h.json")
    assert len(result.hypotension.evidence) == 1


def test_a_single_resource_read_is_used_like_a_bundle_entry() -> None:
    bundle = load("vitals/sbp_89_2h.json")
    prefetch = dict(chart().prefetch, **{"vital-signs": bundle["entry"][0]["resource"]})
    assert map_chart(ChartInput(PATIENT, prefetch), now=NOW).hypotension.present


def test_malformed_resource_is_reported_with_its_path_but_not_its_value() -> None:
    result = facts(conditions="parse/malformed_with_name.json")
    (reason,) = reasons(result)["Condition/bad-1"]
    assert reason.startswith("failed validation: recordedDate")
    assert "Jane" not in reason
    assert result.mr_documented.status is Status.ABSENT


def test_now_without_time_zone_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone"):
        map_chart(chart(), now=NOW.replace(tzinfo=None))


def test_no_patient_data_reaches_notes_reasons_or_missing() -> None:
    result = facts(
        conditions=["parse/malformed_with_name.json", "conditions/mr_active.json"],
        mr_grade="echo/string_prose.json",
        vital_signs="parse/operation_outcome_not_found.json",
        patient="parse/patient.json",
    )
    texts = [n.reason for n in result.data_quality] + [r for _, r in result.unavailable]
    facts_ = [result.mr_documented, result.hypotension, result.acute_mr_trigger]
    texts += [str(m) for f in facts_ for m in f.missing] + [e.note or "" for f in facts_ for e in f.evidence]
    texts += [str(m) for m in result.mr_grade.missing]
    joined = " ".join(texts)
    for private in ("Jane", "Doe", "1950", "Smith"):
        assert private not in joined


def test_data_quality_notes_can_be_counted_per_reason() -> None:
    result = facts(
        vital_signs=["vitals/sbp_25h.json", "vitals/sbp_preliminary.json"],
        mr_grade="echo/severe_400_days.json",
    )
    assert result.data_quality_by_reason == (
        ("Mitral valve regurgitation (disorder): outside the 365 days window", 1),
        ("Systolic blood pressure: outside the 24 h window", 1),
        ("status preliminary", 1),
    )


def test_unusual_notes_come_before_the_many_out_of_window_ones() -> None:
    result = facts(vital_signs=["vitals/sbp_25h.json", "vitals/sbp_preliminary.json"])
    assert [n.reason for n in result.data_quality] == [
        "status preliminary",
        "Systolic blood pressure: outside the 24 h window",
    ]
