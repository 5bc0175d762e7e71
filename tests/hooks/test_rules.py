"""Each recommendation of docs/clinical-rules.md on hand-built facts, one case per test."""

from __future__ import annotations

import logging
import re
from dataclasses import replace
from typing import Any

import pytest
from fhir.resources.R4B.servicerequest import ServiceRequest

import hooks
from cds_service.calls.schemas import validate_response
from fhir_mappings.facts import DataQualityNote, GradeSource, MatchKind
from hooks import engine
from hooks.rules import RULES
from tests.hooks.factories import (
    AMI,
    BILI,
    CREAT,
    ECMO,
    EDEMA,
    FUROSEMIDE,
    HF,
    IABP,
    LACTATE_4,
    LISINOPRIL,
    MR_CONDITION,
    NO_GRADE,
    NOREPI,
    NOW,
    SBP_82,
    SHOCK,
    absent,
    counter_ids,
    ev,
    facts,
    grade,
    med,
    medications,
    present,
    severe,
    unknown,
)

HTML_TAG = re.compile(r"<[A-Za-z/!?][^>]*>")


def run(f: Any) -> list[dict[str, Any]]:
    cards = hooks.evaluate(f, now=NOW, ids=counter_ids())
    validate_response({"cards": cards})
    for card in cards:
        assert len(card["summary"]) < 140
        assert not HTML_TAG.search(card["detail"])
    return cards


def ids_of(cards: list[dict[str, Any]]) -> list[str]:
    return [c["source"]["topic"]["code"] for c in cards]


def by_id(cards: list[dict[str, Any]], rec_id: str) -> dict[str, Any]:
    return next(c for c in cards if c["source"]["topic"]["code"] == rec_id)


def documented(grade_value: int | None = None, **overrides: Any) -> Any:
    mr_grade = grade(grade_value) if grade_value is not None else NO_GRADE
    return facts(mr_documented=present("mr_documented", MR_CONDITION), mr_grade=mr_grade, **overrides)


# --- no card --------------------------------------------------------------------------


def test_no_mr_gives_no_cards() -> None:
    assert run(facts()) == []


def test_no_mr_with_shock_and_heart_failure_gives_no_cards() -> None:
    f = facts(
        cardiogenic_shock=present("cs", SHOCK),
        hypotension=present("h", SBP_82),
        heart_failure_symptoms=present("hf", HF),
    )
    assert run(f) == []


@pytest.mark.parametrize("grade_value", [0, 1, 2, 3])
def test_mild_or_moderate_mr_without_acute_trigger_gives_no_cards(grade_value: int) -> None:
    f = documented(grade_value, hypotension=present("h", SBP_82), multi_organ_failure=present("mof"))
    assert run(f) == []


def test_moderate_to_severe_3_plus_is_not_rounded_up_to_severe() -> None:
    assert run(documented(3, cardiogenic_shock=present("cs", SHOCK))) == []


# --- acute-mr-emergency ---------------------------------------------------------------


def test_documented_mr_with_recent_mi_and_pulmonary_edema_gets_critical_emergency_card() -> None:
    f = documented(2, acute_mr_trigger=present("t", AMI), pulmonary_edema=present("pe", EDEMA))
    cards = run(f)
    assert ids_of(cards) == ["acute-mr-emergency"]
    card = cards[0]
    assert card["indicator"] == "critical"
    assert card["summary"] == (
        "Possible acute MR (acute MI) with pulmonary edema: "
        "emergency, urgent cardiology and cardiac-surgery assessment"
    )
    assert "Condition/ami-1" not in card["detail"]  # never a resource id on a card
    assert "cardiac-surgery assessment" in card["detail"]


@pytest.mark.parametrize(
    ("field", "fact"),
    [("hypotension", present("h", SBP_82)), ("cardiogenic_shock", present("cs", SHOCK))],
)
def test_acute_mr_emergency_with_hypotension_or_shock(field: str, fact: Any) -> None:
    cards = run(documented(2, acute_mr_trigger=present("t", AMI), **{field: fact}))
    assert "acute-mr-emergency" in ids_of(cards)


def test_acute_trigger_without_edema_hypotension_or_shock_gives_no_emergency_card() -> None:
    assert run(documented(2, acute_mr_trigger=present("t", AMI))) == []


def test_acute_mr_emergency_needs_documented_mr() -> None:
    f = facts(mr_grade=grade(2), acute_mr_trigger=present("t", AMI), pulmonary_edema=present("pe", EDEMA))
    assert run(f) == []


