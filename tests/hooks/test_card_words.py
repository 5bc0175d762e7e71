"""Spec 2.1, the generic text rules: numbers, times, durations and the "Why" list.

Every card of every scenario is also checked by tests/hooks/test_card_text.py; these
tests pin each rule on its own, with its boundary.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from fhir_mappings.facts import Evidence, Status
from fhir_mappings.numbers import fmt
from hooks.cards import why
from hooks.guideline import guideline
from hooks.model import Check, Role, RuleResult
from hooks.phrases import phrase
from hooks.text import ago, duration
from tests.hooks.factories import CREAT, NOW, ev
from tests.hooks.factories import ago as before

G = guideline()


# --- numbers ---------------------------------------------------------------------------


def test_computed_map_is_rounded_to_a_whole_mmhg() -> None:
    computed = ev(
        "Observation/bp-1", value=188 / 3, unit="mm[Hg]", time=before(hours=1), what="map", status="computed"
    )
    assert phrase(computed, G, NOW) == "MAP 63 mmHg (computed from the BP panel), 1 h ago"


def test_a_half_mmhg_rounds_up_as_people_round() -> None:
    assert fmt(62.5, "mm[Hg]") == "63"  # Python's round() would say 62


@pytest.mark.parametrize(
    ("value", "unit", "written"),
    [
        (120 / 9.008, "mmol/L", "13.3"),  # lactate converted from mg/dL
        (4.2, "mmol/L", "4.2"),
        (2.0, "mmol/L", "2"),
        (1.234, "mg/dL", "1.23"),
        (176.8, "umol/L", "177"),
        (85.0, "10*3/uL", "85"),
        (-0.2, "mm[Hg]", "0"),
        (0.35, None, "0.35"),
        (1 / 3, None, "0.333"),
    ],
)
def test_a_number_is_written_to_the_precision_of_its_unit(
    value: float, unit: str | None, written: str
) -> None:
    assert fmt(value, unit) == written


def test_a_recorded_value_keeps_its_decimals() -> None:
    assert phrase(CREAT, G, NOW) == "Creatinine 2.6 mg/dL, 6 h ago"


# --- times and durations ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("days", "said"),
    [
        (2, "2 days ago"),
        (30, "30 days ago"),
        (29.8, "30 days ago"),
        (30.2, "December 2025"),  # older than 30 days: a month and year
        (1410, "March 2022"),
    ],
)
def test_older_than_30_days_is_a_month_and_year(days: float, said: str) -> None:
    assert ago(NOW - timedelta(days=days), NOW) == said


@pytest.mark.parametrize(
    ("since", "said"),
    [
        (timedelta(minutes=40), "for 40 min"),
        (timedelta(hours=5), "for 5 h"),
        (timedelta(days=3), "for 3 days"),
        (timedelta(days=45), "since December 2025"),
        (-timedelta(hours=1), ""),
    ],
)
def test_durations_read_for_n_or_since_a_month(since: timedelta, said: str) -> None:
    assert duration(NOW - since, NOW) == said


def test_a_running_infusion_says_for_how_long() -> None:
    drip = ev("MedicationAdministration/ma-1", time=before(hours=4), what="norepinephrine", status="running")
    assert phrase(drip, G, NOW) == "Norepinephrine infusion running for 4 h"


def test_support_running_says_for_how_long_and_an_open_insertion_when() -> None:
    running = ev("Procedure/ecmo-1", time=before(days=2), what="ecmo-circulatory", status="in-progress")
    inserted = ev("Procedure/iabp-1", time=before(days=5), what="iabp", status="inserted-open")
    assert phrase(running, G, NOW) == "VA-ECMO running for 2 days"
    assert phrase(inserted, G, NOW) == "IABP inserted 5 days ago, no removal recorded"


# --- the "Why" list --------------------------------------------------------------------


def _sbp(value: float, hours: float) -> Evidence:
    return ev("Observation/bp", value=value, unit="mm[Hg]", time=before(hours=hours), what="sbp")


def _result(*checks: Check) -> RuleResult:
    return RuleResult("mechanical-support", fired=True, indicator="critical", checks=checks)


def test_why_lists_only_criteria_that_were_met() -> None:
    normal = Check("hypotension", False, Status.ABSENT, evidence=(_sbp(118, 1),), role=Role.CONTEXT)
    failing = Check("multi_organ_failure", True, Status.PRESENT, evidence=(CREAT,), role=Role.CONTEXT)
    lines = why(_result(normal, failing), G, NOW)
    assert lines == ["Creatinine 2.6 mg/dL, 6 h ago"]


def test_why_says_the_deciding_criteria_before_the_context() -> None:
    context = Check("multi_organ_failure", True, Status.PRESENT, evidence=(CREAT,), role=Role.CONTEXT)
    deciding = Check("hypotension", True, Status.PRESENT, evidence=(_sbp(78, 1),))
    assert why(_result(context, deciding), G, NOW) == [
        "SBP 78 mmHg, 1 h ago",
        "Creatinine 2.6 mg/dL, 6 h ago",
    ]


def test_why_lists_at_most_five_and_never_and_n_more() -> None:
    many = [
        Check(
            "cardiogenic_shock",
            True,
            Status.PRESENT,
            evidence=(ev(f"Condition/c-{i}", display=f"Finding {i}", what=None),),
        )
        for i in range(8)
    ]
    lines = why(_result(*many), G, NOW)
    assert lines == [f"Finding {i}" for i in range(5)]
    assert not any("more" in line for line in lines)
