"""The rule decisions' own ``__init__`` (hooks/model.py, written out for speed) takes and
sets exactly the dataclass fields, and the objects stay frozen; so do the facts', their
evidence's, the patient facts' and the data-quality notes' (fhir_mappings/facts.py)."""

from __future__ import annotations

import inspect
from dataclasses import MISSING, FrozenInstanceError, fields, replace
from typing import Any

import pytest

from fhir_mappings.facts import DataQualityNote, Evidence, Fact, PatientFacts, Scope, Status
from hooks.model import Check, Role, RuleResult

CLASSES = [Check, RuleResult, Fact, Evidence, PatientFacts, DataQualityNote]


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_init_takes_the_fields_in_order_with_their_defaults(cls: type) -> None:
    params = list(inspect.signature(cls.__init__).parameters.values())[1:]
    assert [p.name for p in params] == [f.name for f in fields(cls)]
    for p, f in zip(params, fields(cls), strict=True):
        assert p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
        # A default_factory field takes None for "a new default".
        expected = (
            inspect.Parameter.empty if f.default is MISSING and f.default_factory is MISSING else f.default
        )
        assert p.default == (None if f.default_factory is not MISSING else expected), f.name


def _distinct_values(cls: type) -> dict[str, Any]:
    """A value per field that no other field has (so a swapped field shows)."""
    return {f.name: (f"value-{f.name}",) for f in fields(cls)}


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_every_field_is_set_from_its_own_argument(cls: type) -> None:
    values = _distinct_values(cls)
    by_name = cls(**values)
    by_position = cls(*values.values())
    for name, value in values.items():
        assert getattr(by_name, name) == value
        assert getattr(by_position, name) == value
    assert vars(by_name) == values


def test_defaults_are_those_of_the_fields_and_slots_is_a_new_dict() -> None:
    check = Check("severe_mr", True, Status.PRESENT)
    assert (check.statement, check.evidence, check.missing, check.role) == ("", (), (), Role.CONDITION)
    assert (check.negated, check.label, check.missing_named, check.shown, check.quiet) == (
        False,
        None,
        False,
        (),
        False,
    )
    first, second = RuleResult("a", False, "info"), RuleResult("b", False, "info")
    assert first.slots == {}
    assert first.slots is not second.slots
    assert (first.checks, first.variant, first.notes, first.error, first.suggestion, first.withdraw) == (
        (),
        "default",
        (),
        None,
        None,
        (),
    )


def test_decisions_stay_frozen_comparable_and_replaceable() -> None:
    ev = Evidence("Observation", "bp-1", value=78.0, unit="mm[Hg]", what="sbp")
    check = Check("hypotension", True, Status.PRESENT, evidence=(ev,))
    with pytest.raises(FrozenInstanceError):
        check.met = False  # type: ignore[misc]
    with pytest.raises(FrozenInstanceError):
        del check.fact  # type: ignore[misc]
    assert check == Check("hypotension", True, Status.PRESENT, evidence=(ev,))
    assert hash(check) == hash(Check("hypotension", True, Status.PRESENT, evidence=(ev,)))
    assert replace(check, met=False) == Check("hypotension", False, Status.PRESENT, evidence=(ev,))
    result = RuleResult("medical-therapy", True, "info", (check,), slots={"drug": "nitroprusside"})
    with pytest.raises(FrozenInstanceError):
        result.fired = False  # type: ignore[misc]
    assert replace(result, notes=("dnr",)).notes == ("dnr",)
    assert repr(check).startswith("Check(fact='hypotension', met=True, status=")


def test_facts_and_evidence_stay_frozen_comparable_and_replaceable() -> None:
    ev = Evidence("Observation", "bp-1", value=78.0, unit="mm[Hg]", what="sbp")
    fact = Fact("hypotension", Status.PRESENT, (ev,))
    for obj, name in ((ev, "value"), (fact, "status")):
        with pytest.raises(FrozenInstanceError):
            setattr(obj, name, None)
        with pytest.raises(FrozenInstanceError):
            delattr(obj, name)
    assert fact == Fact(
        "hypotension",
        Status.PRESENT,
        (Evidence("Observation", "bp-1", value=78.0, unit="mm[Hg]", what="sbp"),),
    )
    assert hash(fact) == hash(Fact("hypotension", Status.PRESENT, (ev,)))
    assert replace(ev, note="n").note == "n"
    assert replace(fact, status=Status.ABSENT) == Fact("hypotension", Status.ABSENT, (ev,))
    assert (fact.missing, fact.shown, ev.reason) == ((), (), None)
    assert repr(fact).startswith("Fact(name='hypotension', status=")


def test_patient_facts_default_to_nothing_recorded_with_a_scope_of_their_own() -> None:
    absent = Fact("x", Status.ABSENT)
    required = {
        f.name: absent for f in fields(PatientFacts) if f.default is MISSING and f.default_factory is MISSING
    }
    first, second = PatientFacts(**required), PatientFacts(**required)
    assert first.scope == Scope()
    assert first.scope is not second.scope
    assert (first.data_quality, first.unavailable, first.draft_orders) == ((), (), ())
    assert first.recent_echo == Fact("recent_echo", Status.ABSENT)
    assert first == second
