"""Every shortcut of the rules and cards against the long way (issue 18: same words, sooner).

The golden responses (``test_golden_responses.py``) check whole answers byte for byte; these
tests check each shortcut on its own, on inputs the golden charts do not reach.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from unittest.mock import patch

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cds_service.calls.demo import as_of, parse_instant
from cds_service.calls.pipeline import run_hook_detailed
from cds_service.calls.services import registry
from cds_service.core.settings import Settings
from fhir_mappings.drug_classes import drug_classes
from fhir_mappings.facts import Evidence, GradeSource, MedicationMatch, MRGrade, PatientFacts, Scope, Status
from fhir_mappings.gaps import Gap, Missing, Reason
from fhir_mappings.valuesets import value_set
from hooks import cards as cards_module
from hooks import model
from hooks import rules as rules_module
from hooks.cards import (
    _wants_numbers,
    card,
    check_label,
    constant_parts,
    could_change,
    deciding_numbers,
    summary,
    why,
)
from hooks.engine import _decide
from hooks.gaps import grouped
from hooks.guideline import Guideline, guideline
from hooks.model import Check, Role, RuleResult
from hooks.phrases import _MEASURED, _NOT_PROBLEM_LINE, _phrase, phrase
from hooks.rules import (
    _active_in,
    _grade_slot,
    _group_label,
    _may_list_inactive,
    _medication_checks,
    _upper_first,
    _value_sets_of,
    grade_context,
    grade_severity,
    grade_statement,
    severe_mr_check,
    transcatheter_repair,
)
from hooks.scope import quiet, scoped
from hooks.text import _MD_ANY, _TAG_START, collapse, plain
from tests.hooks import golden
from tests.hooks.factories import (
    FUROSEMIDE,
    LISINOPRIL,
    NOREPI,
    NOW,
    ORGANS,
    absent,
    ev,
    facts,
    medications,
    present,
    unknown,
)
from tests.hooks.test_properties import facts_of, patient_facts

G = guideline()

#: Every ``what`` phrase() words on its own, labelled value sets, and ones it does not know.
_WHATS = sorted({*_MEASURED, *_NOT_PROBLEM_LINE, *G.value_set_labels, *G.trigger_value_sets})
_TYPES = ["Condition", "Observation", "Procedure", "Device", "MedicationRequest", "MedicationAdministration"]
_STATES = ["resolved", "unconfirmed", "active", "running", "computed", "not-graded", "range", "in-progress"]

evidence = st.builds(
    lambda rt, what, status, value, vtext, display, hours: Evidence(
        rt,
        "x-1",
        None,
        None,
        display,
        value,
        None,
        vtext,
        None if hours is None else NOW - timedelta(hours=hours),
        None,
        what,
        status,
    ),
    st.sampled_from(_TYPES),
    st.none() | st.sampled_from(_WHATS),
    st.none() | st.sampled_from(_STATES),
    st.none() | st.sampled_from([0.0, 1.0, 4.0, 78.0]),
    st.none() | st.sampled_from(["3-4+", ">15"]),
    st.none() | st.sampled_from(["Heart failure", "x" * 120]),
    st.none() | st.floats(0, 24 * 400),
)


@settings(max_examples=600, deadline=None)
@given(evidence)
def test_a_problem_list_line_taken_sooner_reads_as_the_long_way(ev: Evidence) -> None:
    assert _said(phrase, ev) == _said(_phrase, ev)


def _said(words: Callable[[Evidence, Guideline, datetime], str], ev: Evidence) -> object:
    """The words, or the error both ways must raise alike (a grade outside 0-4+)."""
    try:
        return words(ev, G, NOW)
    except KeyError as exc:
        return ("KeyError", str(exc))


def test_every_condition_branch_the_shortcut_takes_is_the_long_ways_condition_branch() -> None:
    # Each labelled condition, in every state, timed and not: the shortcut is exercised.
    when = datetime(2026, 1, 10, 8, 0, tzinfo=UTC)
    taken = 0
    for what in G.value_set_labels:
        for status in (None, "active", "resolved", "unconfirmed"):
            for time in (None, when):
                ev = Evidence("Condition", "c-1", None, None, "d", None, None, None, time, None, what, status)
                taken += what not in _NOT_PROBLEM_LINE
                assert phrase(ev, G, NOW) == _phrase(ev, G, NOW), (what, status, time)
    assert taken > 0


def test_a_problem_list_wording_is_kept_per_label_and_is_the_template_filled() -> None:
    for label in ("Heart failure", "Mitral regurgitation", "{odd}"):
        expected = G.texts["on_problem_list"].format(label=label)
        assert G.on_problem_list(label) == expected
        assert G.on_problem_list(label) == expected  # from the memo


def test_the_guidelines_kept_label_tables_are_the_data_files() -> None:
    assert G.presentation_words == {**G.instability_labels, **G.presentation_labels}
    assert G.organ_labels == {o: f"Organ dysfunction: {w}" for o, w in G.organs.items()}


# --- scope asked once per call ---------------------------------------------------------

_SCOPE_FACTS = (
    "deceased",
    "comfort_care",
    "dnr",
    "pregnant",
    "durable_vad",
    "mitral_stenosis",
    "surgical_risk",
)

scopes = st.just(Scope()) | st.builds(
    Scope,
    age_years=st.none() | st.integers(0, 100),
    **{name: facts_of(name) for name in _SCOPE_FACTS},
)
scoped_facts = st.tuples(patient_facts, scopes).map(lambda pair: replace(pair[0], scope=pair[1]))


def test_any_scope_fact_recorded_or_a_child_is_not_quiet() -> None:
    assert quiet(Scope())
    assert quiet(Scope(age_years=40))
    assert not quiet(Scope(age_years=12))
    for name in _SCOPE_FACTS:
        assert not quiet(Scope(**{name: present(name)})), name


_SERVICES = tuple(registry().values())


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scoped_facts)
def test_a_quiet_scope_leaves_every_decision_as_scope_would(facts: PatientFacts) -> None:
    calm = quiet(facts.scope)
    for service in _SERVICES:
        g = service.guideline
        for rule_id, rule in service.rules:
            # The engine's way (scope asked once) against the long way (scope after each rule).
            shortcut, error = _decide(rule_id, rule, facts, g, calm)
            long_error: Exception | None = None
            try:
                long_way = scoped(rule(facts, g), facts, g)
            except Exception as exc:  # a rule that fails fails both ways
                long_error = exc
            assert type(error) is type(long_error)
            if long_error is None:
                assert shortcut == long_way


# --- the numbers worked out only for a summary that says them ----------------------------


def _golden_decisions() -> Iterator[tuple[RuleResult, Guideline]]:
    """Every rule's decision on every golden chart, with its service's guideline."""
    for _, body, now_text in golden.whole():
        service = next(s for s in registry().values() if s.hook == body["hook"])
        now = parse_instant(now_text) if now_text else as_of(body)
        assert now is not None
        result = run_hook_detailed(service, body, settings=Settings.load({}, environ={}), now=now)
        for decided in result.evaluation.results if result.evaluation else ():
            yield decided, service.guideline


def test_a_summary_is_the_same_as_with_the_numbers_always_worked_out() -> None:
    said_numbers = 0
    for decided, g in _golden_decisions():
        if decided.fired:
            rec = g.recommendation(decided.rule_id)
            with patch("hooks.cards._wants_numbers", lambda templates: True):
                long_way = summary(rec, decided, g)
            assert summary(rec, decided, g) == long_way
            said_numbers += bool(deciding_numbers(decided, g)) and _wants_numbers(
                rec.summaries.get(decided.variant) or rec.summaries["default"]
            )
    assert said_numbers > 0  # the charts reach a summary that says the numbers


# --- the grade's check, slot and statement built once per grade object --------------------

_GRADE_EVIDENCE = (ev("Observation/echo-1", value=4.0), ev("Condition/mr-1"))
_SUPERSEDING = (ev("Procedure/repair-1", time=NOW),)

grades = st.builds(
    MRGrade,
    st.none() | st.integers(0, 4),
    st.sampled_from(GradeSource),
    machine_readable=st.booleans(),
    evidence=st.sampled_from([(), _GRADE_EVIDENCE]),
    missing=st.sampled_from([(), ("no echo in 365 days",)]),
    superseded_by=st.sampled_from([(), _SUPERSEDING]),
    grade_range=st.none() | st.sampled_from([(1, 2), (3, 4)]),
    preliminary=st.booleans(),
)


def _severe_long_way(grade: MRGrade, g: Guideline, name: str, met: bool, role: Role) -> Check:
    """The grade check as it was built before the shortcut, for every rule that asked."""
    level = grade.level
    status = (
        Status.PRESENT if grade.severe else Status.UNKNOWN if level is None or level >= 4 else Status.ABSENT
    )
    return Check(
        name,
        met,
        Status.ABSENT if grade.superseded_by else status,
        statement=grade_statement(grade, g),
        evidence=grade.evidence + grade.superseded_by,
        missing=() if grade.severe else grade.missing,
        role=role,
    )


def _slot_long_way(grade: MRGrade, g: Guideline) -> dict[str, str]:
    if grade.grade is None:
        return {}
    key = "grade_slot_problem_list" if grade.source is GradeSource.CONDITION else "grade_slot"
    key = "grade_slot_preliminary" if grade.preliminary else key
    return {"grade": g.texts[key].format(grade=grade.grade)}


#: The patient view's words, and the same guideline worded otherwise (another service's).
_REWORDED = replace(G, texts={k: f"{v} (other)" if k.startswith("grade_") else v for k, v in G.texts.items()})
_GUIDELINES = tuple({id(g): g for g in (G, _REWORDED, *(s.guideline for s in _SERVICES))}.values())


@settings(max_examples=300, deadline=None)
@given(
    st.lists(grades, min_size=1, max_size=4),
    st.lists(st.sampled_from(_GUIDELINES), min_size=1, max_size=3),
)
def test_a_grades_check_slot_and_statement_are_the_long_way_call_after_call(
    sequence: list[MRGrade], guidelines: list[Guideline]
) -> None:
    # Calls one after another (each a new grade object, equal or not, under one guideline or
    # another): what a rule gets is always its own grade's, never the call before's.
    for grade in sequence:
        for g in guidelines:
            patient = facts(mr_grade=grade)
            for _ in range(2):  # the first asks build, the second reuse
                assert severe_mr_check(patient, g) == _severe_long_way(
                    grade, g, "severe_mr", grade.severe, Role.CONDITION
                )
                assert grade_context(patient, g) == _severe_long_way(
                    grade, g, "mr_grade", grade.grade is not None, Role.CONTEXT
                )
                assert _grade_slot(patient, g) == _slot_long_way(grade, g)
            # The statement is the patient view's too (grade-severity is one of its rules).
            current = next(c for c in grade_severity(patient, G).checks if c.fact == "current_grade")
            assert current.statement == grade_statement(grade, G)


# --- enum members read as module names; value sets looked up only for evidence ---------------


def test_the_module_names_are_the_enum_members_themselves() -> None:
    # The rules compare with ``is``: an equal string or a copy would change every decision.
    assert model.PRESENT is Status.PRESENT
    assert model.ABSENT is Status.ABSENT
    assert model.UNKNOWN is Status.UNKNOWN
    assert model.CONDITION is Role.CONDITION
    assert model.CONTEXT is Role.CONTEXT


_TRIGGER_CODES = sorted(
    {(c.system, c.code) for vs in G.trigger_value_sets for c in value_set(vs).codes}
    | {("http://snomed.info/sct", "0"), ("", "")},
    key=str,
)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(_TRIGGER_CODES), max_size=3))
def test_the_value_sets_of_evidence_are_the_long_way(codes: list[tuple[str, str]]) -> None:
    found = tuple(Evidence("Condition", "c", system, code) for system, code in codes)
    keys = {(ev.system, ev.code) for ev in found}
    long_way = tuple(vs for vs in G.trigger_value_sets if keys & value_set(vs).keys)
    assert _value_sets_of(found, G.trigger_value_sets) == long_way
    assert _value_sets_of(iter(found), G.trigger_value_sets) == long_way


# --- a card's constant parts kept per recommendation and copied ------------------------------


def test_a_cards_constant_parts_are_the_long_way_and_no_card_shares_them() -> None:
    checked = 0
    for g in _GUIDELINES:
        for rec in g.recommendations:
            result = RuleResult(rec.id, True, rec.indicator or "info")
            for _ in range(3):  # the first card builds the parts, the others copy them
                made = card(result, facts(), g, now=NOW, ids=lambda: "id")
                long_way = constant_parts(rec, g)
                assert {k: made[k] for k in long_way} == long_way
                assert list(made) == ["uuid", "summary", "indicator", "detail", *long_way]
                # A caller that changes its card, at any depth, changes no other card.
                made["source"]["label"] = "changed"
                made["source"]["topic"]["code"] = "changed"
                for part in ("links", "overrideReasons"):
                    for item in made[part]:
                        item["label" if part == "links" else "code"] = "changed"
                    made[part].append({"added": "x"})
                checked += 1
    assert checked > 10


# --- a check's "Not assessed" item worded once per guideline -------------------------------


def _could_change_long_way(result: RuleResult, g: Guideline) -> tuple[str, ...]:
    """``could_change`` as it was before its items were kept."""
    items = []
    for c in result.checks:
        if c.status is not Status.UNKNOWN or c.fact in ("mr_grade", "current_grade"):
            continue
        if c.label or not c.missing or c.quiet:
            continue
        missing = (m.split(": ", 1)[-1] if c.missing_named and isinstance(m, str) else m for m in c.missing)
        items.append(
            f"{g.fact(c.fact).short or check_label(c, g)}: {grouped(missing, g, part=not c.missing_named)}"
        )
    return tuple(dict.fromkeys(items))


_MISSING: list[Missing] = [
    Gap.of("medication-requests", Reason.NOT_OBTAINED, detail="timeout"),
    Gap.of("labs", Reason.PARTIAL),
    Gap.of("labs", Reason.PARTIAL).within("renal"),
    Gap.of("vital-signs", Reason.NOT_SENT).within("hypotension"),
    "renal: no creatinine in the last 48 h",
    "Hypotension: no mean arterial pressure in the last 24 h",
    "no platelets in the last 48 h",
]
#: The patient view's words, and its gaps worded otherwise (by index: a repr is 60 kB).
_GAP_GUIDELINES = (G, replace(G, gap_reasons={k: f"{v} (other)" for k, v in G.gap_reasons.items()}))

unknown_checks = st.builds(
    lambda fact, named, missing, status, label, quiet: Check(
        fact, False, status, missing=tuple(missing), missing_named=named, label=label, quiet=quiet
    ),
    st.sampled_from(sorted(G.facts)),
    st.booleans(),
    st.lists(st.sampled_from(_MISSING), max_size=4),
    st.sampled_from([Status.UNKNOWN, Status.UNKNOWN, Status.ABSENT]),
    st.sampled_from([None, None, "Loop diuretic"]),
    st.sampled_from([False, False, True]),
)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.lists(unknown_checks, max_size=5), min_size=1, max_size=3),
    st.lists(st.sampled_from([0, 1]), min_size=1, max_size=2),
    st.sampled_from([2, 512]),
)
def test_a_checks_gaps_are_worded_as_the_long_way_call_after_call(
    calls: list[list[Check]], guidelines: list[int], bound: int
) -> None:
    # Calls one after another, under one guideline or another, with few kept or many: each
    # card's items are always its own checks' in its own guideline's words.
    for g in _GAP_GUIDELINES:
        g.gap_lines.clear()  # as after a start (an example before may have kept more)
    with patch.object(cards_module, "_MAX_GAP_LINES", bound):
        for checks in calls:
            for g in (_GAP_GUIDELINES[i] for i in guidelines):
                result = RuleResult("medical-therapy", True, "info", tuple(checks))
                for _ in range(2):  # the first words them, the second reuses
                    assert could_change(result, g) == _could_change_long_way(result, g)
                assert len(g.gap_lines) <= bound


def test_the_same_gaps_of_the_same_fact_named_or_not_are_worded_each_their_way() -> None:
    missing = (
        "Hypotension: no mean arterial pressure in the last 24 h",
        Gap.of("labs", Reason.PARTIAL).within("renal"),
    )
    said = []
    for named in (True, False, True, False):
        result = RuleResult(
            "x",
            True,
            "info",
            (Check("hypotension", False, Status.UNKNOWN, missing=missing, missing_named=named),),
        )
        said.append(could_change(result, G))
        assert said[-1] == _could_change_long_way(result, G)
    assert said[0] != said[1]


def test_the_golden_charts_gaps_are_worded_as_the_long_way() -> None:
    worded = 0
    for decided, g in _golden_decisions():
        assert could_change(decided, g) == _could_change_long_way(decided, g)
        worded += bool(_could_change_long_way(decided, g))
    assert worded > 10


# --- a first-line group's "not active" line built once -------------------------------------


def _medication_checks_long_way(f: PatientFacts, g: Guideline, unstable: bool) -> list[Check]:
    """``_medication_checks`` as it was before the "not active" lines were kept."""
    meds = f.medications
    if not meds.assessed:
        return [Check("medications", False, Status.UNKNOWN, missing=meds.missing, role=Role.CONTEXT)]
    checks = []
    for group in g.first_line_classes:
        found = _active_in(f, group)
        if not found and not _may_list_inactive(group, unstable):
            continue
        checks.append(
            Check(
                "medications",
                bool(found),
                Status.PRESENT if found else Status.ABSENT,
                statement=g.texts["active"] if found else g.texts["not_active"],
                evidence=found,
                role=Role.CONTEXT,
                label=_upper_first(_group_label(group, g)),
            )
        )
    return checks


_ACTIVE = [FUROSEMIDE, LISINOPRIL, NOREPI]
_NOT_ACTIVE_GUIDELINES = (G, replace(G, texts={**G.texts, "not_active": "not given"}))


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.sampled_from(_ACTIVE), max_size=3),
    st.booleans(),
    st.lists(st.sampled_from([0, 1]), min_size=1, max_size=2),
)
def test_a_groups_medication_lines_are_the_long_way(
    active: list[MedicationMatch], unstable: bool, guidelines: list[int]
) -> None:
    f = facts(medications=medications(*active))
    for g in (_NOT_ACTIVE_GUIDELINES[i] for i in guidelines):
        for _ in range(2):  # the first builds the "not active" lines, the second reuses
            assert _medication_checks(f, g, unstable) == _medication_checks_long_way(f, g, unstable)


def test_the_not_active_lines_are_the_drug_classes_groups() -> None:
    # Every group the guideline lists is a drug class (a typo would show as "not active").
    classes = drug_classes()
    known = {*classes.vasodilators, classes.loop_diuretic, classes.iv_vasodilator, classes.inotrope}
    known |= set(classes.renin_angiotensin)
    assert {vs for group in G.first_line_classes for vs in group} <= known | set(G.value_set_labels)


# --- the severe-MR check's "Why" lines worded once per call; card lines made plain once ---------


def _why_long_way(result: RuleResult, g: Guideline, now: datetime) -> list[str]:
    """``why`` with every check's lines worded afresh (none kept)."""
    with patch.object(cards_module, "_check_lines", cards_module._lines_of):
        return why(result, g, now)