# --- mechanical-support / on-mechanical-support ----------------------------------------


def test_severe_mr_with_shock_and_no_support_gets_critical_card() -> None:
    f = severe(cardiogenic_shock=present("cs", SHOCK), hypoperfusion=present("hp", LACTATE_4))
    cards = run(f)
    card = by_id(cards, "mechanical-support")
    assert card["indicator"] == "critical"
    # Spec 2.1: a critical summary carries the deciding numbers, not category names.
    assert card["summary"] == (
        "Severe MR (4+), unstable (lactate 4.1), no mechanical support: consider ECMO or IABP as a bridge"
    )
    assert "- Lactate 4.1 mmol/L, 3 h ago" in card["detail"]
    assert "Observation/lac-1" not in card["detail"]


def test_critical_summary_names_the_category_when_no_number_decides() -> None:
    card = by_id(run(severe(cardiogenic_shock=present("cs", SHOCK))), "mechanical-support")
    assert "(cardiogenic shock)" in card["summary"]


def test_critical_summary_keeps_the_verify_caveat_of_a_name_matched_drug() -> None:
    drip = ev("MedicationAdministration/ma-9", what="norepinephrine", status="running")
    named = present("vasoactive_support", replace(drip, reason="name-only"))
    card = by_id(run(severe(vasoactive_support=named)), "mechanical-support")
    assert "on norepinephrine" not in card["summary"]  # never a bare name: the criteria are said


@pytest.mark.parametrize("field", ["hypotension", "hypoperfusion", "cardiogenic_shock", "vasoactive_support"])
def test_each_instability_criterion_alone_triggers_mechanical_support(field: str) -> None:
    assert "mechanical-support" in ids_of(run(severe(**{field: present(field, SBP_82)})))


def test_severe_mr_without_instability_gets_no_mechanical_support_card() -> None:
    assert "mechanical-support" not in ids_of(run(severe()))


def test_severe_mr_already_on_ecmo_gets_bridge_card_not_support_card() -> None:
    f = severe(hypotension=present("h", SBP_82), mechanical_support=present("ms", ECMO))
    cards = run(f)
    assert "mechanical-support" not in ids_of(cards)
    card = by_id(cards, "on-mechanical-support")
    assert card["indicator"] == "info"
    assert card["summary"].startswith("Severe MR on VA-ECMO: a bridge")


def test_bridge_card_names_iabp() -> None:
    card = by_id(run(severe(mechanical_support=present("ms", IABP))), "on-mechanical-support")
    assert "IABP" in card["summary"]


def test_unknown_support_status_still_suggests_support_and_says_so() -> None:
    f = severe(
        hypotension=present("h", SBP_82),
        mechanical_support=unknown("mechanical_support", "procedures: not prefetched"),
        unavailable=(("procedures", "not prefetched"),),
    )
    card = by_id(run(f), "mechanical-support")
    assert "is not certain: check before acting" in card["detail"]
    assert "procedures: not prefetched" in card["detail"]
    assert "check whether support is already running" in card["summary"]
    assert "on-mechanical-support" not in ids_of(run(f))


# --- transcatheter-repair / surgical-repair -------------------------------------------


def test_severe_mr_with_multi_organ_failure_gets_mitraclip_warning_and_no_surgery_card() -> None:
    f = severe(
        multi_organ_failure=present("mof", CREAT, BILI),
        organ_dysfunction={
            "renal": present("renal", CREAT),
            "hepatic": present("hepatic", BILI),
            "respiratory": absent("respiratory"),
            "coagulation": absent("coagulation"),
        },
    )
    cards = run(f)
    assert "surgical-repair" not in ids_of(cards)
    card = by_id(cards, "transcatheter-repair")
    assert card["indicator"] == "warning"
    assert card["summary"].startswith(
        "Severe MR (4+), multi-organ failure (renal, hepatic): consider MitraClip"
    )
    assert card["detail"].count("Creatinine") == 1  # organ evidence shown once


def test_severe_mr_without_multi_organ_failure_gets_surgical_repair_info() -> None:
    card = by_id(run(severe()), "surgical-repair")
    assert card["indicator"] == "info"
    assert card["summary"] == (
        "Severe MR (4+): prioritize surgical repair when feasible; "
        "repair is generally preferred over replacement"
    )
    assert "transcatheter-repair" not in ids_of(run(severe()))


