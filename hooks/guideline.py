"""The guideline data file (``guideline.json``) as frozen dataclasses, loaded once.

Card texts, evidence levels, links, override reasons and labels live in the data file so
that clinicians can review them without reading code; the rules only name ids.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache, cached_property
from importlib import resources
from typing import Any

from fhir_mappings.criteria import TRIGGERS
from fhir_mappings.drug_classes import drug_classes


@dataclass(frozen=True)
class Link:
    label: str
    url: str


@dataclass(frozen=True)
class Citation:
    citation: str
    label: str | None = None
    url: str | None = None
    #: How a card's ``source.label`` names this reference.
    source_label: str = ""


@dataclass(frozen=True)
class Evidence:
    level: str
    statement: str
    citation: str  # key into Guideline.references
    #: The card's one evidence line: "weak (guideline key recommendation 2)".
    short: str = ""


@dataclass(frozen=True)
class Suggestion:
    label: str
    description: str
    value_set: str
    code: str
    text: str


@dataclass(frozen=True)
class Withdraw:
    """A suggestion that deletes the draft orders a card is about (order hooks)."""

    label: str
    description: str


@dataclass(frozen=True)
class Recommendation:
    id: str
    title: str
    indicator: str
    spec: str
    #: Variant -> summary templates, most informative first; the last has no slots.
    summaries: Mapping[str, tuple[str, ...]]
    consider: str
    evidence: Evidence
    links: tuple[str, ...]
    indicator_when_untreated_symptoms: str | None = None
    suggestion: Suggestion | None = None
    withdraw: Withdraw | None = None
    #: medical-therapy: an IV vasodilator running in hypotension (critical), an inpatient
    #: ACE inhibitor / ARB / ARNI order in hypotension (at least warning).
    indicator_when_vasodilator_running: str | None = None
    indicator_when_ras_in_hypotension: str | None = None


@dataclass(frozen=True)
class FactInfo:
    label: str
    #: Prefetch keys the fact is computed from (to report the ones not obtained).
    sources: tuple[str, ...]
    #: Resource types the fact reads (to pick the data-quality notes that matter).
    resource_types: tuple[str, ...]
    #: How the rules write the criterion (default: the fact's name).
    spec: str = ""
    #: A short name for a card's "Not assessed" line (default: the label).
    short: str = ""


@dataclass(frozen=True)
class OverrideReason:
    code: str
    display: str


@dataclass(frozen=True)
class Guideline:
    id: str
    source_label: str
    recommendation_system: str
    override_reason_system: str
    references: Mapping[str, Citation]
    override_reasons: tuple[OverrideReason, ...]
    facts: Mapping[str, FactInfo]
    organs: Mapping[str, str]
    instability_labels: Mapping[str, str]
    presentation_labels: Mapping[str, str]
    mr_labels: Mapping[str, str]
    value_set_labels: Mapping[str, str]
    trigger_value_sets: tuple[str, ...]
    #: First-line drug groups, one line each ("ACE inhibitor or ARB" is one group).
    first_line_classes: tuple[tuple[str, ...], ...]
    vasodilator_classes: tuple[str, ...]
    loop_diuretic_class: str
    units: Mapping[str, str]
    status_words: Mapping[str, str]
    texts: Mapping[str, str]
    recommendations: tuple[Recommendation, ...]
    #: What could not be assessed, in clinical words: a data source by its prefetch key
    #: ("medication list"), and why ("{sources} could not be read"); ``hooks/gaps.py``.
    gap_sources: Mapping[str, str] = field(default_factory=dict)
    gap_reasons: Mapping[str, str] = field(default_factory=dict)

    def recommendation(self, rec_id: str) -> Recommendation:
        """The recommendation with this id; KeyError names it when unknown."""
        found = self._by_id.get(rec_id)
        if found is None:
            raise KeyError(f"unknown recommendation {rec_id!r}")
        return found

    @cached_property
    def _by_id(self) -> Mapping[str, Recommendation]:
        # Looked up several times per rule per call; the first of an id, as a scan finds it.
        by_id: dict[str, Recommendation] = {}
        for rec in self.recommendations:
            by_id.setdefault(rec.id, rec)
        return by_id

    @cached_property
    def presentation_words(self) -> Mapping[str, str]:
        """Labels of the acute presentation: instability criteria, then the presentation's own."""
        return {**self.instability_labels, **self.presentation_labels}

    @cached_property
    def organ_labels(self) -> Mapping[str, str]:
        """An organ's line label: "Organ dysfunction: renal" (worded once, not per call)."""
        return {organ: f"Organ dysfunction: {words}" for organ, words in self.organs.items()}

    def on_problem_list(self, label: str) -> str:
        """ "Heart failure on the problem list": worded once per label (a long stay lists the
        same condition many times, on every call)."""
        said = self._on_problem_list.get(label)
        if said is None:
            said = self._on_problem_list[label] = self.texts["on_problem_list"].format(label=label)
        return said

    @cached_property
    def _on_problem_list(self) -> dict[str, str]:
        return {}

    def group_label(self, group: tuple[str, ...]) -> str:
        """A drug group's line: "ACE inhibitor or ARB" (worded once per group)."""
        said = self._group_labels.get(group)
        if said is None:
            said = self._group_labels[group] = " or ".join(self.value_set_labels[vs] for vs in group)
        return said

    @cached_property
    def _group_labels(self) -> dict[tuple[str, ...], str]:
        return {}

    @cached_property
    def card_parts(self) -> dict[str, Any]:
        """A recommendation's card parts that never change (``hooks.cards``: filled there,
        by recommendation id, and copied into each card, never handed out)."""
        return {}

    @cached_property
    def gap_lines(self) -> dict[tuple[Any, ...], str]:
        """A check's "Not assessed" item by (fact, missing named, missing) (``hooks.cards``:
        filled there, bounded)."""
        return {}

    @cached_property
    def not_active_checks(self) -> dict[tuple[str, ...], Any]:
        """A first-line drug group's "not active" check (``hooks.rules``: filled there)."""
        return {}

    def fact(self, name: str) -> FactInfo:
        return self.facts[name]


