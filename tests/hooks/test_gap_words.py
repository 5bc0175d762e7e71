"""What could not be assessed reaches a card in clinical words only (spec 2.1, issue 15 item 12).

``fhir_mappings`` gives a gap as data (source, reason, parameters); ``hooks`` words it.
Server words (timeouts, OperationOutcome codes, allowlists, prefetch) stay in the trail.
A plain string (a fact module not yet giving a ``Gap``) is still shown as written.
"""

from __future__ import annotations

import json
from typing import Any

import hooks
from fhir_mappings.facts import PatientFacts
from fhir_mappings.gaps import Gap, Reason
from hooks.gaps import as_json, grouped, said, trail
from hooks.guideline import guideline
from tests.hooks.factories import NOW, SHOCK, medications, present, severe, unknown

G = guideline()
TIMEOUT = Gap.of("medication-requests", Reason.NOT_OBTAINED, detail="the FHIR server did not answer in time")


def _card(f: PatientFacts, rec_id: str) -> dict[str, Any]:
    cards = hooks.evaluate(f, now=NOW, ids=lambda: "00000000-0000-4000-8000-000000000000")
    return next(c for c in cards if c["source"]["topic"]["code"] == rec_id)


def test_a_source_that_could_not_be_read_is_said_clinically() -> None:
    assert said(TIMEOUT, G) == "medication list could not be read"


def test_each_reason_has_its_words() -> None:
    assert said(Gap.of("vital-signs", Reason.NOT_SENT), G) == "vital signs not available"
    assert (
        said(Gap.of("labs", Reason.PARTIAL, detail="page cap"), G) == "laboratory results may be incomplete"
    )


def test_an_unknown_source_or_reason_is_still_said_in_plain_words() -> None:
    assert said(Gap("code-status", "no-such-reason"), G) == "code status could not be assessed"


def test_gaps_sharing_a_reason_are_said_once() -> None:
    gaps = [
        Gap.of(k, Reason.NOT_OBTAINED, detail="timeout")
        for k in ("procedures", "devices", "device-use-statements")
    ]
    assert grouped(gaps, G) == "procedures, devices and device records could not be read"


def test_a_gap_within_an_organ_names_the_organ() -> None:
    gap = Gap.of("labs", Reason.NOT_OBTAINED).within("renal")
    assert grouped([gap, "hepatic: no total bilirubin in the last 48 h"], G) == (
        "renal: laboratory results could not be read, hepatic: no total bilirubin in the last 48 h"
    )


def test_a_plain_string_is_shown_as_written_during_the_transition() -> None:
    assert grouped(["no lactate in the last 24 h"], G) == "no lactate in the last 24 h"
    assert trail("no lactate in the last 24 h", G) == "no lactate in the last 24 h"


def test_the_card_says_the_medication_list_could_not_be_read_without_server_words() -> None:
    f = severe(medications=medications(missing=(TIMEOUT,)))
    detail = str(_card(f, "medical-therapy")["detail"])
    assert "medication list could not be read" in detail
    assert "server" not in detail
    assert "answer in time" not in detail


def test_a_criterion_of_any_of_keeps_its_gap_structured() -> None:
    vitals = Gap.of("vital-signs", Reason.NOT_OBTAINED, detail="timeout")
    f = severe(
        hypotension=unknown("hypotension", vitals), cardiogenic_shock=present("cardiogenic_shock", SHOCK)
    )
    result = next(r for r in hooks.explain(f) if r.rule_id == "mechanical-support")
    (check,) = [c for c in result.checks if c.fact == "hemodynamic_instability"]
    assert check.missing == (vitals.within("hypotension"),)


def test_explain_keeps_the_technical_detail() -> None:
    procedures = Gap.of("procedures", Reason.NOT_OBTAINED, detail="timeout")
    f = severe(
        mechanical_support=unknown("mechanical_support", procedures),
        cardiogenic_shock=present("cardiogenic_shock", SHOCK),
    )
    text = hooks.explanation_text(hooks.explain(f), now=NOW)
    assert "could not be assessed: procedures could not be read (timeout)" in text
    data = json.dumps(hooks.explanation_json(hooks.explain(f)))
    assert '"source": "procedures", "reason": "not-obtained", "parameters": {"detail": "timeout"}' in data
    card = _card(f, "mechanical-support")
    assert "Support: procedures could not be read" in str(card["detail"])
    assert "timeout" not in str(card["detail"])


def test_a_gap_as_json_is_data() -> None:
    assert as_json(TIMEOUT.within("medications")) == {
        "source": "medication-requests",
        "reason": "not-obtained",
        "parameters": {"detail": "the FHIR server did not answer in time"},
        "part": "medications",
    }