def test_unknown_multi_organ_failure_in_an_unstable_patient_keeps_surgical_card_with_caveat() -> None:
    f = severe(
        multi_organ_failure=unknown("multi_organ_failure", "no creatinine in the last 48 h"),
        hypotension=present("hypotension", SBP_82),
    )
    card = by_id(run(f), "surgical-repair")
    assert "Multi-organ failure could not be fully assessed" in card["detail"]
    assert "no creatinine in the last 48 h" in card["detail"]


def test_unknown_multi_organ_failure_with_one_failing_organ_keeps_the_caveat() -> None:
    organs = {
        "renal": present("renal", CREAT),
        "hepatic": unknown("hepatic", "no total bilirubin in the last 48 h"),
        "respiratory": absent("respiratory"),
        "coagulation": absent("coagulation"),
    }
    f = severe(
        organ_dysfunction=organs,
        multi_organ_failure=unknown("multi_organ_failure", "no total bilirubin in the last 48 h"),
    )
    card = by_id(run(f), "surgical-repair")
    assert "Multi-organ failure could not be fully assessed" in card["detail"]
    assert "no total bilirubin in the last 48 h" in card["detail"]


def test_stable_patient_without_48_hour_labs_gets_no_multi_organ_failure_caveat() -> None:
    f = severe(multi_organ_failure=unknown("multi_organ_failure", "no creatinine in the last 48 h"))
    card = by_id(run(f), "surgical-repair")
    assert "Multi-organ failure" not in card["detail"]
    assert "creatinine" not in card["detail"]
    assert "Not assessed" not in card["detail"]
    # The trail keeps what was not assessed.
    text = hooks.explanation_text(hooks.explain(f), now=NOW)
    assert "could not be assessed: no creatinine in the last 48 h" in text


CONDITION_GRADE = ev("Condition/mr-1", display="Mitral valve regurgitation", value=4, what="condition-grade")


def test_severe_grade_from_condition_severity_is_enough_and_says_where_it_came_from() -> None:
    f = facts(
        mr_documented=present("mr", MR_CONDITION),
        mr_grade=grade(4, source=GradeSource.CONDITION, evidence=(CONDITION_GRADE,)),
    )
    card = by_id(run(f), "surgical-repair")
    assert "Severe MR (4+) on the problem list" in card["detail"]
    assert "(4+ on the problem list)" in card["summary"]


def test_severe_mr_on_echo_alone_is_enough_for_severe_cards() -> None:
    cards = run(facts(mr_grade=grade(4)))
    assert set(ids_of(cards)) == {"surgical-repair", "medical-therapy"}


# --- medical-therapy --------------------------------------------------------------------


def test_medical_therapy_lists_active_and_inactive_first_line_classes() -> None:
    card = by_id(run(severe(medications=medications(LISINOPRIL))), "medical-therapy")
    assert card["indicator"] == "info"
    # A stable patient: IV vasodilators and inotropes are ICU drugs, never listed as missing.
    assert card["summary"] == (
        "Severe MR: review first-line medical therapy; active: ACE inhibitor or ARB; "
        "not active: loop diuretic"
    )
    assert "- Loop diuretic not active" in card["detail"]
    assert "inotrope" not in card["detail"].split("**Why**")[1]
    assert "- ACE inhibitor or ARB: Lisinopril" in card["detail"]
    assert "ARB: not active" not in card["detail"]


def test_heart_failure_without_loop_diuretic_raises_medical_therapy_to_warning() -> None:
    card = by_id(run(severe(heart_failure_symptoms=present("hf", HF))), "medical-therapy")
    assert card["indicator"] == "warning"
    assert "loop diuretic not active" in card["summary"]


def test_heart_failure_with_loop_diuretic_keeps_medical_therapy_info() -> None:
    f = severe(heart_failure_symptoms=present("hf", HF), medications=medications(FUROSEMIDE))
    assert by_id(run(f), "medical-therapy")["indicator"] == "info"


def test_unavailable_medications_are_not_reported_as_no_diuretic() -> None:
    f = severe(
        heart_failure_symptoms=present("hf", HF),
        medications=medications(missing=("medication-requests: not prefetched",)),
    )
    card = by_id(run(f), "medical-therapy")
    assert card["indicator"] == "info"
    assert "not active" not in card["detail"]
    assert "no active loop diuretic" not in card["summary"]
    assert "could not be assessed" in card["summary"]
    assert "medication-requests: not prefetched" in card["detail"]


