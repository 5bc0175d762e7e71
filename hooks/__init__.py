"""Guideline rules: ``PatientFacts`` -> CDS Hooks cards. Pure: no Flask, no HTTP, no clock.

``evaluate`` gives the cards; ``evaluate_detailed`` also every rule's decision and the
rules that failed; ``explain`` gives the decisions alone (for ``mr-cds evaluate --explain``).
"""

from __future__ import annotations

from hooks.engine import evaluate, evaluate_detailed, explain, rule_failures
from hooks.explanation import explanation_json, explanation_text
from hooks.model import Check, Evaluation, Role, RuleResult

__all__ = [
    "Check",
    "Evaluation",
    "Role",
    "RuleResult",
    "evaluate",
    "evaluate_detailed",
    "explain",
    "explanation_json",
    "explanation_text",
    "rule_failures",
]