def _recommendation(raw: Mapping[str, Any]) -> Recommendation:
    suggestion = raw.get("suggestion")
    return Recommendation(
        id=raw["id"],
        title=raw["title"],
        indicator=raw["indicator"],
        spec=raw["spec"],
        summaries={k: tuple(v) for k, v in raw["summaries"].items()},
        consider=raw["consider"],
        evidence=Evidence(**raw["evidence"]),
        links=tuple(raw["links"]),
        indicator_when_untreated_symptoms=raw.get("indicator_when_untreated_symptoms"),
        indicator_when_vasodilator_running=raw.get("indicator_when_vasodilator_running"),
        indicator_when_ras_in_hypotension=raw.get("indicator_when_ras_in_hypotension"),
        suggestion=Suggestion(**suggestion) if suggestion else None,
        withdraw=Withdraw(**raw["withdraw"]) if raw.get("withdraw") else None,
    )


def parse(doc: Mapping[str, Any]) -> Guideline:
    """Build the guideline from its JSON document."""
    return Guideline(
        id=doc["id"],
        source_label=doc["source_label"],
        recommendation_system=doc["systems"]["recommendation"],
        override_reason_system=doc["systems"]["override_reason"],
        references={
            k: Citation(v["citation"], v.get("label"), v.get("url"), v.get("source_label", ""))
            for k, v in doc["references"].items()
        },
        override_reasons=tuple(OverrideReason(r["code"], r["display"]) for r in doc["override_reasons"]),
        facts={
            k: FactInfo(
                v["label"],
                tuple(v["sources"]),
                tuple(v["resource_types"]),
                v.get("spec", k),
                v.get("short", ""),
            )
            for k, v in doc["facts"].items()
        },
        organs=doc["organs"],
        instability_labels=doc["instability_labels"],
        presentation_labels=doc["presentation_labels"],
        mr_labels=doc["mr_labels"],
        value_set_labels=doc["value_set_labels"],
        # One list, shared with the facts (fhir_mappings/criteria.py).
        trigger_value_sets=TRIGGERS,
        # Drug classes live in one place, fhir_mappings/drug_classes.json (not in this file).
        first_line_classes=drug_classes().first_line_groups,
        vasodilator_classes=drug_classes().vasodilators,
        loop_diuretic_class=drug_classes().loop_diuretic,
        units=doc["units"],
        status_words=doc["status_words"],
        texts=doc["texts"],
        recommendations=tuple(_recommendation(r) for r in doc["recommendations"]),
        gap_sources=doc["gap_sources"],
        gap_reasons=doc["gap_reasons"],
    )


@cache
def guideline() -> Guideline:
    """The shipped guideline (read once)."""
    raw = resources.files("hooks").joinpath("guideline.json").read_text(encoding="utf-8")
    return parse(json.loads(raw))