def test_hypotension_with_an_inpatient_ace_inhibitor_order_is_a_warning_naming_the_drug() -> None:
    f = severe(hypotension=present("h", SBP_82), medications=medications(LISINOPRIL))
    card = by_id(run(f), "medical-therapy")
    assert card["indicator"] == "warning"
    assert card["summary"] == (
        "Severe MR, SBP 82 with lisinopril ordered: review or hold it; vasodilators need caution"
    )
    assert "- SBP 82 mmHg" in card["detail"]


LONG_NAME = med(
    "vasodilators-iv",
    "MedicationRequest/ntp-1",
    "7476",
    "nitroprusside sodium dihydrate infusion concentrate",
)


@pytest.mark.parametrize("heart_failure", [False, True], ids=["no-hf", "hf"])
@pytest.mark.parametrize(
    "meds",
    [
        medications(),
        medications(LISINOPRIL),
        medications(FUROSEMIDE, LISINOPRIL, NOREPI),
        medications(LISINOPRIL, LONG_NAME),
        medications(missing=("medication orders: the EHR could not fetch it",)),
    ],
    ids=["none", "acei", "several", "long-names", "not-assessed"],
)
def test_hypotensive_summary_always_keeps_the_vasodilator_caution(heart_failure: bool, meds: Any) -> None:
    hf = {"heart_failure_symptoms": present("hf", HF)} if heart_failure else {}
    card = by_id(run(severe(hypotension=present("h", SBP_82), medications=meds, **hf)), "medical-therapy")
    assert "vasodilators need caution" in card["summary"]
    assert len(card["summary"]) < 140
    if meds.active("ace-inhibitors"):
        assert "lisinopril" in card["summary"]  # the active vasodilator is named


def test_name_only_medication_match_is_flagged() -> None:
    by_name = med("loop-diuretics", "MedicationRequest/furo-2", "", "Furosemide 40 mg tablet", MatchKind.NAME)
    card = by_id(run(severe(medications=medications(by_name))), "medical-therapy")
    # Counted as active, so the detail never calls it "not counted" while the summary says active.
    assert "(name match: verify)" in card["detail"]
    assert "not counted" not in card["detail"]


def test_vasopressor_alone_is_not_a_first_line_class_but_counts_as_instability() -> None:
    f = severe(vasoactive_support=present("va", NOREPI.evidence), medications=medications(NOREPI))
    cards = run(f)
    assert "mechanical-support" in ids_of(cards)
    # Unstable: the caution is in the summary, and vasodilators are never listed as "not active".
    card = by_id(cards, "medical-therapy")
    assert card["summary"] == (
        "Severe MR, unstable: vasodilators need caution; review first-line medical therapy"
    )
    assert "- Loop diuretic, inotrope not active" in card["detail"]


# --- grade-severity ---------------------------------------------------------------------


def test_documented_mr_without_echo_grade_gets_grade_card_with_draft_echo_order() -> None:
    cards = run(documented())
    assert ids_of(cards) == ["grade-severity"]
    card = cards[0]
    assert card["indicator"] == "info"
    assert (
        card["summary"]
        == "MR without a current echo grade: echocardiography is essential for grading severity"
    )
    assert card["selectionBehavior"] == "at-most-one"
    (suggestion,) = card["suggestions"]
    (action,) = suggestion["actions"]
    resource = action["resource"]
    ServiceRequest.model_validate(resource)  # a valid resource (R4B = R4 for ServiceRequest)
    assert resource["status"] == "draft"
    assert resource["intent"] == "proposal"
    assert resource["subject"] == {"reference": "Patient/p1"}
    assert resource["code"]["coding"][0]["code"] == "433236007"
    assert resource["code"]["coding"][0]["system"] == "http://snomed.info/sct"
    assert resource["reasonReference"] == [{"reference": "Condition/mr-1"}]
    assert card["uuid"] != suggestion["uuid"]


def test_unreadable_echo_grade_asks_for_a_structured_grade() -> None:
    unreadable = ev(
        "Observation/echo-9",
        display="Mitral valve regurgitation",
        value_text="3-4+",
        time=NOW,
        what="echo-grade",
    )
    f = facts(
        mr_documented=present("mr", MR_CONDITION),
        mr_grade=grade(None, readable=False, evidence=(unreadable,), missing=("grade not machine-readable",)),
    )
    card = by_id(run(f), "grade-severity")
    assert "not machine-readable" in card["summary"]
    assert "3-4+" in card["detail"]


