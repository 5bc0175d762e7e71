"""Every rule's decision, fired or not, as text or JSON (``mr-cds evaluate --explain``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from fhir_mappings.facts import DataQualityNote, Evidence, Status
from fhir_mappings.valuesets import site_file_of
from hooks.cards import check_label, check_statement
from hooks.gaps import as_json, trail
from hooks.guideline import Guideline, guideline
from hooks.model import Check, Role, RuleResult
from hooks.text import PLAIN, describe, fmt_time

#: The project's own description of every rule, one heading per recommendation id.
RULES_DOC = "docs/clinical-rules.md"


def _mark(check: Check) -> str:
    """``[x]`` met, ``[ ]`` not met, ``[?]`` not met because unknown, ``[i]`` context only."""
    if check.role is Role.CONTEXT:
        return "[i]"
    if check.met:
        return "[x]"
    return "[?]" if check.status is Status.UNKNOWN else "[ ]"


def _criterion(check: Check, g: Guideline) -> str:
    """The criterion as the spec writes it, then its label: ``not mechanical_support -- ...``."""
    name = g.fact(check.fact).spec
    if check.role is Role.CONTEXT:
        return check_label(check, g)
    prefix = "not " if check.negated else ""
    return f"{prefix}{name} -- {check_label(check, g)}"


def _rule_text(result: RuleResult, g: Guideline) -> list[str]:
    rec = g.recommendation(result.rule_id)
    if result.error:
        return [f"FAILED     {result.rule_id}: the rule raised {result.error} (see the log); no card"]
    head = "FIRED     " if result.fired else "not fired "
    lines = [
        f"{head} {result.rule_id} ({result.indicator}): {rec.title}",
        f"    when: {rec.spec.split(': ', 1)[-1]}",
    ]
    lines.append(f"    rule: {RULES_DOC}#{result.rule_id}")
    for check in result.checks:
        lines.append(f"    {_mark(check)} {_criterion(check, g)}: {PLAIN.esc(check_statement(check, g))}")
        lines += [f"          - {_evidence_text(ev, g)}" for ev in check.evidence]
        lines += [f"          shown, not counted: {_evidence_text(ev, g)}" for ev in check.shown]
        lines += [f"          could not be assessed: {PLAIN.esc(trail(m, g))}" for m in check.missing]
    return lines


def _evidence_text(ev: Evidence, g: Guideline) -> str:
    """The evidence line; a code that only the site's own files list is marked as such."""
    text = describe(ev, g.units, PLAIN)
    site_file = site_file_of(ev.system, ev.code)
    if site_file is not None:
        text += f" [site code {ev.system}|{ev.code}, from MRCDS_VALUESETS_DIR {site_file}]"
    return text


def explanation_text(
    results: Sequence[RuleResult],
    *,
    now: datetime,
    left_out: Sequence[DataQualityNote] = (),
    g: Guideline | None = None,
) -> str:
    """Every rule in order: fired or not, the facts that decided it, and what was left out.

    ``g``: the service's card texts (default: the patient-view guideline)."""
    g = g or guideline()
    lines = [
        f"Rules of {RULES_DOC} (one section per rule id), as of {fmt_time(now)}",
        "([x] met, [ ] not met, [?] not met: could not be assessed, [i] shown for context)",
        f"Cut-offs and windows with their sources: {RULES_DOC}, section 'How a site changes a default'",
        "",
    ]
    for result in results:
        lines += _rule_text(result, g)
        lines.append("")
    dropped = [n for n in left_out if not n.kept]
    kept = [n for n in left_out if n.kept]
    if dropped:
        lines.append("Left out of the assessment:")
        lines += [f"    - {_reference(n)}: {PLAIN.esc(n.reason)}" for n in dropped]
    if kept:
        lines.append("Used, with a data-quality problem in elements no rule reads:")
        lines += [f"    - {_reference(n)}: {PLAIN.esc(n.reason)}" for n in kept]
    return "\n".join(lines).rstrip() + "\n"


def _reference(note: DataQualityNote) -> str:
    return PLAIN.ref(f"{note.resource_type}/{note.resource_id}" if note.resource_id else note.resource_type)


def _evidence_json(ev: Evidence) -> dict[str, Any]:
    return {
        "reference": ev.reference,
        "code": f"{ev.system}|{ev.code}" if ev.code else None,
        "display": ev.display,
        "value": ev.value,
        "unit": ev.unit,
        "valueText": ev.value_text,
        "time": ev.time.isoformat() if ev.time else None,
        "note": ev.note,
        "what": ev.what,
        "status": ev.status,
        "reason": ev.reason,
        "siteFile": site_file_of(ev.system, ev.code),
    }


def _check_json(check: Check, g: Guideline) -> dict[str, Any]:
    return {
        "fact": check.fact,
        "label": check_label(check, g),
        "role": check.role.value,
        "negated": check.negated,
        "met": check.met,
        "status": check.status.value,
        "statement": check_statement(check, g),
        "evidence": [_evidence_json(ev) for ev in check.evidence],
        "shown": [_evidence_json(ev) for ev in check.shown],
        "missing": [as_json(m) for m in check.missing],
    }


def explanation_json(results: Sequence[RuleResult], g: Guideline | None = None) -> list[dict[str, Any]]:
    """The same as ``explanation_text``, as JSON-ready data."""
    g = g or guideline()
    return [
        {
            "id": r.rule_id,
            "fired": r.fired,
            "indicator": r.indicator,
            "when": g.recommendation(r.rule_id).spec,
            "rule": f"{RULES_DOC}#{r.rule_id}",
            "error": r.error,
            "checks": [_check_json(c, g) for c in r.checks],
        }
        for r in results
    ]
