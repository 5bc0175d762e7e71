"""A fired rule -> one CDS Hooks 2.0 card (https://cds-hooks.hl7.org/2.0/#card-attributes).

The detail says what to consider, from which of the patient's facts (value, unit, time,
reference), what could not be assessed and why, the evidence level and the reference.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from functools import lru_cache
from string import Formatter
from typing import Any

from fhir_mappings.codesystems import SNOMED
from fhir_mappings.facts import Evidence, PatientFacts
from fhir_mappings.numbers import fmt
from fhir_mappings.valuesets import value_set
from hooks.gaps import grouped
from hooks.guideline import Citation, Guideline, Recommendation
from hooks.model import ABSENT, CONDITION, UNKNOWN, Check, RuleResult
from hooks.phrases import measured_name, phrase
from hooks.text import collapse, first, plain, unique

#: CDS Hooks: "summary ... <140 characters".
SUMMARY_LIMIT = 140
_MAX_EVIDENCE_PER_CHECK = 6
#: A card shows at most five one-line facts, and a short "Not assessed" line.
_MAX_WHY = 5
_MAX_GAPS = 3
#: Checks whose unknown status is the card's reason or only context: not a gap to list.
_NOT_A_GAP = frozenset({"mr_grade", "current_grade"})


def summary(rec: Recommendation, result: RuleResult, g: Guideline) -> str:
    """The first template of the variant whose slots are all filled and that fits.

    An unconfirmed MR diagnosis changes the action: the summary says so (docs/clinical-rules.md).
    """
    templates = rec.summaries.get(result.variant) or rec.summaries["default"]
    # The patient's numbers only where a template says them (most summaries do not).
    numbers = deciding_numbers(result, g) if _wants_numbers(templates) else ""
    slots = {**({"numbers": numbers} if numbers else {}), **result.slots}
    for template in templates:
        if not _slot_names(template) <= slots.keys():
            continue
        text = _caveat(collapse(template.format(**slots), SUMMARY_LIMIT * 2), result, g)
        if len(text) < SUMMARY_LIMIT:
            return text
    # The data file's last template per variant has no slots and is short (tested).
    return collapse(_caveat(templates[-1], result, g), SUMMARY_LIMIT - 1)


@lru_cache(maxsize=1024)
def _slot_names(template: str) -> frozenset[str]:
    """The ``{slots}`` a summary template needs (templates are data: read once, not per card)."""
    return frozenset(name for _, name, _, _ in Formatter().parse(template) if name)


@lru_cache(maxsize=256)
def _wants_numbers(templates: tuple[str, ...]) -> bool:
    """Whether any of a variant's templates says the ``{numbers}`` (read once per variant)."""
    return any("numbers" in _slot_names(t) for t in templates)


#: Drug states that mean "on it now" in a summary ("on norepinephrine").
_RUNNING = frozenset({"running"})


def deciding_numbers(result: RuleResult, g: Guideline) -> str:
    """The patient's numbers behind the met criteria, for a critical summary (spec 2.1):
    "SBP 78, lactate 4.2, on norepinephrine" rather than "hypotension, hypoperfusion".
    Empty when there are none (a coded shock alone), or when a drug needs verifying: then
    the summary names the criteria, with their caveat."""
    readings: list[str] = []
    drugs: list[str] = []
    for check in result.checks:
        if check.role is not CONDITION or not check.met or check.negated:
            continue
        for ev in check.evidence:
            if ev.what in _VITALS and ev.value is not None:
                value = ev.value_text or fmt(ev.value, ev.unit)
                readings.append(f"{_lower_first(measured_name(ev.what))} {value}")
            elif ev.resource_type.startswith("Medication") and ev.status in _RUNNING and ev.what:
                if ev.reason is not None:
                    # A drug to verify (matched by name): the summary's own caveat says so.
                    return ""
                drugs.append(f"on {ev.what}")
    return ", ".join(unique([*readings, *drugs]))


def _caveat(text: str, result: RuleResult, g: Guideline) -> str:
    if "unconfirmed" in result.notes and text.startswith("Severe MR"):
        text = g.texts["severe_unconfirmed"] + text.removeprefix("Severe MR")
    if "dnr" in result.notes:  # goals are confirmed before escalation (docs/clinical-rules.md)
        text = g.texts["dnr_prefix"] + text
    return text


def check_label(check: Check, g: Guideline) -> str:
    return check.label or g.fact(check.fact).label


def check_statement(check: Check, g: Guideline) -> str:
    """What the check found: its own statement, else the status word of its fact."""
    if check.statement:
        return check.statement
    if check.negated and check.status is ABSENT:
        return g.texts["none_recorded"]
    return g.status_words[check.status.value]


