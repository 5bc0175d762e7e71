"""Every shortcut of the rules and cards against the long way (issue 18: same words, sooner).

The golden responses (``test_golden_responses.py``) check whole answers byte for byte; these
tests check each shortcut on its own, on inputs the golden charts do not reach.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from fhir_mappings.facts import Evidence
from hooks.guideline import Guideline, guideline
from hooks.phrases import _MEASURED, _NOT_PROBLEM_LINE, _phrase, phrase
from tests.hooks.factories import NOW

G = guideline()

#: Every ``what`` phrase() words on its own, labelled value sets, and ones it does not know.
_WHATS = sorted({*_MEASURED, *_NOT_PROBLEM_LINE, *G.value_set_labels, *G.trigger_value_sets})
_TYPES = ["Condition", "Observation", "Procedure", "Device", "MedicationRequest", "MedicationAdministration"]
_STATES = ["resolved", "unconfirmed", "active", "running", "computed", "not-graded", "range", "in-progress"]

evidence = st.builds(
    lambda rt, what, status, value, vtext, display, hours: Evidence(
        rt,
        "x-1",
        None,
        None,
        display,
        value,
        None,
        vtext,
        None if hours is None else NOW - timedelta(hours=hours),
        None,
        what,
        status,
    ),
    st.sampled_from(_TYPES),
    st.none() | st.sampled_from(_WHATS),
    st.none() | st.sampled_from(_STATES),
    st.none() | st.sampled_from([0.0, 1.0, 4.0, 78.0]),
    st.none() | st.sampled_from(["3-4+", ">15"]),
    st.none() | st.sampled_from(["Heart failure", "x" * 120]),
    st.none() | st.floats(0, 24 * 400),
)


@settings(max_examples=600, deadline=None)
@given(evidence)
def test_a_problem_list_line_taken_sooner_reads_as_the_long_way(ev: Evidence) -> None:
    assert _said(phrase, ev) == _said(_phrase, ev)


def _said(words: Callable[[Evidence, Guideline, datetime], str], ev: Evidence) -> object:
    """The words, or the error both ways must raise alike (a grade outside 0-4+)."""
    try:
        return words(ev, G, NOW)
    except KeyError as exc:
        return ("KeyError", str(exc))


def test_every_condition_branch_the_shortcut_takes_is_the_long_ways_condition_branch() -> None:
    # Each labelled condition, in every state, timed and not: the shortcut is exercised.
    when = datetime(2026, 1, 10, 8, 0, tzinfo=UTC)
    taken = 0
    for what in G.value_set_labels:
        for status in (None, "active", "resolved", "unconfirmed"):
            for time in (None, when):
                ev = Evidence("Condition", "c-1", None, None, "d", None, None, None, time, None, what, status)
                taken += what not in _NOT_PROBLEM_LINE
                assert phrase(ev, G, NOW) == _phrase(ev, G, NOW), (what, status, time)
    assert taken > 0


def test_a_problem_list_wording_is_kept_per_label_and_is_the_template_filled() -> None:
    for label in ("Heart failure", "Mitral regurgitation", "{odd}"):
        expected = G.texts["on_problem_list"].format(label=label)
        assert G.on_problem_list(label) == expected
        assert G.on_problem_list(label) == expected  # from the memo


def test_the_guidelines_kept_label_tables_are_the_data_files() -> None:
    assert G.presentation_words == {**G.instability_labels, **G.presentation_labels}
    assert G.organ_labels == {o: f"Organ dysfunction: {w}" for o, w in G.organs.items()}