def test_the_golden_charts_why_lines_are_the_long_way() -> None:
    said = 0
    for decided, g in _golden_decisions():
        for now in (NOW, NOW + timedelta(days=400)):  # one card after another, then another time
            assert why(decided, g, now) == _why_long_way(decided, g, now)
            said += bool(decided.fired)
    assert said > 10


_ECHO_TIMED = (
    ev("Observation/echo-1", value=4.0, what="echo-grade", time=NOW - timedelta(hours=3)),
    ev("Observation/echo-2", value=4.0, what="echo-grade", time=NOW, status="preliminary"),
)
#: The patient view's words, and its echo lines worded otherwise.
_WHY_GUIDELINES = (G, replace(G, texts={**G.texts, "preliminary_label": " (not final)"}))


def test_the_shared_checks_lines_follow_the_check_the_guideline_and_the_instant() -> None:
    check = severe_mr_check(facts(mr_grade=MRGrade(4, GradeSource.ECHO, True, _ECHO_TIMED)), G)
    other = severe_mr_check(facts(mr_grade=MRGrade(4, GradeSource.ECHO, True, ())), G)
    later = NOW + timedelta(days=3)
    said = []
    for c, g, now in [
        (check, G, NOW),
        (check, G, NOW),  # the same: reused
        (check, _WHY_GUIDELINES[1], NOW),  # the same check in other words
        (check, G, later),  # the same check later
        (other, G, later),  # another check at the same instant
    ]:
        result = RuleResult("medical-therapy", True, "info", (c,))
        said.append(tuple(why(result, g, now)))
        assert said[-1] == tuple(_why_long_way(result, g, now))
    assert len(set(said)) == 4


