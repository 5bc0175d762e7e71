"""The seven recommendations of docs/clinical-rules.md, one function each.

A rule reads facts only (never FHIR) and names value sets by id; it returns every check
that decided it, fired or not, so that cards and ``mr-cds evaluate --explain`` show the
same reasons. Texts come from ``guideline.json``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from functools import cache

from fhir_mappings.criteria import INSTABILITY
from fhir_mappings.drug_classes import drug_classes
from fhir_mappings.facts import (
    Evidence,
    Fact,
    GradeSource,
    MatchKind,
    MedicationMatch,
    MRGrade,
    PatientFacts,
)
from fhir_mappings.gaps import Gap, Missing
from fhir_mappings.keys import Key
from fhir_mappings.numbers import fmt
from fhir_mappings.valuesets import value_set
from hooks.guideline import Guideline
from hooks.model import ABSENT, CONDITION, CONTEXT, PRESENT, UNKNOWN, Check, Role, RuleResult
from hooks.text import ago, on_day, unique, utc

Rule = Callable[[PatientFacts, Guideline], RuleResult]


# --- checks -------------------------------------------------------------------------


def fact_check(
    name: str,
    fact: Fact,
    *,
    negate: bool = False,
    role: Role = CONDITION,
    statement: str = "",
    evidence: tuple[Evidence, ...] | None = None,
    label: str | None = None,
    quiet: bool = False,
) -> Check:
    """A criterion that is one fact (``negate``: the fact must not be present).

    ``statement``, ``evidence`` (default: the fact's), ``label`` and ``quiet`` as in ``Check``:
    given here, the check is built once (a rule is run on every call)."""
    present = fact.status is PRESENT
    # What a present fact could not assess does not change the decision: not shown.
    # Positional, in the order of Check's fields (a dozen of these per call).
    return Check(
        name,
        not present if negate else present,
        fact.status,
        statement,
        fact.evidence if evidence is None else evidence,
        () if present else fact.missing,
        role,
        negate,
        label,
        False,
        fact.shown,
        quiet,
    )


def any_of(name: str, named: Iterable[tuple[str, Fact]], labels: Mapping[str, str] | None = None) -> Check:
    """A criterion met when any of the named facts is present; the statement lists which."""
    words = labels or {}
    present: list[str] = []
    evidence: list[Evidence] = []
    missing: list[Missing] = []
    shown: list[Evidence] = []
    unknown = False
    for n, f in named:  # one pass: a rule is run on every call
        if f.status is PRESENT:
            present.append(words.get(n, n))
            evidence += f.evidence
        else:
            unknown = unknown or f.status is UNKNOWN
            if f.missing:
                said = _upper_first(words.get(n, n))
                missing += [m.within(n) if isinstance(m, Gap) else f"{said}: {m}" for m in f.missing]
        if f.shown:
            shown += f.shown
    status = PRESENT if present else UNKNOWN if unknown else ABSENT
    # Positional, in the order of Check's fields (as fact_check).
    return Check(
        name,
        bool(present),
        status,
        ", ".join(present),
        tuple(evidence),
        tuple(missing),
        CONDITION,
        False,
        None,
        True,
        tuple(shown),
    )


def grade_statement(grade: MRGrade, g: Guideline) -> str:
    """The MR grade in words: its value and where it came from, or why there is none."""
    if grade.superseded_by:
        return g.texts["grade_superseded"].format(grade=_grade_words(grade))
    if grade.grade_range is not None:
        return g.texts["grade_range"].format(grade=_grade_words(grade))
    if grade.grade is None:
        return g.texts["no_grade" if grade.machine_readable else "grade_unreadable_short"]
    key = "grade_from_condition" if grade.source is GradeSource.CONDITION else "grade_from_echo"
    text = g.texts[key].format(grade=grade.grade)
    return text + (g.texts["preliminary_word"] if grade.preliminary else "")


def _grade_words(grade: MRGrade) -> str:
    """ "4+" or "3-4+" (a range)."""
    if grade.grade_range is not None:
        low, high = grade.grade_range
        return f"{low}-{high}+"
    return f"{grade.grade}+" if grade.grade is not None else "?"


#: The last grade asked about, its guideline, its severe-MR check, grade slot and statement.
#: Five rules ask for the same check (four for the slot, three for the statement) on one
#: call's facts; all depend only on the grade (and the guideline's words), a frozen object
#: made afresh per call, so they are built once per grade object.
#: One tuple, replaced whole: a thread that reads an older one only builds them again.
_last_grade: tuple[MRGrade, Guideline, Check, dict[str, str], str] | None = None


def _per_grade(facts: PatientFacts, g: Guideline) -> tuple[MRGrade, Guideline, Check, dict[str, str], str]:
    """(grade, g, severe-MR check, grade slot, grade statement) for ``facts.mr_grade``."""
    global _last_grade
    grade = facts.mr_grade
    last = _last_grade
    if last is not None and last[0] is grade and last[1] is g:
        return last
    statement = grade_statement(grade, g)
    severe = _grade_check(facts, statement, "severe_mr", grade.severe, CONDITION)
    last = (grade, g, severe, _slot_of(grade, g), statement)
    _last_grade = last
    return last


def severe_mr_check(facts: PatientFacts, g: Guideline) -> Check:
    """``severe_mr``: grade 4+ (G: "typically >=4+ on a 0-4+ scale"); unknown without a grade,
    or with a range that reaches 4+ (a range is never severe, nor surely not severe).

    Built once per grade object (``_per_grade``): a ``Check`` is frozen, so rules share it."""
    return _per_grade(facts, g)[2]


def grade_context(facts: PatientFacts, g: Guideline) -> Check:
    """The MR grade, shown for context (it does not decide the rule)."""
    statement = _per_grade(facts, g)[4]
    return _grade_check(facts, statement, "mr_grade", facts.mr_grade.grade is not None, CONTEXT)


def _grade_check(facts: PatientFacts, statement: str, name: str, met: bool, role: Role) -> Check:
    """The severe-MR criterion's status, statement and evidence, as ``name`` with ``met`` and ``role``."""
    grade = facts.mr_grade
    severe = grade.severe
    level = grade.level
    undecided = level is None or level >= 4
    status = PRESENT if severe else UNKNOWN if undecided else ABSENT
    if grade.superseded_by:
        status = ABSENT
    return Check(
        name,
        met,
        status,
        statement=statement,
        evidence=grade.evidence + grade.superseded_by,
        missing=() if severe else grade.missing,
        role=role,
    )


def _value_sets_of(evidence: Iterable[Evidence], candidates: Sequence[str]) -> tuple[str, ...]:
    """Ids of the candidate value sets that the evidence's codes belong to, in candidate order."""
    keys = {(ev.system, ev.code) for ev in evidence}
    if not keys:  # no evidence (most calls): no value set to look up
        return ()
    return tuple(vs for vs in candidates if keys & value_set(vs).keys)


def _labels(value_sets: Iterable[str], g: Guideline) -> str:
    return ", ".join(g.value_set_labels[vs] for vs in value_sets)


def _unconfirmed(facts: PatientFacts) -> tuple[str, ...]:
    return ("unconfirmed",) if facts.mr_unconfirmed and facts.mr_documented.status is PRESENT else ()


def _result(
    rule_id: str,
    g: Guideline,
    checks: Sequence[Check],
    *,
    slots: dict[str, str] | None = None,
    notes: tuple[str, ...] = (),
    variant: str = "default",
    indicator: str | None = None,
    suggestion: str | None = None,
) -> RuleResult:
    """Fired when every condition check is met (``slots``: the rule's own dict, kept as is)."""
    fired = True
    for c in checks:
        if not c.met and c.role is CONDITION:
            fired = False
            break
    return RuleResult(
        rule_id,
        fired,
        indicator or g.recommendation(rule_id).indicator,
        tuple(checks),
        variant,
        {} if slots is None else slots,
        notes,
        None,
        suggestion,
    )


def _grade_slot(facts: PatientFacts, g: Guideline) -> dict[str, str]:
    """The grade as the summaries say it: "4+", "4+, preliminary", "4+ on the problem list".

    Shared by the rules of one call (``_per_grade``): spread it into a rule's own dict, never
    keep or change it."""
    return _per_grade(facts, g)[3]


def _slot_of(grade: MRGrade, g: Guideline) -> dict[str, str]:
    if grade.grade is None:
        return {}
    label = g.texts["grade_slot_problem_list" if grade.source is GradeSource.CONDITION else "grade_slot"]
    if grade.preliminary:
        label = g.texts["grade_slot_preliminary"]
    return {"grade": label.format(grade=grade.grade)}


def support_to_check(shown: Sequence[Evidence], now: datetime, g: Guideline) -> str:
    """What to check about support that may be running: "ECMO inserted 2 days ago, removal
    not recorded: check" or "ECMO, configuration not coded: check"."""
    for ev in shown:
        kind = g.value_set_labels.get(ev.what or "", g.texts["support_generic"])
        if ev.reason == "end-not-recorded" and ev.time is not None:
            return g.texts["check_end"].format(kind=kind, when=ago(ev.time, now))
        if ev.reason is not None:
            return g.texts[f"check_{ev.reason.replace('-', '_')}"].format(kind=kind)
    return ""


# --- the recommendations --------------------------------------------------------------


#: A rupture is acute MR by definition: it is recent MR evidence, and no echo overrules it.
_RUPTURE = "papillary-muscle-or-chordal-rupture"
#: An MR Condition recorded no earlier than this before the trigger is recent MR evidence.
_MR_NEAR_TRIGGER = timedelta(days=7)


def _recent_mr_evidence(facts: PatientFacts, trigger: Sequence[Evidence]) -> bool:
    """MR evidence that belongs to this presentation: MR 2+ on a recent echo, a coded
    rupture, or an MR Condition recorded no earlier than 7 days before the latest trigger."""
    if facts.mr_on_echo.status is PRESENT or any(ev.what == _RUPTURE for ev in trigger):
        return True
    onsets = [utc(ev.time) for ev in trigger if ev.time is not None]
    if not onsets:
        return False
    since = max(onsets) - _MR_NEAR_TRIGGER
    return any(
        ev.time is not None and utc(ev.time) >= since and ev.what == "mitral-regurgitation"
        for ev in facts.mr_documented.evidence
    )


def _mild_echo_after(
    facts: PatientFacts, trigger: Sequence[Evidence], presentation: Check
) -> Evidence | None:
    """A final echo of <= 1+ dated after the latest trigger and after the presentation began
    stops the acute card; never with a coded rupture (TTE underestimates acute MR)."""
    grade = facts.mr_grade
    if grade.grade is None or grade.grade > 1 or grade.source is not GradeSource.ECHO:
        return None
    if any(ev.what == _RUPTURE for ev in trigger):
        return None
    # Only a final single grade of <= 1+ (not preliminary, not a range, not an ungraded echo).
    echoes = [
        ev
        for ev in grade.evidence
        if ev.resource_type == "Observation"
        and ev.time is not None
        and ev.status is None
        and ev.value is not None
        and ev.value <= 1
    ]
    if not echoes:
        return None
    echo = max(echoes, key=lambda ev: utc(ev.time or facts.as_of))
    triggered = [utc(ev.time) for ev in trigger if ev.time is not None]
    began = [utc(ev.time) for ev in presentation.evidence if ev.time is not None]
    if echo.time is None or not triggered or not began:
        return None  # cannot place the echo after both: the card stays
    after = utc(echo.time) > max(triggered) and utc(echo.time) > min(began)
    return echo if after else None


def acute_mr_emergency(facts: PatientFacts, g: Guideline) -> RuleResult:
    """A: acute MR (after MI or endocarditis) with pulmonary edema or hypotension is an emergency.

    Revision 3: with MR evidence that is recent (echo, rupture, MR recorded near the trigger),
    vasoactive support or hypoperfusion is a presentation too; an older MR Condition alone
    (chronic MR beside an unrelated MI) still needs pulmonary edema or hypotension."""
    trigger = fact_check("acute_mr_trigger", facts.acute_mr_trigger)
    named = [
        ("pulmonary_edema", facts.pulmonary_edema),
        ("hypotension", facts.hypotension),
        ("cardiogenic_shock", facts.cardiogenic_shock),
    ]
    if _recent_mr_evidence(facts, trigger.evidence):
        named += [("vasoactive_support", facts.vasoactive_support), ("hypoperfusion", facts.hypoperfusion)]
    presentation = any_of("acute_presentation", named, g.presentation_words)
    mr = any_of(
        "mr_present",
        (("mr_documented", facts.mr_documented), ("mr_on_echo", facts.mr_on_echo)),
        g.mr_labels,
    )
    checks = [mr, trigger, presentation, grade_context(facts, g)]
    mild = (
        _mild_echo_after(facts, trigger.evidence, presentation) if presentation.met and trigger.met else None
    )
    if mild is not None:
        checks.append(Check("post_trigger_echo", False, PRESENT, evidence=(mild,), negated=True))
    slots = {"presentation": presentation.statement.replace(", ", " and ")}
    triggers = _labels(_value_sets_of(trigger.evidence, g.trigger_value_sets), g)
    if triggers:
        slots["trigger"] = triggers
    notes = _unconfirmed(facts) if facts.mr_on_echo.status is not PRESENT else ()
    shocked = facts.hypotension.status is PRESENT or facts.cardiogenic_shock.status is PRESENT
    if shocked and facts.mechanical_support.status is not PRESENT:
        notes += ("acute_bridge",)
    # No echo grade within 24 h: an urgent echo is offered (a draft order, never placed).
    priority = None if facts.echo_graded_recently.status is PRESENT else "urgent"
    return _result("acute-mr-emergency", g, checks, slots=slots, notes=notes, suggestion=priority)


def mechanical_support(facts: PatientFacts, g: Guideline) -> RuleResult:
    """G key recommendation 2: ECMO / IABP for severe MR with hemodynamic instability."""
    labels = g.instability_labels
    running = facts.vasoactive_support.evidence
    if running and all(ev.reason == "name-match" for ev in running):
        # Every running drug was matched by its name only: the summary says "verify".
        labels = {**labels, "vasoactive_support": labels["vasoactive_support"] + g.texts["name_match_slot"]}
    instability = any_of(
        "hemodynamic_instability", zip(INSTABILITY, facts.instability_criteria, strict=True), labels
    )
    support = fact_check("mechanical_support", facts.mechanical_support, negate=True)
    checks = [severe_mr_check(facts, g), instability, support]
    if facts.respiratory_ecmo.status is PRESENT:
        checks.append(fact_check("respiratory_ecmo", facts.respiratory_ecmo, role=CONTEXT))
    notes = _unconfirmed(facts)
    slots = {**_grade_slot(facts, g), "criteria": instability.statement}
    variant = "default"
    if support.status is UNKNOWN:
        notes += ("support_unknown",)
        variant = "support-unknown"
        check = support_to_check(facts.mechanical_support.shown, facts.as_of, g)
        if check:
            slots["check"] = check
    return _result("mechanical-support", g, checks, slots=slots, notes=notes, variant=variant)


def _organ_checks(organs: Iterable[tuple[str, Fact]], g: Guideline) -> list[Check]:
    labels = g.organ_labels
    return [
        fact_check(
            "multi_organ_failure",
            fact,
            role=CONTEXT,
            label=labels.get(organ) or f"Organ dysfunction: {organ}",
        )
        for organ, fact in organs
    ]


#: The last organ family's checks: (guideline, multi-organ failure fact, the organ facts by
#: name, the checks, the organs present). The facts are frozen, and shared between calls when
#: a chart holds nothing for the family (``fhir_mappings`` decides such a family once): then
#: its checks are built once, not per call. One tuple, replaced whole (as ``_last_grade``).
_last_organs: (
    tuple[Guideline, Fact, tuple[tuple[str, Fact], ...], tuple[Check, ...], tuple[str, ...]] | None
) = None


def _organ_family(facts: PatientFacts, g: Guideline) -> tuple[tuple[Check, ...], tuple[str, ...]]:
    """transcatheter-repair's multi-organ failure check and organ lines, and the organs present."""
    global _last_organs
    mof_fact = facts.multi_organ_failure
    organs = tuple(facts.organ_dysfunction.items())
    last = _last_organs
    if last is not None and last[0] is g and last[1] is mof_fact and _same_facts(last[2], organs):
        return last[3], last[4]
    checks, present = _organ_family_made(mof_fact, organs, g)
    _last_organs = (g, mof_fact, organs, checks, present)
    return checks, present


def _same_facts(kept: tuple[tuple[str, Fact], ...], now: tuple[tuple[str, Fact], ...]) -> bool:
    """The same organs, each the same fact object (an equal one made afresh is not the same)."""
    if len(kept) != len(now):
        return False
    for (kept_name, kept_fact), (name, fact) in zip(kept, now, strict=True):
        if kept_fact is not fact or kept_name != name:
            return False
    return True


def _organ_family_made(
    mof_fact: Fact, organ_facts: tuple[tuple[str, Fact], ...], g: Guideline
) -> tuple[tuple[Check, ...], tuple[str, ...]]:
    organs = _organ_checks(organ_facts, g)
    # The organs' own evidence is on their lines: MOF keeps the rest (none to compare: none to drop).
    kept = mof_fact.evidence
    if kept:
        shown = {ev for c in organs for ev in c.evidence}
        if shown:
            kept = tuple(e for e in kept if e not in shown)
    present = tuple(g.organs.get(o, o) for o, f in organ_facts if f.status is PRESENT)
    mof = fact_check("multi_organ_failure", mof_fact, statement=", ".join(present), evidence=kept)
    return (mof, *organs), present


def transcatheter_repair(facts: PatientFacts, g: Guideline) -> RuleResult:
    """G key recommendation 1: MitraClip for severe MR with inoperable multi-organ failure."""
    family, present = _organ_family(facts, g)
    slots = {**_grade_slot(facts, g), **({"organs": ", ".join(present)} if present else {})}
    checks = [severe_mr_check(facts, g), *family]
    return _result("transcatheter-repair", g, checks, slots=slots, notes=_unconfirmed(facts))


def surgical_repair(facts: PatientFacts, g: Guideline) -> RuleResult:
    """G key recommendation 3: prioritize surgical repair when feasible (not with MOF)."""
    # The caveat matters only when organs could be failing: a stable patient with no failing
    # organ (an outpatient without 48-hour labs) does not need it (spec 2.1).
    could_matter = bool(facts.hemodynamic_instability) or any(
        f.status is PRESENT for f in facts.organ_dysfunction.values()
    )
    mof = fact_check("multi_organ_failure", facts.multi_organ_failure, negate=True, quiet=not could_matter)
    caveat = mof.status is UNKNOWN and could_matter
    notes = _unconfirmed(facts) + (("mof_unknown",) if caveat else ())
    # One card per decision: on support, on-mechanical-support names the definitive therapy.
    supported = fact_check("on_support", facts.mechanical_support, negate=True)
    checks = [severe_mr_check(facts, g), mof, supported]
    return _result("surgical-repair", g, checks, slots={**_grade_slot(facts, g)}, notes=notes)


def _group_label(group: tuple[str, ...], g: Guideline) -> str:
    """ "ACE inhibitor or ARB" (worded once per guideline and group)."""
    return g.group_label(group)


def _active_in(facts: PatientFacts, group: Sequence[str]) -> tuple[Evidence, ...]:
    """Evidence of the group's active orders and running drugs; a match on the name alone is
    shown as such ("name match: verify") and never called "not counted" (docs/clinical-rules.md)."""
    return tuple(
        replace(m.evidence, reason="name-match") if m.match_kind is MatchKind.NAME else m.evidence
        for vs in group
        for m in facts.medications.active(vs)
    )


@cache
def _may_list_inactive(group: tuple[str, ...], unstable: bool) -> bool:
    """IV vasodilators and inotropes are ICU drugs: "not active" only in an unstable patient.
    In an unstable patient vasodilators are never "not active" (it would read as "start one")."""
    classes = drug_classes()
    if unstable:
        return not set(group) & set(classes.vasodilators)
    return not set(group) & {classes.iv_vasodilator, classes.inotrope}


def _medication_checks(facts: PatientFacts, g: Guideline, unstable: bool) -> list[Check]:
    """One line per first-line group (ACE inhibitor or ARB is one); one line without data."""
    meds = facts.medications
    if not meds.assessed:
        return [Check("medications", False, UNKNOWN, missing=meds.missing, role=CONTEXT)]
    checks = []
    any_active = bool(meds.by_class)  # none active (many calls): no group to look through
    for group in g.first_line_classes:
        evidence = _active_in(facts, group) if any_active else ()
        if not evidence:
            if _may_list_inactive(group, unstable):
                checks.append(_not_active(group, g))
            continue
        checks.append(
            Check(
                "medications",
                True,
                PRESENT,
                statement=g.texts["active"],
                evidence=evidence,
                role=CONTEXT,
                label=_upper_first(_group_label(group, g)),
            )
        )
    return checks


def _not_active(group: tuple[str, ...], g: Guideline) -> Check:
    """A first-line group's "not active" line: the same on every call (a ``Check`` is frozen),
    so built once per guideline and group."""
    made = g.not_active_checks.get(group)
    if made is None:
        made = g.not_active_checks[group] = Check(
            "medications",
            False,
            ABSENT,
            statement=g.texts["not_active"],
            role=CONTEXT,
            label=_upper_first(_group_label(group, g)),
        )
    return made


def _drug_names(matches: Iterable[MedicationMatch]) -> list[str]:
    """Drugs by ingredient, each once ("lisinopril", "sacubitril/valsartan")."""
    return [n for n in unique(m.evidence.what or m.evidence.display or "" for m in matches) if n]


def _reading(fact: Fact) -> str:
    """The deciding reading of a fact in summary words: "SBP 78", "MAP 55"."""
    for ev in fact.evidence:
        if ev.what in ("sbp", "map") and ev.value is not None:
            return f"{ev.what.upper()} {fmt(ev.value, ev.unit)}"
    return ""


def medical_therapy(facts: PatientFacts, g: Guideline) -> RuleResult:
    """G first-line treatments: diuretics, vasodilators (ACE inhibitor / ARB), inotropes.

    Critical when an IV vasodilator infusion runs during hypotension; at least a warning,
    naming the drug, for an inpatient ACE inhibitor / ARB / ARNI order during hypotension;
    the vasodilator caution in any hemodynamic instability (docs/clinical-rules.md).
    """
    rec = g.recommendation("medical-therapy")
    classes = drug_classes()
    meds = facts.medications
    hf = fact_check("heart_failure_symptoms", facts.heart_failure_symptoms, role=CONTEXT)
    hypotension = fact_check("hypotension", facts.hypotension, role=CONTEXT)
    unstable = bool(facts.hemodynamic_instability)
    # "Loop diuretic not active" needs medication data: unknown is not "none" (docs/clinical-rules.md).
    untreated = hf.met and meds.assessed and not meds.active(classes.loop_diuretic)
    groups = g.first_line_classes
    active: list[str] = []
    inactive: list[str] = []
    for gr in groups:
        if any(meds.active(vs) for vs in gr):
            active.append(_group_label(gr, g))
        elif _may_list_inactive(gr, unstable):
            inactive.append(_group_label(gr, g))
    iv_running = meds.running(classes.iv_vasodilator)
    running_iv = _drug_names(iv_running) if iv_running else []
    ras_orders = _drug_names(
        m
        for vs in classes.renin_angiotensin
        for m in meds.active(vs)
        if m.evidence.status == "active-order"  # an inpatient order; outpatient lists do not count
    )
    vasodilators = _drug_names(m for vs in classes.vasodilators for m in meds.active(vs))
    slots = {
        "active": ", ".join(active) or g.texts["none"],
        "inactive": ", ".join(inactive) or g.texts["none"],
        "reading": _reading(facts.hypotension),
    }
    if vasodilators:
        slots["vasodilators"] = ", ".join(vasodilators)
    if untreated:
        slots["untreated"] = g.texts["untreated_slot"]
    notes = _unconfirmed(facts)
    notes += ("meds_not_assessed",) if not meds.assessed else ()
    indicator = rec.indicator_when_untreated_symptoms if untreated else rec.indicator
    if hypotension.met and running_iv:
        variant, indicator = "vasodilator-running", rec.indicator_when_vasodilator_running
        slots["drug"] = running_iv[0]
        notes += ("vasodilator_running_hypotension",)
    elif hypotension.met and ras_orders:
        variant = "ras-hypotension"
        indicator = _at_least(indicator, rec.indicator_when_ras_in_hypotension)
        slots["drug"] = ras_orders[0]
        notes += ("ras_hypotension",)
    elif unstable:
        variant = "unstable"
    elif untreated:
        variant = "untreated-symptoms"
    elif not meds.assessed:
        variant = "not-assessed"
    else:
        variant = "default" if active else "none-active"
    running = {ev.what for ev in facts.vasoactive_support.evidence}
    if running & set(classes.afterload_raising):
        notes += ("phenylephrine_afterload",)
    medication_lines = _medication_checks(facts, g, unstable)
    if hypotension.met:  # the deciding reading first, then the drugs it is about
        checks = [severe_mr_check(facts, g), hypotension, *medication_lines, hf]
    else:
        checks = [severe_mr_check(facts, g), hf, *medication_lines, hypotension]
    return _result(
        "medical-therapy", g, checks, indicator=indicator, variant=variant, slots=slots, notes=notes
    )


_RANK = {"critical": 0, "warning": 1, "info": 2}


def _at_least(indicator: str | None, floor: str | None) -> str | None:
    """The more urgent of two indicators."""
    if indicator is None or floor is None:
        return indicator or floor
    return indicator if _RANK[indicator] <= _RANK[floor] else floor


def on_mechanical_support(facts: PatientFacts, g: Guideline) -> RuleResult:
    """G adjunctive treatments: support is a bridge; plan definitive MR therapy."""
    # Named by the value set that matched: a device-type code names its own device.
    labels = (g.value_set_labels.get(ev.what or "", "") for ev in facts.mechanical_support.evidence)
    devices = ", ".join(label for label in unique(labels) if label)
    checks = [
        severe_mr_check(facts, g),
        fact_check("mechanical_support", facts.mechanical_support, statement=devices),
        fact_check("multi_organ_failure", facts.multi_organ_failure, role=CONTEXT),
    ]
    slots = {**_grade_slot(facts, g), **({"devices": devices} if devices else {})}
    return _result("on-mechanical-support", g, checks, slots=slots, notes=_unconfirmed(facts))


def _superseding_event(facts: PatientFacts, g: Guideline) -> str:
    """What superseded the grade, with its day: "the valve repair or replacement on 10 Jan"."""
    latest = max(
        (ev for ev in facts.mr_grade.superseded_by if ev.time is not None),
        key=lambda ev: utc(ev.time) if ev.time is not None else utc(facts.as_of),
        default=None,
    )
    if latest is None or latest.time is None:
        return ""
    key = "superseded_by_resolution" if latest.resource_type == "Condition" else "superseded_by_intervention"
    return g.texts[key].format(when=on_day(latest.time, facts.as_of))


def _recent_echo(facts: PatientFacts) -> bool:
    """An echo within ``echo_recent_days`` (and, for a superseded grade, after what superseded it)."""
    if facts.recent_echo.status is not PRESENT:
        return False
    done = [utc(ev.time) for ev in facts.recent_echo.evidence if ev.time is not None]
    since = [utc(ev.time) for ev in facts.mr_grade.superseded_by if ev.time is not None]
    return not since or any(t > max(since) for t in done)


def grade_severity(facts: PatientFacts, g: Guideline) -> RuleResult:
    """G diagnosis: echocardiography is essential for grading severity.

    Fires on MR on the problem list or MR seen on echo, without a current echo grade: no
    echo grade, one that is not machine-readable or a range reaching 4+, a grade only from
    the problem list, or a grade superseded by a later intervention.
    """
    grade = facts.mr_grade
    known = grade.current_echo_grade
    status = PRESENT if known else UNKNOWN if grade.missing else ABSENT
    current = Check(
        "current_grade",
        not known,
        status,
        statement=_per_grade(facts, g)[4],
        evidence=grade.evidence + grade.superseded_by,
        missing=grade.missing,
        negated=True,
    )
    open_range = not known and grade.grade_range is not None and not grade.superseded_by
    unreadable = not known and not grade.machine_readable and not grade.superseded_by
    # Echo results not obtained: the grade is unknown, not absent; the card says so.
    not_obtained = not known and any(key == Key.MR_GRADE for key, _ in facts.unavailable)
    recent = _recent_echo(facts)
    notes = _unconfirmed(facts) + (("grade_unreadable",) if unreadable else ())
    notes += ("grade_range_note",) if open_range else ()
    notes += ("grade_unreadable_recent",) if recent and not known else ()
    notes += ("grade_not_obtained",) if not_obtained and not unreadable else ()
    coded = facts.mr_documented.status is PRESENT
    word = "mr_unconfirmed" if facts.mr_unconfirmed else "mr_confirmed" if coded else "mr_echo_only"
    mr_word = g.texts[word]
    seen = any_of(
        "mr_seen",
        (("mr_documented", facts.mr_documented), ("mr_on_echo_any", facts.mr_on_echo_any)),
        g.mr_labels,
    )
    checks = [seen, current]
    if recent:
        checks.append(fact_check("recent_echo", facts.recent_echo, role=CONTEXT))
    slots = {"mr": mr_word}
    variant = "default"
    if grade.superseded_by:
        variant, slots["event"] = "superseded", _superseding_event(facts, g)
    elif open_range:
        variant, slots["range"] = "range", _grade_words(grade)
    elif unreadable:
        variant = "unreadable"
    elif not_obtained:
        variant = "not-obtained"
    # A range that may be 4+ in an unstable patient: the single grade decides the bridge.
    indicator = "warning" if open_range and facts.hemodynamic_instability else None
    # An echo under 30 days old needs its grade recorded as structured data, not a new echo.
    return _result(
        "grade-severity",
        g,
        checks,
        variant=variant,
        slots=slots,
        notes=notes,
        indicator=indicator,
        suggestion=None if recent else "routine",
    )


#: Every rule in the order of the spec's table (the order within an indicator).
RULES: tuple[tuple[str, Rule], ...] = (
    ("acute-mr-emergency", acute_mr_emergency),
    ("mechanical-support", mechanical_support),
    ("transcatheter-repair", transcatheter_repair),
    ("surgical-repair", surgical_repair),
    ("medical-therapy", medical_therapy),
    ("on-mechanical-support", on_mechanical_support),
    ("grade-severity", grade_severity),
)


def _upper_first(text: str) -> str:
    return text[:1].upper() + text[1:]