def test_echo_results_not_obtained_are_not_called_missing() -> None:
    f = documented(unavailable=(("mr-grade", "not prefetched"),))
    card = by_id(run(f), "grade-severity")
    assert card["summary"] == (
        "MR: echo results could not be obtained; echocardiography is essential for grading severity"
    )
    assert "check for a recent echo before ordering one" in card["detail"]


def test_graded_mr_gets_no_grade_card() -> None:
    assert "grade-severity" not in ids_of(run(documented(2)))


def test_grade_card_needs_documented_mr() -> None:
    assert run(facts(mr_grade=NO_GRADE)) == []


def test_unconfirmed_mr_is_said_in_summary_and_detail() -> None:
    f = documented(mr_unconfirmed=True)
    card = by_id(run(f), "grade-severity")
    assert card["summary"].startswith("Unconfirmed MR")
    assert "provisional or differential: confirm it" in card["detail"]


def test_unconfirmed_mr_is_said_on_severe_cards() -> None:
    f = documented(4, mr_unconfirmed=True)
    for card in run(f):
        assert "provisional or differential" in card["detail"]
        assert "unconfirmed" in card["summary"].lower()


# --- every card -----------------------------------------------------------------------


def everything() -> Any:
    return severe(
        acute_mr_trigger=present("t", AMI),
        pulmonary_edema=present("pe", EDEMA),
        hypotension=present("h", SBP_82),
        heart_failure_symptoms=present("hf", HF),
        multi_organ_failure=present("mof", CREAT, BILI),
    )


def test_cards_are_ordered_critical_warning_info() -> None:
    cards = run(everything())
    assert ids_of(cards) == [
        "acute-mr-emergency",
        "mechanical-support",
        "transcatheter-repair",
        "medical-therapy",
    ]
    assert [c["indicator"] for c in cards] == ["critical", "critical", "warning", "warning"]


def test_every_card_has_topic_links_override_reasons_and_evidence() -> None:
    cards = run(everything()) + run(severe(mechanical_support=present("ms", ECMO))) + run(documented())
    cards += run(severe())
    assert {c["source"]["topic"]["code"] for c in cards} == {rec_id for rec_id, _ in RULES}
    for card in cards:
        topic = card["source"]["topic"]
        assert topic["system"] == "urn:mr-cds-hooks:CodeSystem:recommendation"
        assert "url" not in card["source"]  # one link per reference, in links only
        assert [r["code"] for r in card["overrideReasons"]] == [
            "already-addressed",
            "patient-declined",
            "not-appropriate",
            "data-out-of-date",
        ]
        assert all(
            r["display"] and r["system"] == "urn:mr-cds-hooks:CodeSystem:override-reason"
            for r in card["overrideReasons"]
        )
        assert "**Evidence:** " in card["detail"]
        assert "pubmed" not in card["detail"]
        assert any("pubmed.ncbi.nlm.nih.gov" in link["url"] for link in card["links"])
        education = any("heart.org" in link["url"] for link in card["links"])
        assert education == (topic["code"] in {"surgical-repair", "medical-therapy"})


def test_card_ids_come_from_ids() -> None:
    cards = hooks.evaluate(severe(), now=NOW, ids=counter_ids())
    assert [c["uuid"][-2:] for c in cards] == ["01", "02"]


def test_detail_lists_missing_unavailable_and_data_quality() -> None:
    f = severe(
        hypoperfusion=unknown("hypoperfusion", "no lactate in the last 24 h"),
        cardiogenic_shock=present("cs", SHOCK),
        unavailable=(("labs", "the FHIR server did not answer in time"), ("devices", "not prefetched")),
        data_quality=(
            DataQualityNote("Observation", "bp-9", "unit 'mmol' not recognised"),
            DataQualityNote("MedicationRequest", "x-1", "cancelled"),
        ),
    )
    card = by_id(run(f), "mechanical-support")
    # Fired on shock: what was not assessed could not change this card, so it is not listed.
    assert "Not assessed" not in card["detail"]
    assert "Observation/bp-9" not in card["detail"]  # data left out is in --explain, not on cards
    unknown_mof = severe(
        multi_organ_failure=unknown("multi_organ_failure", "renal: no creatinine in the last 48 h"),
        hypoperfusion=present("hypoperfusion", LACTATE_4),
    )
    surgical = by_id(run(unknown_mof), "surgical-repair")
    assert "**Not assessed:** Organ function: renal: no creatinine in the last 48 h" in surgical["detail"]


