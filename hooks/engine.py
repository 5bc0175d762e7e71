"""Run every rule, isolate failures, order the cards (critical, warning, info)."""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from types import TracebackType
from typing import Any

from fhir_mappings.facts import PatientFacts
from hooks.cards import card
from hooks.guideline import Guideline, guideline
from hooks.model import Evaluation, RuleResult
from hooks.rules import RULES, Rule
from hooks.scope import quiet, scoped

#: A service's rule set: (rule id, rule) in card order within an indicator.
Rules = tuple[tuple[str, Rule], ...]

log = logging.getLogger(__name__)

_RANK = {"critical": 0, "warning": 1, "info": 2}
_failures: Counter[str] = Counter()
_failures_lock = threading.Lock()


def explain(
    facts: PatientFacts, rules: Rules | None = None, g: Guideline | None = None
) -> tuple[RuleResult, ...]:
    """Every rule's decision, fired or not, with the checks that decided it (no logging).

    ``rules`` and ``g``: a service's rule set and card texts (default: the patient-view ones)."""
    g = g or guideline()
    calm = quiet(facts.scope)
    return one_draft_echo([_decide(rule_id, rule, facts, g, calm)[0] for rule_id, rule in rules or RULES])


def one_draft_echo(results: Sequence[RuleResult]) -> tuple[RuleResult, ...]:
    """At most one draft echo per response: when an urgent one is offered (acute MR), the
    routine one of ``grade-severity`` is left out (docs/clinical-rules.md, grade-severity)."""
    urgent = any(r.fired and r.suggestion == "urgent" for r in results)
    if not urgent:
        return tuple(results)
    return tuple(
        replace(r, suggestion=None) if r.suggestion is not None and r.suggestion != "urgent" else r
        for r in results
    )


def evaluate_detailed(
    facts: PatientFacts,
    *,
    now: datetime,
    ids: Callable[[], str],
    rules: Rules | None = None,
    g: Guideline | None = None,
) -> Evaluation:
    """Cards, decisions and failed rules; a rule that raises is logged, counted and skipped.

    ``rules`` and ``g``: a service's rule set and card texts (default: the patient-view ones)."""
    g = g or guideline()
    rules = rules or RULES
    results: list[RuleResult] = []
    cards: list[tuple[tuple[int, int], dict[str, Any]]] = []
    failed: list[str] = []
    calm = quiet(facts.scope)
    outcomes = [_decide(rule_id, rule, facts, g, calm) for rule_id, rule in rules]
    decided = one_draft_echo([result for result, _ in outcomes])
    for index, ((rule_id, _rule), (_, exc)) in enumerate(zip(rules, outcomes, strict=True)):
        result = decided[index]
        if exc is None and result.fired:
            try:
                cards.append(
                    (
                        (_RANK.get(result.indicator, len(_RANK)), index),
                        card(result, facts, g, now=now, ids=ids),
                    )
                )
            except Exception as render_exc:  # one broken card must not hide the others
                result, exc = _failed(rule_id, g, render_exc), render_exc
        if exc is not None:
            _record_failure(rule_id, exc)
            failed.append(rule_id)
        results.append(result)
    ordered = tuple(c for _, c in sorted(cards, key=lambda pair: pair[0]))
    return Evaluation(
        cards=ordered, results=tuple(results), failed_rules=tuple(failed), left_out=facts.data_quality
    )


def evaluate(facts: PatientFacts, *, now: datetime, ids: Callable[[], str]) -> list[dict[str, Any]]:
    """The CDS Hooks cards for ``facts``, ordered critical, warning, info."""
    return list(evaluate_detailed(facts, now=now, ids=ids).cards)


def rule_failures() -> Mapping[str, int]:
    """How many times each rule has failed in this process (for metrics)."""
    with _failures_lock:
        return dict(_failures)


def _decide(
    rule_id: str, rule: Rule, facts: PatientFacts, g: Guideline, calm: bool
) -> tuple[RuleResult, Exception | None]:
    """``calm``: ``quiet(facts.scope)``, asked once per call (then scope changes nothing)."""
    try:
        # Scope and goals of care apply to every rule, after its clinical criteria.
        result = rule(facts, g)
        return (result if calm else scoped(result, facts, g)), None
    except Exception as exc:  # isolate: the other rules still run
        return _failed(rule_id, g, exc), exc


def _failed(rule_id: str, g: Guideline, exc: Exception) -> RuleResult:
    indicator = g.recommendation(rule_id).indicator
    return RuleResult(rule_id, fired=False, indicator=indicator, error=type(exc).__name__)


def _record_failure(rule_id: str, exc: Exception) -> None:
    # Exception type and code location only: messages may quote patient data.
    log.error("rule %s failed: %s at %s", rule_id, type(exc).__name__, _where(exc.__traceback__))
    with _failures_lock:
        _failures[rule_id] += 1


def _where(tb: TracebackType | None) -> str:
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    if tb is None:
        return "unknown location"
    code = tb.tb_frame.f_code
    return f"{code.co_filename.rsplit('/', 1)[-1]}:{tb.tb_lineno} ({code.co_name})"