@settings(max_examples=200, deadline=None)
@given(
    st.lists(grades, min_size=1, max_size=3),
    st.lists(st.sampled_from([0, 1]), min_size=1, max_size=2),
    st.lists(st.sampled_from([0, 0, 2, 48, 24 * 60]), min_size=1, max_size=3),
)
def test_the_shared_checks_lines_are_its_own_for_each_guideline_and_instant(
    sequence: list[MRGrade], guidelines: list[int], hours: list[int]
) -> None:
    # Cards one after another: the same check object under one guideline or another, at one
    # instant or another (equal instants made apart, as two calls make them), or a new grade
    # at the same instant.
    instants = [datetime.fromtimestamp(NOW.timestamp() + h * 3600, UTC) for h in hours]
    for grade in sequence:
        grade = replace(grade, evidence=grade.evidence and grade.evidence + _ECHO_TIMED)
        for i in guidelines:
            g = _WHY_GUIDELINES[i]
            check = severe_mr_check(facts(mr_grade=grade), g)
            for now in instants:
                for _ in range(2):  # the first words the lines, the second reuses them
                    result = RuleResult("medical-therapy", True, "info", (check,))
                    assert why(result, g, now) == _why_long_way(result, g, now)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.text(alphabet=st.sampled_from("ab <>*_[]#|~`\\\n\t/!?1:"), max_size=300),
            st.sampled_from([160, 280, 12]),
        ),
        min_size=1,
        max_size=6,
    )
)
def test_a_line_made_plain_is_the_long_way_call_after_call(lines: list[tuple[str, int]]) -> None:
    for text, limit in lines * 2:  # each line again: the second time it is kept
        assert plain(text, limit) == _TAG_START.sub("", _MD_ANY.sub("", collapse(text, limit)))