def could_change(result: RuleResult, g: Guideline) -> tuple[str, ...]:
    """What was not assessed and could change this card (the gaps of unknown checks only),
    one item per check, in clinical words: "Medications: medication list could not be read"."""
    items = []
    said = g.gap_lines
    for c in result.checks:
        if c.status is not UNKNOWN or c.fact in _NOT_A_GAP or c.label or not c.missing or c.quiet:
            continue
        # The item depends on the fact, its gaps and how they are named, nothing else (the
        # label is None here): the same few are worded on every call, once per guideline.
        key = (c.fact, c.missing_named, c.missing)
        item = said.get(key)
        if item is None:
            item = _gap_item(c, g)
            if len(said) >= _MAX_GAP_LINES:  # bounded: gaps from odd servers vary
                said.clear()
            said[key] = item
        items.append(item)
    return unique(items)


#: At most this many gap items are kept per guideline (a demo call words two or three).
_MAX_GAP_LINES = 512


def _gap_item(c: Check, g: Guideline) -> str:
    """One check's gaps in clinical words: "Organ function: renal: no creatinine ..."."""
    # A criterion's own name ("Hypotension: ...") is left out: the check's short name leads.
    missing = (m.split(": ", 1)[-1] if c.missing_named and isinstance(m, str) else m for m in c.missing)
    return f"{g.fact(c.fact).short or check_label(c, g)}: {grouped(missing, g, part=not c.missing_named)}"


def why(result: RuleResult, g: Guideline, now: datetime) -> list[str]:
    """The criteria that were MET, one clinical line each, most decisive first, at most five.

    Decisive first: the rule's conditions in the rule's order, then the context that shaped
    the card. Never an "and N more" line: the full trail is ``--explain``.
    """
    decisive: list[str] = []
    context: list[str] = []
    inactive: list[str] = []
    for check in result.checks:
        lines = decisive if check.role is CONDITION else context
        fact = check.fact
        if fact == "medications":
            if check.status is ABSENT:
                inactive.append(check_label(check, g))
            else:
                lines.append(_medication_line(check, g, now))
            continue
        lines += _check_lines(check, g, now)
    if inactive:
        context.append(
            g.texts["not_active_line"].format(classes=", ".join(_lower_first(c) for c in inactive))
        )
    # Without repeats, in first-seen order (as ``unique``); the first five.
    kept: dict[str, None] = {}
    for line in (*decisive, *context):
        if line:
            kept[line[:1].upper() + line[1:]] = None
    return list(kept)[:_MAX_WHY]


#: The severe-MR check's lines, with the check, guideline and instant they were worded for:
#: five rules share one check object per call (``rules._per_grade``), so each card after
#: the first reuses them. One tuple, replaced whole (a thread reading an older one words again).
_shared_lines: tuple[Check, Guideline, datetime, tuple[str, ...]] | None = None


def _check_lines(check: Check, g: Guideline, now: datetime) -> tuple[str, ...]:
    """A check's "Why" lines (its medication lines aside); the shared severe-MR check's kept."""
    global _shared_lines
    last = _shared_lines
    if last is not None and last[0] is check and last[1] is g and last[2] is now:
        return last[3]
    lines = _lines_of(check, g, now)
    if check.fact == "severe_mr":
        _shared_lines = (check, g, now, lines)
    return lines


def _lines_of(check: Check, g: Guideline, now: datetime) -> tuple[str, ...]:
    lines: list[str] = []
    fact = check.fact
    if check.negated:
        if fact == "mechanical_support" and check.status is ABSENT:
            lines.append(g.texts["no_support"])
        if fact == "current_grade":  # the echo whose grade is unreadable
            lines += [phrase(ev, g, now) for ev in check.evidence]
    elif check.met and check.evidence:  # no evidence: no line (an empty line is dropped)
        evidence = check.evidence
        lines.append(_haemodynamics(evidence, g, now))
        # One piece of evidence is its own drug: nothing to merge.
        for ev in evidence if len(evidence) == 1 else _one_per_drug(evidence):
            if ev.what not in _VITALS:
                lines.append(phrase(ev, g, now))
    # Found but not counted (verify): said beside its criterion, met or not.
    if check.shown:
        lines += [phrase(ev, g, now) for ev in check.shown]
    return tuple(lines)


#: Measurements said on one line, as a clinician reads a monitor: "SBP 78 mmHg, 1 h ago; lactate ...".
_VITALS = frozenset({"sbp", "map", "lactate"})


def _haemodynamics(evidence: Iterable[Evidence], g: Guideline, now: datetime) -> str:
    return "; ".join(_lower_first(phrase(ev, g, now)) for ev in evidence if ev.what in _VITALS)


def _upper_first(text: str) -> str:
    return text[:1].upper() + text[1:]


def _lower_first(text: str) -> str:
    """Loop diuretic -> loop diuretic; an abbreviation (ACE, SBP, MAP) stays as written."""
    return text if text[1:2].isupper() else text[:1].lower() + text[1:]


