"""Order safety: the rules of the order hooks (docs/clinical-rules.md, section 'Order safety').

The patient-view rules say what to consider when a chart opens; these decide, when a
medication order is being signed or selected, whether that order works against severe MR:

- ``draft-vasodilator-in-hypotension``: an IV vasodilator, ACE inhibitor or ARB drafted
  with severe MR and hypotension: critical, with a suggestion that deletes the draft;
- ``draft-vasoconstrictor-in-severe-mr``: phenylephrine drafted with severe MR: warning.

Texts live in ``order_safety.json``; everything else a card needs (references, override
reasons, labels, words for the patient's facts) is the guideline's.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import cache
from importlib import resources
from typing import Any

from fhir_mappings.drug_classes import drug_classes
from fhir_mappings.facts import DraftOrder, Evidence, Fact, PatientFacts, Status
from fhir_mappings.numbers import fmt
from hooks.guideline import Guideline, parse
from hooks.model import Check, Role, RuleResult
from hooks.rules import Rule, fact_check, severe_mr_check

_PRESSURE = {"sbp": "SBP", "map": "MAP"}


@cache
def guideline() -> Guideline:
    """The guideline with this module's recommendations, facts and texts (read once)."""
    base = json.loads(resources.files("hooks").joinpath("guideline.json").read_text(encoding="utf-8"))
    own = json.loads(resources.files("hooks").joinpath("order_safety.json").read_text(encoding="utf-8"))
    doc: dict[str, Any] = dict(base)
    doc["facts"] = {**base["facts"], **own["facts"]}
    doc["texts"] = {**base["texts"], **own["texts"]}
    doc["recommendations"] = own["recommendations"]
    return parse(doc)


#: The engine renders these rules' cards with this guideline.
GUIDELINE = guideline


def _lowers_afterload(order: DraftOrder) -> bool:
    known = drug_classes()
    if set(order.classes) & set(known.renin_angiotensin):
        return True
    # A nitrate patch or a sublingual tablet coded as such is not an IV vasodilator.
    return known.iv_vasodilator in order.classes and not order.not_intravenous


def _raises_afterload(order: DraftOrder) -> bool:
    # Phenylephrine eye or nasal drops (a coded non-intravenous route) do not.
    return order.afterload_raising and not order.not_intravenous


def _draft_check(name: str, orders: Sequence[DraftOrder]) -> Check:
    evidence = tuple(_shown(order) for order in orders)
    return Check(
        name,
        bool(orders),
        Status.PRESENT if orders else Status.ABSENT,
        statement=", ".join(_drug(order) for order in orders),
        evidence=evidence,
    )


def _shown(order: DraftOrder) -> Evidence:
    """The draft as its card line reads it: "Nitroprusside being ordered"."""
    ev = order.evidence
    status = "draft-name-only" if order.name_only else "draft"
    return Evidence(
        ev.resource_type,
        ev.resource_id,
        ev.system,
        ev.code,
        ev.display,
        note=ev.note,
        what=_drug(order),
        status=status,
    )


def _drug(order: DraftOrder) -> str:
    return order.evidence.what or order.evidence.display or "drug"


def _scope_checks(facts: PatientFacts) -> list[Check]:
    """Comfort measures only: no order-safety card (docs/clinical-rules.md, 'Order safety').

    Under 18 and deceased are applied to every rule by the engine (``hooks/scope.py``).
    """
    return [fact_check("comfort_care", facts.scope.comfort_care, negate=True)]


def _pressure(hypotension: Fact) -> str | None:
    """The reading that decided hypotension, as a clinician says it: "SBP 78"."""
    for ev in hypotension.evidence:
        if ev.what in _PRESSURE and ev.value is not None:
            return f"{_PRESSURE[ev.what]} {ev.value_text or fmt(ev.value, ev.unit)}"
    return None


def draft_vasodilator_in_hypotension(facts: PatientFacts, g: Guideline) -> RuleResult:
    """A vasodilator drafted while the patient has severe MR and is hypotensive: critical."""
    orders = [o for o in facts.draft_orders if _lowers_afterload(o)]
    checks = [
        _draft_check("draft_vasodilator", orders),
        severe_mr_check(facts, g),
        fact_check("hypotension", facts.hypotension),
        *_scope_checks(facts),
    ]
    slots = {"drug": " and ".join(dict.fromkeys(_drug(o) for o in orders))} if orders else {}
    pressure = _pressure(facts.hypotension)
    if pressure is not None:
        slots["pressure"] = pressure
    return _result(
        "draft-vasodilator-in-hypotension",
        g,
        checks,
        slots=slots,
        withdraw=tuple(o.reference for o in orders if o.reference is not None),
    )


def draft_vasoconstrictor_in_severe_mr(facts: PatientFacts, g: Guideline) -> RuleResult:
    """Phenylephrine drafted with severe MR: a warning (it raises afterload)."""
    orders = [o for o in facts.draft_orders if _raises_afterload(o)]
    checks = [
        _draft_check("draft_vasoconstrictor", orders),
        severe_mr_check(facts, g),
        *_scope_checks(facts),
    ]
    slots = {"drug": " and ".join(dict.fromkeys(_drug(o) for o in orders))} if orders else {}
    return _result("draft-vasoconstrictor-in-severe-mr", g, checks, slots=slots)


def _result(
    rule_id: str,
    g: Guideline,
    checks: list[Check],
    *,
    slots: dict[str, str],
    withdraw: tuple[str, ...] = (),
) -> RuleResult:
    fired = all(c.met for c in checks if c.role is Role.CONDITION)
    return RuleResult(
        rule_id,
        fired,
        g.recommendation(rule_id).indicator,
        tuple(checks),
        slots=slots,
        withdraw=withdraw if fired else (),
    )


#: The order-safety rules, in the order of docs/clinical-rules.md.
RULES: tuple[tuple[str, Rule], ...] = (
    ("draft-vasodilator-in-hypotension", draft_vasodilator_in_hypotension),
    ("draft-vasoconstrictor-in-severe-mr", draft_vasoconstrictor_in_severe_mr),
)