# --- the organ family's checks built once while its facts are the same objects -------------

_ORGAN_EVIDENCE = {organ: ev(f"Observation/{organ}-1", what=organ, value=3.0) for organ in ORGANS}
#: Per organ: present (its evidence also on multi-organ failure), unknown, absent.
_ORGAN_FACTS = {
    organ: (
        present(organ, _ORGAN_EVIDENCE[organ]),
        unknown(organ, f"no {organ} result in the last 48 h"),
        absent(organ),
    )
    for organ in ORGANS
}
_MOF_FACTS = (
    present(
        "multi_organ_failure", _ORGAN_EVIDENCE["renal"], _ORGAN_EVIDENCE["hepatic"], ev("Condition/mof-1")
    ),
    unknown("multi_organ_failure", "renal: no creatinine in the last 48 h"),
    absent("multi_organ_failure"),
)
#: The patient view's words, and its organs worded otherwise.
_ORGAN_GUIDELINES = (G, replace(G, organs={k: f"{v} system" for k, v in G.organs.items()}))

organ_calls = st.tuples(
    st.integers(0, 2),  # multi-organ failure
    st.tuples(*(st.integers(0, 2) for _ in ORGANS)),  # each organ
    st.integers(0, 1),  # guideline
    st.booleans(),  # each fact made afresh (equal, not the same object)
    st.integers(3, 4),  # how many organs the chart's facts name
)


