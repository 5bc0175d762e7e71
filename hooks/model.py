"""What a rule decides, in a form both the card renderer and ``--explain`` can show."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from fhir_mappings.facts import DataQualityNote, Evidence, Status
from fhir_mappings.gaps import Missing


class Role(StrEnum):
    """A condition decides whether the rule fires; context only informs the card."""

    CONDITION = "condition"
    CONTEXT = "context"


#: The members as plain names, for the rules and cards (a few hundred reads per call): on
#: Python 3.11 ``Status.PRESENT`` goes through the enum's descriptor (about 75 ns against
#: 10 ns for a module name). The same objects: ``is`` compares as before.
PRESENT, ABSENT, UNKNOWN = Status.PRESENT, Status.ABSENT, Status.UNKNOWN
CONDITION, CONTEXT = Role.CONDITION, Role.CONTEXT


@dataclass(frozen=True, init=False)
class Check:
    """One criterion of a rule, evaluated on the patient's facts."""

    #: Key into the guideline's ``facts`` (label, data sources, resource types).
    fact: str
    #: Whether the criterion holds (a ``not X`` criterion holds when X is not present).
    met: bool
    #: Status of the underlying fact: an ``unknown`` fact is said to be unknown.
    status: Status
    #: What was found, in words (e.g. "grade 4+ on echocardiography"); empty: the status word.
    statement: str = ""
    evidence: tuple[Evidence, ...] = ()
    #: What could not be assessed: ``Gap`` (worded by ``hooks.gaps``) or plain words.
    missing: tuple[Missing, ...] = ()
    role: Role = Role.CONDITION
    negated: bool = False
    #: Overrides the guideline's label for the fact (e.g. one medication class).
    label: str | None = None
    #: ``missing`` items name their part (``Hypotension: ...``; a ``Gap``'s ``part``): the
    #: card leaves it out, ``--explain`` keeps it.
    missing_named: bool = False
    #: Found but not counted (name-only drug, support that may be running): to verify.
    shown: tuple[Evidence, ...] = ()
    #: What was not assessed cannot change this card: ``--explain`` lists it, the card
    #: does not (organ function of a stable patient with no failing organ).
    quiet: bool = False

    def __init__(
        self,
        fact: str,
        met: bool,
        status: Status,
        statement: str = "",
        evidence: tuple[Evidence, ...] = (),
        missing: tuple[Missing, ...] = (),
        role: Role = Role.CONDITION,
        negated: bool = False,
        label: str | None = None,
        missing_named: bool = False,
        shown: tuple[Evidence, ...] = (),
        quiet: bool = False,
    ) -> None:
        # The fields, as the generated __init__ takes them (tests/hooks/test_model.py keeps
        # them in step). The rules build some thirty checks per call: the generated frozen
        # __init__ sets each field through object.__setattr__ (1.6 us for a check), filling
        # the dict at once costs a third of that. Assigning afterwards still raises.
        self.__dict__.update(
            {
                "fact": fact,
                "met": met,
                "status": status,
                "statement": statement,
                "evidence": evidence,
                "missing": missing,
                "role": role,
                "negated": negated,
                "label": label,
                "missing_named": missing_named,
                "shown": shown,
                "quiet": quiet,
            }
        )


@dataclass(frozen=True, init=False)
class RuleResult:
    """A rule's decision: fired or not, the checks that decided it, and what the card needs."""

    rule_id: str
    fired: bool
    indicator: str
    checks: tuple[Check, ...] = ()
    #: Which summary templates to use (``default`` unless the rule says otherwise).
    variant: str = "default"
    #: Values for the summary templates' ``{slots}``: our own labels and numbers only.
    slots: Mapping[str, str] = field(default_factory=dict)
    #: Keys of guideline ``texts`` to add to the card detail (cautions, caveats).
    notes: tuple[str, ...] = ()
    #: Exception type name when the rule raised (then ``fired`` is False).
    error: str | None = None
    #: Offer the draft echo order: ``routine``, ``urgent``, or None (no order offered).
    suggestion: str | None = None
    #: Draft orders (relative references) the card suggests deleting (order hooks).
    withdraw: tuple[str, ...] = ()

    def __init__(
        self,
        rule_id: str,
        fired: bool,
        indicator: str,
        checks: tuple[Check, ...] = (),
        variant: str = "default",
        slots: Mapping[str, str] | None = None,
        notes: tuple[str, ...] = (),
        error: str | None = None,
        suggestion: str | None = None,
        withdraw: tuple[str, ...] = (),
    ) -> None:
        # As Check's (``slots``: None is a new empty dict, as the field's default_factory).
        self.__dict__.update(
            {
                "rule_id": rule_id,
                "fired": fired,
                "indicator": indicator,
                "checks": checks,
                "variant": variant,
                "slots": {} if slots is None else slots,
                "notes": notes,
                "error": error,
                "suggestion": suggestion,
                "withdraw": withdraw,
            }
        )


@dataclass(frozen=True)
class Evaluation:
    """Cards plus every rule's decision and the ids of rules that failed."""

    cards: tuple[dict[str, Any], ...]
    results: tuple[RuleResult, ...]
    failed_rules: tuple[str, ...] = ()
    #: Resources left out of the facts, with why: the trail ``--explain`` shows (never a card).
    left_out: tuple[DataQualityNote, ...] = ()
