"""hooks/order_safety.json: complete, short enough, and documented rule by rule."""

from __future__ import annotations

from pathlib import Path
from string import Formatter

from hooks.order_safety import RULES, guideline
from hooks.rules import RULES as PATIENT_VIEW_RULES
from hooks.scope import ESCALATION, UNDER_DURABLE_VAD

DOC = (Path(__file__).resolve().parents[2] / "docs" / "clinical-rules.md").read_text(encoding="utf-8")
G = guideline()


def test_every_order_rule_has_a_recommendation_and_a_doc_section() -> None:
    assert [r.id for r in G.recommendations] == [rule_id for rule_id, _ in RULES]
    for rule_id, _ in RULES:
        assert f"\n### {rule_id}\n" in DOC


def test_the_last_summary_of_each_order_rule_has_no_slots_and_fits() -> None:
    for rec in G.recommendations:
        last = rec.summaries["default"][-1]
        assert not [name for _, name, _, _ in Formatter().parse(last) if name]
        assert len(last) < 140


def test_only_the_critical_order_card_offers_to_delete_the_draft() -> None:
    offers = {r.id: r.withdraw is not None for r in G.recommendations}
    assert offers == {"draft-vasodilator-in-hypotension": True, "draft-vasoconstrictor-in-severe-mr": False}


def test_the_order_cards_keep_the_guidelines_references_and_override_reasons() -> None:
    assert all(r.evidence.citation in G.references for r in G.recommendations)
    assert {r.code for r in G.override_reasons} >= {"already-addressed", "not-appropriate"}


def test_a_durable_vad_withholds_exactly_the_guideline_cards_outside_under_durable_vad() -> None:
    # hooks/scope.py withholds ESCALATION under a durable VAD so that other services' cards
    # stay; for the guideline's cards that is the same as "all but UNDER_DURABLE_VAD".
    guideline_rules = {rule_id for rule_id, _ in PATIENT_VIEW_RULES}
    assert guideline_rules == ESCALATION | UNDER_DURABLE_VAD
    assert not ESCALATION & UNDER_DURABLE_VAD
    assert not ESCALATION & {rule_id for rule_id, _ in RULES}