def _family_long_way(f: PatientFacts, g: Guideline) -> tuple[tuple[Check, ...], tuple[str, ...]]:
    return rules_module._organ_family_made(f.multi_organ_failure, tuple(f.organ_dysfunction.items()), g)


@settings(max_examples=300, deadline=None)
@given(st.lists(organ_calls, min_size=1, max_size=5))
def test_the_organ_familys_checks_are_the_long_way_call_after_call(
    calls: list[tuple[int, tuple[int, ...], int, bool, int]],
) -> None:
    # Calls one after another: the same fact objects (as fhir_mappings shares a family the
    # chart holds nothing for), equal ones made afresh, other states, fewer organs, other words.
    for mof, states, i, fresh, named in calls:
        organs = {o: _ORGAN_FACTS[o][k] for o, k in zip(ORGANS[:named], states, strict=False)}
        if fresh:
            organs = {o: replace(f) for o, f in organs.items()}
        patient = facts(
            organ_dysfunction=organs,
            multi_organ_failure=replace(_MOF_FACTS[mof]) if fresh else _MOF_FACTS[mof],
        )
        g = _ORGAN_GUIDELINES[i]
        for _ in range(2):  # the first builds, the second reuses
            shortcut = transcatheter_repair(patient, g)
            with patch.object(rules_module, "_organ_family", _family_long_way):
                assert shortcut == transcatheter_repair(patient, g)


