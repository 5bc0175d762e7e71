"""A fired rule -> one CDS Hooks 2.0 card (https://cds-hooks.hl7.org/2.0/#card-attributes).

The detail says what to consider, from which of the patient's facts (value, unit, time,
reference), what could not be assessed and why, the evidence level and the reference.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from string import Formatter
from typing import Any

from fhir_mappings.codesystems import SNOMED
from fhir_mappings.facts import PatientFacts, Status
from fhir_mappings.valuesets import value_set
from hooks.guideline import Guideline, Recommendation
from hooks.model import Check, RuleResult
from hooks.text import MARKDOWN, Style, collapse, describe, fmt_time, join_limited, unique

#: CDS Hooks: "summary ... <140 characters".
SUMMARY_LIMIT = 140
_MAX_EVIDENCE_PER_CHECK = 6
_MAX_DATA_QUALITY = 10


def summary(rec: Recommendation, result: RuleResult) -> str:
    """The first template of the variant whose slots are all filled and that fits."""
    templates = rec.summaries.get(result.variant) or rec.summaries["default"]
    for template in templates:
        needed = {name for _, name, _, _ in Formatter().parse(template) if name}
        if not needed <= result.slots.keys():
            continue
        text = collapse(template.format(**result.slots), SUMMARY_LIMIT * 2)
        if len(text) < SUMMARY_LIMIT:
            return text
    # The data file's last template per variant has no slots and is short (tested).
    return collapse(templates[-1], SUMMARY_LIMIT - 1)


def check_label(check: Check, g: Guideline) -> str:
    return check.label or g.fact(check.fact).label


def check_statement(check: Check, g: Guideline) -> str:
    """What the check found: its own statement, else the status word of its fact."""
    if check.statement:
        return check.statement
    if check.negated and check.status is Status.ABSENT:
        return g.texts["none_recorded"]
    return g.status_words[check.status.value]


def check_lines(check: Check, g: Guideline, style: Style, indent: str = "  ") -> list[str]:
    """A check as a bullet with its evidence as sub-bullets."""
    lines = [f"- {style.bold(check_label(check, g))}: {style.esc(check_statement(check, g))}"]
    evidence = [describe(ev, g.units, style) for ev in check.evidence]
    more = g.texts["more"]
    lines += [f"{indent}- {line}" for line in join_limited(unique(evidence), _MAX_EVIDENCE_PER_CHECK, more)]
    return lines


def not_assessed(result: RuleResult, facts: PatientFacts, g: Guideline) -> tuple[str, ...]:
    """What the checks could not assess, and the data sources they need that were not obtained."""
    sources = {s for c in result.checks for s in g.fact(c.fact).sources}
    items = [m if c.missing_named else f"{check_label(c, g)}: {m}" for c in result.checks for m in c.missing]
    # A source not obtained is listed unless a fact already gave that reason.
    items += [
        f"{key}: {reason}"
        for key, reason in facts.unavailable
        if key in sources and not any(reason in item for item in items)
    ]
    return unique(items)


def data_quality(result: RuleResult, facts: PatientFacts, g: Guideline, style: Style) -> list[str]:
    """Resources left out of the facts this rule reads (by resource type)."""
    types = {t for c in result.checks for t in g.fact(c.fact).resource_types}
    notes = [
        f"{style.ref(_reference(n.resource_type, n.resource_id))}: {style.esc(n.reason)}"
        for n in facts.data_quality
        if n.resource_type in types
    ]
    return join_limited(unique(notes), _MAX_DATA_QUALITY, g.texts["more"])


def _reference(resource_type: str, resource_id: str | None) -> str:
    return f"{resource_type}/{resource_id}" if resource_id else resource_type


def detail(result: RuleResult, rec: Recommendation, facts: PatientFacts, g: Guideline, now: datetime) -> str:
    """The card detail in GitHub-flavoured Markdown (no HTML)."""
    parts = [rec.consider]
    parts += [g.texts[key] for key in result.notes]
    lines = [f"**{g.texts['as_of'].format(now=fmt_time(now))}**", ""]
    for check in result.checks:
        lines += check_lines(check, g, MARKDOWN)
    parts.append("\n".join(lines))
    parts += _section(
        g.texts["not_assessed_heading"], [MARKDOWN.esc(m) for m in not_assessed(result, facts, g)]
    )
    parts += _section(g.texts["data_quality_heading"], data_quality(result, facts, g, MARKDOWN))
    if any(ev.value is not None for c in result.checks for ev in c.evidence):
        parts.append(g.texts["thresholds"])  # only where a measured value decided (spec section 3)
    parts.append(f"**{g.texts['evidence_heading']}**: {rec.evidence.level}. {rec.evidence.statement}")
    parts += _section(g.texts["reference_heading"], _citations(rec, g))
    return "\n\n".join(parts)


def _citations(rec: Recommendation, g: Guideline) -> list[str]:
    """The evidence's source, then the guideline's reference when the card links it."""
    keys = unique([rec.evidence.citation, *(k for k in rec.links if k == "guideline")])
    refs = [g.references[k] for k in keys]
    return [ref.citation + (f" [{ref.label}]({ref.url})" if ref.url and ref.label else "") for ref in refs]


def _section(heading: str, items: Iterable[str]) -> list[str]:
    listed = list(items)
    if not listed:
        return []
    return [f"**{heading}**\n\n" + "\n".join(f"- {item}" for item in listed)]


def card(
    result: RuleResult,
    facts: PatientFacts,
    g: Guideline,
    *,
    now: datetime,
    ids: Callable[[], str],
) -> dict[str, Any]:
    """The CDS Hooks card for a fired rule."""
    rec = g.recommendation(result.rule_id)
    guideline_ref = g.references["guideline"]
    out: dict[str, Any] = {
        "uuid": ids(),
        "summary": summary(rec, result),
        "indicator": result.indicator,
        "detail": detail(result, rec, facts, g, now),
        "source": {
            "label": g.source_label,
            "url": guideline_ref.url,
            "topic": {"system": g.recommendation_system, "code": rec.id, "display": rec.title},
        },
        "links": [_link(g.references[key].label, g.references[key].url) for key in rec.links],
        "overrideReasons": [
            {"system": g.override_reason_system, "code": r.code, "display": r.display}
            for r in g.override_reasons
        ],
    }
    if rec.suggestion is not None:
        out["suggestions"] = [echo_suggestion(rec, facts, ids)]
        out["selectionBehavior"] = "at-most-one"
    return out


def _link(label: str | None, url: str | None) -> dict[str, str]:
    return {"label": label or "", "url": url or "", "type": "absolute"}


def echo_suggestion(rec: Recommendation, facts: PatientFacts, ids: Callable[[], str]) -> dict[str, Any]:
    """A draft, proposed ServiceRequest (FHIR R4) for a transthoracic echocardiogram."""
    spec = rec.suggestion
    assert spec is not None
    coding = next(c for c in value_set(spec.value_set).codes if c.code == spec.code and c.system == SNOMED)
    resource: dict[str, Any] = {
        "resourceType": "ServiceRequest",
        "status": "draft",
        "intent": "proposal",
        "code": {
            "coding": [{"system": coding.system, "code": coding.code, "display": coding.display}],
            "text": spec.text,
        },
        "subject": {"reference": f"Patient/{facts.patient_id}"},
    }
    reasons = _reason_references(
        ev.reference for ev in facts.mr_documented.evidence if ev.resource_type == "Condition"
    )
    if reasons:
        resource["reasonReference"] = reasons
    action = {"type": "create", "description": spec.description, "resource": resource}
    return {"label": spec.label, "uuid": ids(), "isRecommended": True, "actions": [action]}


def _reason_references(references: Iterable[str]) -> list[Mapping[str, str]]:
    return [{"reference": r} for r in unique(r for r in references if "/" in r)]