def test_chart_text_cannot_inject_html_or_markdown() -> None:
    evil = ev("Condition/x", display="<img src=x onerror=alert(1)> **bold** [link](http://e.vil)", time=NOW)
    card = by_id(run(severe(cardiogenic_shock=present("cs", evil))), "mechanical-support")
    assert "<img" not in card["detail"]
    assert "**bold**" not in card["detail"]
    assert "](http" not in card["detail"]


# --- a failing rule -----------------------------------------------------------------------


def test_a_failing_rule_is_logged_counted_and_does_not_hide_other_cards(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*_: Any) -> Any:
        raise ValueError("patient p1 secret")

    rules = tuple((rid, broken if rid == "surgical-repair" else rule) for rid, rule in RULES)
    monkeypatch.setattr(engine, "RULES", rules)
    before = hooks.rule_failures().get("surgical-repair", 0)
    with caplog.at_level(logging.ERROR, logger="hooks.engine"):
        result = hooks.evaluate_detailed(severe(), now=NOW, ids=counter_ids())
    assert [c["source"]["topic"]["code"] for c in result.cards] == ["medical-therapy"]
    assert result.failed_rules == ("surgical-repair",)
    assert hooks.rule_failures()["surgical-repair"] == before + 1
    (record,) = caplog.records
    assert "surgical-repair" in record.getMessage()
    assert "ValueError" in record.getMessage()
    assert "secret" not in record.getMessage()
    failed = next(r for r in result.results if r.rule_id == "surgical-repair")
    assert failed.error == "ValueError"
    assert not failed.fired


def test_a_failing_card_renderer_is_isolated_too(monkeypatch: pytest.MonkeyPatch) -> None:
    real = engine.card

    def card(result: Any, *args: Any, **kwargs: Any) -> Any:
        if result.rule_id == "medical-therapy":
            raise KeyError("x")
        return real(result, *args, **kwargs)

    monkeypatch.setattr(engine, "card", card)
    result = hooks.evaluate_detailed(severe(), now=NOW, ids=counter_ids())
    assert [c["source"]["topic"]["code"] for c in result.cards] == ["surgical-repair"]
    assert result.failed_rules == ("medical-therapy",)


# --- explain ------------------------------------------------------------------------------


def test_explain_covers_every_rule_in_spec_order_with_deciding_facts() -> None:
    results = hooks.explain(severe(hypotension=present("h", SBP_82)))
    assert [r.rule_id for r in results] == [rid for rid, _ in RULES]
    fired = {r.rule_id for r in results if r.fired}
    assert fired == {"mechanical-support", "surgical-repair", "medical-therapy"}
    text = hooks.explanation_text(results, now=NOW)
    assert "FIRED      mechanical-support (critical)" in text
    assert "not fired  transcatheter-repair (warning)" in text
    assert "when: severe_mr and hemodynamic_instability and not mechanical_support" in text
    assert "(SBP 82 mm[Hg] < 90 mm[Hg]); Observation/bp-1, 2026-01-15 08:30 UTC" in text
    assert "rule: docs/clinical-rules.md#mechanical-support" in text
    assert "clinical-spec" not in text
    data = hooks.explanation_json(results)
    assert data[1]["id"] == "mechanical-support"
    assert data[1]["rule"] == "docs/clinical-rules.md#mechanical-support"
    assert data[1]["checks"][1]["evidence"][0]["reference"] == "Observation/bp-1"


def test_explain_keeps_the_left_out_trail_that_cards_do_not_show() -> None:
    left_out = (DataQualityNote("Observation", "bp-2", "SBP outside the plausible 40-300 mm[Hg]: artefact"),)
    text = hooks.explanation_text(hooks.explain(severe()), now=NOW, left_out=left_out)
    assert "Left out of the assessment:" in text
    assert "Observation/bp-2: SBP outside the plausible 40-300 mm[Hg]: artefact" in text


def test_explain_marks_unknown_checks() -> None:
    results = hooks.explain(
        documented(hypotension=unknown("hypotension", "no blood pressure in the last 24 h"))
    )
    text = hooks.explanation_text(results, now=NOW)
    assert "[?] severe_mr -- Severe MR" in text
    assert "could not be assessed: Hypotension: no blood pressure in the last 24 h" in text