def test_the_organ_family_follows_the_facts_the_organs_and_the_guideline() -> None:
    renal, hepatic = _ORGAN_FACTS["renal"], _ORGAN_FACTS["hepatic"]
    said = []
    for organs, mof, g in [
        ({"renal": renal[0], "hepatic": hepatic[1]}, _MOF_FACTS[0], G),
        ({"renal": renal[0], "hepatic": hepatic[1]}, _MOF_FACTS[0], G),  # the same: reused
        ({"renal": renal[0], "hepatic": hepatic[1]}, _MOF_FACTS[0], _ORGAN_GUIDELINES[1]),  # other words
        ({"renal": renal[0], "hepatic": hepatic[1]}, _MOF_FACTS[1], G),  # another MOF fact
        ({"renal": renal[0], "hepatic": hepatic[0]}, _MOF_FACTS[1], G),  # another organ fact
        ({"hepatic": renal[0], "renal": hepatic[0]}, _MOF_FACTS[1], G),  # the same facts, other organs
        ({"renal": renal[0]}, _MOF_FACTS[1], G),  # fewer organs
    ]:
        patient = facts(organ_dysfunction=organs, multi_organ_failure=mof)
        result = transcatheter_repair(patient, g)
        with patch.object(rules_module, "_organ_family", _family_long_way):
            assert result == transcatheter_repair(patient, g)
        said.append(result)
    assert said[0] == said[1]
    assert len({repr(r) for r in said}) == 6