def _one_per_drug(evidence: Iterable[Evidence]) -> list[Evidence]:
    """A drug both ordered and running is said once: running first."""
    best: dict[str, Evidence] = {}
    for ev in evidence:
        drug = ev.resource_type.startswith("Medication")
        key = (ev.what or ev.reference) if drug else f"{ev.reference}|{ev.what}"
        if key not in best or ev.status == "running":
            best[key] = ev
    return list(best.values())


def _medication_line(check: Check, g: Guideline, now: datetime) -> str:
    label = check_label(check, g)
    if check.status is UNKNOWN:
        return f"{label}: {g.status_words['unknown']}"
    drugs = unique(phrase(ev, g, now) for ev in _one_per_drug(check.evidence))
    return f"{label}: {'; '.join(drugs)}"


def detail(result: RuleResult, rec: Recommendation, facts: PatientFacts, g: Guideline, now: datetime) -> str:
    """The card detail in GitHub-flavoured Markdown: recommendation, why, gaps, evidence."""
    notes = result.notes
    parts = [" ".join([rec.consider, *(g.texts[key] for key in notes)]) if notes else rec.consider]
    lines = why(result, g, now)
    if lines:
        parts.append(f"**{g.texts['why_heading']}**\n" + "\n".join(f"- {plain(line)}" for line in lines))
    gaps = first(could_change(result, g), _MAX_GAPS)
    if gaps:
        parts.append(
            f"**{g.texts['not_assessed_heading']}:** " + "; ".join(plain(m, 2 * SUMMARY_LIMIT) for m in gaps)
        )
    bridge = g.texts["acute_bridge_evidence"] if "acute_bridge" in result.notes else ""
    parts.append(f"**{g.texts['evidence_heading']}:** {rec.evidence.short}{bridge}")
    return "\n\n".join(parts)


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
    label, topic, links, reasons = g.card_parts.get(rec.id) or _card_parts(rec, g)
    out: dict[str, Any] = {
        "uuid": ids(),
        "summary": summary(rec, result, g),
        "indicator": result.indicator,
        "detail": detail(result, rec, facts, g, now),
        # Copies of the parts kept per recommendation (one level deep: their values are str):
        # a caller that changes a card changes only its own.
        "source": {"label": label, "topic": {**topic}},
        "links": [{**link} for link in links],
        "overrideReasons": [{**reason} for reason in reasons],
    }
    if rec.suggestion is not None and result.suggestion is not None:
        out["suggestions"] = [echo_suggestion(rec, facts, ids, priority=result.suggestion)]
        out["selectionBehavior"] = "at-most-one"
    elif rec.withdraw is not None and result.withdraw:
        out["suggestions"] = [withdraw_suggestion(rec, result, ids)]
        out["selectionBehavior"] = "at-most-one"
    return out


def constant_parts(rec: Recommendation, g: Guideline) -> dict[str, Any]:
    """A card's source, links and override reasons: the same on every card of ``rec``."""
    return {
        "source": {
            "label": g.references[rec.evidence.citation].source_label or g.source_label,
            "topic": {"system": g.recommendation_system, "code": rec.id, "display": rec.title},
        },
        "links": [_link(g.references[key]) for key in rec.links],
        "overrideReasons": [
            {"system": g.override_reason_system, "code": r.code, "display": r.display}
            for r in g.override_reasons
        ],
    }


def _card_parts(rec: Recommendation, g: Guideline) -> Any:
    """``constant_parts`` worked out once per recommendation and kept on the guideline."""
    made = constant_parts(rec, g)
    source = made["source"]
    kept = g.card_parts[rec.id] = (
        source["label"],
        source["topic"],
        tuple(made["links"]),
        tuple(made["overrideReasons"]),
    )
    return kept


def withdraw_suggestion(rec: Recommendation, result: RuleResult, ids: Callable[[], str]) -> dict[str, Any]:
    """Delete the draft orders (CDS Hooks 2.0 ``delete`` with ``resourceId``, a relative reference)."""
    spec = rec.withdraw
    assert spec is not None
    actions = [
        {"type": "delete", "description": spec.description, "resourceId": ref} for ref in result.withdraw
    ]
    return {"label": spec.label, "uuid": ids(), "isRecommended": True, "actions": actions}


def _link(ref: Citation) -> dict[str, str]:
    return {"label": ref.label or "", "url": ref.url or "", "type": "absolute"}


def echo_suggestion(
    rec: Recommendation, facts: PatientFacts, ids: Callable[[], str], *, priority: str = "routine"
) -> dict[str, Any]:
    """A draft, proposed ServiceRequest (FHIR R4) for a transthoracic echocardiogram."""
    spec = rec.suggestion
    assert spec is not None
    coding = next(c for c in value_set(spec.value_set).codes if c.code == spec.code and c.system == SNOMED)
    resource: dict[str, Any] = {
        "resourceType": "ServiceRequest",
        "status": "draft",
        "intent": "proposal",
        "priority": priority,
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
