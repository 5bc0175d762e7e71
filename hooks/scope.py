"""Scope, goals of care and contraindications applied to every rule's decision
(docs/clinical-rules.md, section 'Scope, goals of care and contraindications').

The seven rules decide on the guideline's criteria; this module then says whether a card
may be shown to this patient and what it must add. It is one place, applied by the engine
after each rule, so no rule can forget it (when nothing in scope is recorded, ``quiet``, the
engine knows once per call that it changes nothing):

- under 18 or deceased: no card at all;
- comfort measures only: no escalation card, no draft echo; medical therapy lists only
  what is active (symptom relief);
- a durable VAD: only medical therapy and grading, with "MR decisions with the VAD team";
- mitral stenosis: no MitraClip; surgery instead, a heart-team warning with organ failure;
- DNR: escalation summaries start "DNR on record:"; pregnancy: escalation cards ask for
  obstetrics, and an active ACE inhibitor or ARB is named as contraindicated.
"""

from __future__ import annotations

from dataclasses import replace

from fhir_mappings.facts import PatientFacts, Scope, Status
from hooks.guideline import Guideline
from hooks.model import PRESENT, Check, Role, RuleResult

#: Cards that escalate care (spec 1.3): removed under comfort measures only.
ESCALATION = frozenset(
    {
        "mechanical-support",
        "on-mechanical-support",
        "transcatheter-repair",
        "surgical-repair",
        "acute-mr-emergency",
    }
)
#: The only cards a durable VAD leaves (MR under an LVAD is managed with the VAD team).
UNDER_DURABLE_VAD = frozenset({"medical-therapy", "grade-severity"})
_ACE_ARB = ("ace-inhibitors", "arbs")
_RANK = {"info": 0, "warning": 1, "critical": 2}


def quiet(scope: Scope) -> bool:
    """Nothing in scope is recorded: ``scoped`` returns every decision as it is (the engine
    asks once per call instead of once per rule; tests/hooks/test_fast_paths.py checks it)."""
    return not (
        scope.comfort_care.status is PRESENT
        or scope.durable_vad.status is PRESENT
        or scope.mitral_stenosis.status is PRESENT
        or scope.dnr.status is PRESENT
        or scope.pregnant.status is PRESENT
        or scope.surgical_risk.status is PRESENT
        or scope.out_of_scope is not None
    )


def scoped(result: RuleResult, facts: PatientFacts, g: Guideline) -> RuleResult:
    """The rule's decision as this patient's scope and goals of care allow it."""
    scope = facts.scope
    reason = scope.out_of_scope
    if reason is not None:
        return _withheld(result, f"scope_{reason.replace('-', '_')}", g)
    if scope.comfort_care.present and result.rule_id in ESCALATION:
        return _withheld(result, "scope_comfort_care", g)
    # Of the guideline's cards, the escalation ones are those a durable VAD removes (all but
    # UNDER_DURABLE_VAD); another service's cards (order safety: a drug against the
    # pressure, not a valve decision) stay.
    if scope.durable_vad.present and result.rule_id in ESCALATION:
        return _withheld(result, "scope_durable_vad", g)
    if scope.mitral_stenosis.present:
        if result.rule_id == "transcatheter-repair":
            return _withheld(result, "scope_mitral_stenosis", g)
        result = _with_stenosis(result, facts)
    if not result.fired:
        return result
    notes = list(result.notes)
    if result.rule_id in ESCALATION:
        notes += ["dnr"] if scope.dnr.present else []
        notes += ["pregnant_obstetrics"] if scope.pregnant.present else []
    if scope.durable_vad.present:
        notes.append("durable_vad")
    if result.rule_id == "surgical-repair" and scope.surgical_risk.present:
        notes.append("surgical_risk")
    if len(notes) != len(result.notes):  # the decision is copied only when a note was added
        result = replace(result, notes=tuple(notes))
    if result.rule_id == "medical-therapy":
        result = _medical_therapy(result, facts, g)
    if result.rule_id == "grade-severity" and scope.comfort_care.present:
        result = replace(result, suggestion=None)  # no draft echo under comfort measures only
    return result


def _withheld(result: RuleResult, text_key: str, g: Guideline) -> RuleResult:
    """Not shown: the reason is a failed condition, so ``--explain`` says why."""
    check = Check(
        "scope", False, Status.PRESENT, statement=g.texts[text_key], role=Role.CONDITION, negated=True
    )
    return replace(result, fired=False, checks=(*result.checks, check))


def _with_stenosis(result: RuleResult, facts: PatientFacts) -> RuleResult:
    """Mitral stenosis: surgery fires even with multi-organ failure (then a heart-team warning,
    no "repair preferred"), and the support card never names MitraClip."""
    if result.rule_id == "on-mechanical-support":
        return replace(result, variant="stenosis")
    if result.rule_id != "surgical-repair":
        return result
    others = [c for c in result.checks if c.role is Role.CONDITION and c.fact != "multi_organ_failure"]
    if not all(c.met for c in others):
        return result
    if facts.multi_organ_failure.present:
        return replace(result, fired=True, indicator="warning", variant="stenosis-mof")
    return replace(result, fired=True, variant="stenosis")


def _medical_therapy(result: RuleResult, facts: PatientFacts, g: Guideline) -> RuleResult:
    scope = facts.scope
    if not scope.comfort_care.present and not scope.pregnant.present:
        return result
    slots = dict(result.slots)
    checks = result.checks
    ace_arb_label = " or ".join(g.value_set_labels[vs] for vs in _ACE_ARB)
    if scope.comfort_care.present:
        # Symptom relief: list only what is active, never "start one".
        checks = tuple(c for c in checks if not (c.fact == "medications" and c.status is Status.ABSENT))
        return replace(result, checks=checks, indicator="info", variant="comfort", slots=slots)
    # Pregnant: ACE inhibitor / ARB is never listed as missing; an active one is named.
    checks = tuple(
        c
        for c in checks
        if not (c.fact == "medications" and c.status is Status.ABSENT and c.label == _upper(ace_arb_label))
    )
    inactive = [x for x in slots.get("inactive", "").split(", ") if x and x != ace_arb_label]
    slots["inactive"] = ", ".join(inactive) or g.texts["none"]
    drugs = [
        m.evidence.what or m.evidence.display or "" for vs in _ACE_ARB for m in facts.medications.active(vs)
    ]
    named = [d for d in drugs if d]
    if not named:
        return replace(result, checks=checks, slots=slots)
    slots["drug"] = named[0]
    indicator = result.indicator if _RANK[result.indicator] >= _RANK["warning"] else "warning"
    notes = (*result.notes, "pregnant_ace_arb")
    return replace(
        result, checks=checks, slots=slots, indicator=indicator, variant="pregnant-ace-arb", notes=notes
    )


def _upper(text: str) -> str:
    return text[:1].upper() + text[1:]
