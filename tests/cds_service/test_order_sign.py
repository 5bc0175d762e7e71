"""The order-safety services over HTTP (docs/clinical-rules.md, section 'Order safety'):
each rule on each side of each criterion, the delete suggestion, and what the patient-view
service already does (schema, 412, feedback, metrics) for the new hooks."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from cds_service.calls.demo import shift_times
from cds_service.calls.schemas import validate_response
from fhir_mappings.codesystems import ICD10CM
from tests.cds_service import jwt_tokens as t
from tests.cds_service import order_demos
from tests.cds_service.conftest import flush_issued
from tests.cds_service.order_requests import (
    INTRAVENOUS,
    NITROPRUSSIDE,
    ORDER_SELECT_URL,
    ORDER_SIGN_URL,
    PHENYLEPHRINE,
    PID,
    SANDBOX_LISINOPRIL,
    TOPICAL,
    comfort_order,
    draft,
    hypotensive,
    order_request,
    sandbox_draft,
    severe_mr,
)
from tests.cds_service.storage_helpers import feedback_rows
from tests.cds_service.test_operations import sample
from tests.hooks import chartkit as ck

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "orders"
CRITICAL = "draft-vasodilator-in-hypotension"
WARNING = "draft-vasoconstrictor-in-severe-mr"


def _cards(client: FlaskClient, body: dict[str, Any], url: str = ORDER_SIGN_URL) -> list[dict[str, Any]]:
    response = client.post(url, json=body)
    assert response.status_code == 200, response.get_json()
    answer = response.get_json()
    validate_response(answer)  # the delete action with resourceId included
    cards: list[dict[str, Any]] = answer["cards"]
    return cards


def _topics(cards: list[dict[str, Any]]) -> list[str]:
    return [c["source"]["topic"]["code"] for c in cards]


# --- vasodilator drafted in hypotension -------------------------------------------------


def test_nitroprusside_drafted_at_sbp_78_with_severe_mr_gets_critical_card_deleting_the_draft(
    client: FlaskClient,
) -> None:
    body = order_request([*severe_mr(), *hypotensive(78)], [draft("d-1", NITROPRUSSIDE, route=INTRAVENOUS)])
    (card,) = _cards(client, body)
    assert card["indicator"] == "critical"
    assert card["source"]["topic"]["code"] == CRITICAL
    assert card["summary"].startswith("SBP 78: nitroprusside drafted with severe MR")
    assert len(card["summary"]) < 140
    assert "Nitroprusside being ordered" in card["detail"]
    assert "SBP 78 mmHg" in card["detail"]
    (suggestion,) = card["suggestions"]
    assert suggestion["actions"] == [
        {"type": "delete", "description": "Delete the draft order", "resourceId": "MedicationRequest/d-1"}
    ]
    assert {r["code"] for r in card["overrideReasons"]} >= {"not-appropriate", "already-addressed"}


@pytest.mark.parametrize(
    "code", [ck.LISINOPRIL, ck.LOSARTAN, ck.NITROGLYCERIN], ids=["ace-inhibitor", "arb", "nitroglycerin"]
)
def test_ace_inhibitor_arb_or_iv_vasodilator_drafted_in_hypotension_with_severe_mr_is_critical(
    client: FlaskClient, code: tuple[str, str, str]
) -> None:
    (card,) = _cards(client, order_request([*severe_mr(), *hypotensive(82)], [draft("d-1", code)]))
    assert (card["indicator"], card["source"]["topic"]["code"]) == ("critical", CRITICAL)
    assert card["summary"].startswith(f"SBP 82: {code[2]} drafted")


def test_vasodilator_drafted_at_normal_pressure_gets_no_card(client: FlaskClient) -> None:
    assert (
        _cards(client, order_request([*severe_mr(), *hypotensive(118)], [draft("d-1", NITROPRUSSIDE)])) == []
    )


def test_vasodilator_drafted_at_sbp_90_gets_no_card_and_at_89_a_critical_one(client: FlaskClient) -> None:
    # Hypotension is SBP < 90 mmHg (docs/clinical-rules.md): 90 is normal, 89 is not.
    assert (
        _cards(client, order_request([*severe_mr(), *hypotensive(90)], [draft("d-1", ck.LISINOPRIL)])) == []
    )
    cards = _cards(client, order_request([*severe_mr(), *hypotensive(89)], [draft("d-1", ck.LISINOPRIL)]))
    assert _topics(cards) == [CRITICAL]


def test_vasodilator_drafted_in_hypotension_with_moderate_mr_gets_no_card(client: FlaskClient) -> None:
    chart = [*severe_mr(grade=ck.MODERATE), *hypotensive(78)]
    assert _cards(client, order_request(chart, [draft("d-1", NITROPRUSSIDE)])) == []


def test_vasodilator_drafted_in_hypotension_without_mr_gets_no_card(client: FlaskClient) -> None:
    assert _cards(client, order_request(hypotensive(78), [draft("d-1", NITROPRUSSIDE)])) == []


def test_vasodilator_drafted_without_any_blood_pressure_gets_no_card(client: FlaskClient) -> None:
    # Unknown pressure is not hypotension: no critical card claims what was not measured.
    assert _cards(client, order_request(severe_mr(), [draft("d-1", NITROPRUSSIDE)])) == []


def test_nitroglycerin_by_a_coded_topical_route_in_hypotension_gets_no_card(client: FlaskClient) -> None:
    body = order_request([*severe_mr(), *hypotensive(78)], [draft("d-1", ck.NITROGLYCERIN, route=TOPICAL)])
    assert _cards(client, body) == []


def test_furosemide_drafted_in_hypotension_with_severe_mr_gets_no_card(client: FlaskClient) -> None:
    assert (
        _cards(client, order_request([*severe_mr(), *hypotensive(78)], [draft("d-1", ck.FUROSEMIDE)])) == []
    )


def test_two_vasodilator_drafts_get_one_card_deleting_both(client: FlaskClient) -> None:
    drafts = [draft("d-1", ck.LISINOPRIL), draft("d-2", NITROPRUSSIDE), draft("d-3", ck.FUROSEMIDE)]
    (card,) = _cards(client, order_request([*severe_mr(), *hypotensive(78)], drafts))
    assert "lisinopril and nitroprusside" in card["summary"]
    assert [a["resourceId"] for a in card["suggestions"][0]["actions"]] == [
        "MedicationRequest/d-1",
        "MedicationRequest/d-2",
    ]


def test_a_cancelled_draft_is_not_checked(client: FlaskClient) -> None:
    body = order_request([*severe_mr(), *hypotensive(78)], [draft("d-1", NITROPRUSSIDE, status="cancelled")])
    assert _cards(client, body) == []


# --- pure vasoconstrictor drafted with severe MR ----------------------------------------


def test_phenylephrine_drafted_with_severe_mr_gets_a_warning(client: FlaskClient) -> None:
    (card,) = _cards(client, order_request(severe_mr(), [draft("d-1", PHENYLEPHRINE, route=INTRAVENOUS)]))
    assert (card["indicator"], card["source"]["topic"]["code"]) == ("warning", WARNING)
    assert "raises afterload and can worsen MR" in card["summary"]
    assert "suggestions" not in card


def test_phenylephrine_drafted_with_moderate_mr_gets_no_card(client: FlaskClient) -> None:
    body = order_request(severe_mr(grade=ck.MODERATE), [draft("d-1", PHENYLEPHRINE, route=INTRAVENOUS)])
    assert _cards(client, body) == []


def test_phenylephrine_by_a_coded_topical_route_gets_no_card(client: FlaskClient) -> None:
    assert _cards(client, order_request(severe_mr(), [draft("d-1", PHENYLEPHRINE, route=TOPICAL)])) == []


def test_phenylephrine_and_nitroprusside_in_hypotension_get_critical_then_warning(
    client: FlaskClient,
) -> None:
    drafts = [draft("d-1", PHENYLEPHRINE, route=INTRAVENOUS), draft("d-2", NITROPRUSSIDE)]
    cards = _cards(client, order_request([*severe_mr(), *hypotensive(78)], drafts))
    assert _topics(cards) == [CRITICAL, WARNING]
    assert [a["resourceId"] for a in cards[0]["suggestions"][0]["actions"]] == ["MedicationRequest/d-2"]


def test_norepinephrine_drafted_with_severe_mr_gets_no_card(client: FlaskClient) -> None:
    # An inotropic vasopressor is not a pure vasoconstrictor: no afterload warning.
    assert _cards(client, order_request(severe_mr(), [draft("d-1", ck.NOREPINEPHRINE)])) == []


# --- scope ------------------------------------------------------------------------------


def test_child_gets_no_order_safety_card(client: FlaskClient) -> None:
    child = ck.patient(PID, family="Demo", given="Kid", gender="unknown", birth_date="2015-01-01")
    body = order_request([*severe_mr(), *hypotensive(78)], [draft("d-1", NITROPRUSSIDE)], the_patient=child)
    assert _cards(client, body) == []


def test_deceased_patient_gets_no_order_safety_card(client: FlaskClient) -> None:
    dead = ck.patient(PID, family="Demo", given="Pat", gender="unknown", birth_date="1950-01-01")
    dead["deceasedBoolean"] = True
    body = order_request([*severe_mr(), *hypotensive(78)], [draft("d-1", NITROPRUSSIDE)], the_patient=dead)
    assert _cards(client, body) == []


def test_comfort_measures_only_gets_no_order_safety_card(client: FlaskClient) -> None:
    chart = [*severe_mr(), *hypotensive(78), comfort_order()]
    drafts = [draft("d-1", NITROPRUSSIDE), draft("d-2", PHENYLEPHRINE, route=INTRAVENOUS)]
    assert _cards(client, order_request(chart, drafts)) == []


def test_a_durable_vad_does_not_withhold_the_order_safety_card(client: FlaskClient) -> None:
    # A durable VAD takes MR decisions to the VAD team; a vasodilator in hypotension stays
    # the prescriber's to review (the MAP decides under a VAD: 55 mmHg here).
    chart = [
        *severe_mr(),
        ck.condition("vad-1", (ICD10CM, "Z95.811", "Presence of heart assist device")),
        ck.mean_bp("map-1", 55, ck.at(hours=1)),
    ]
    (card,) = _cards(client, order_request(chart, [draft("d-1", NITROPRUSSIDE)]))
    assert card["summary"].startswith("MAP 55: nitroprusside drafted")


# --- the sandbox's order-sign view ------------------------------------------------------


def test_sandbox_shaped_lisinopril_draft_in_hypotension_gets_critical_card(client: FlaskClient) -> None:
    # draftOrders exactly as the sandbox sends it: a Bundle without type, one entry.
    body = order_request([*severe_mr(), *hypotensive(78)], [sandbox_draft(SANDBOX_LISINOPRIL)])
    assert body["context"]["draftOrders"].keys() == {"resourceType", "entry"}
    (card,) = _cards(client, body)
    assert card["indicator"] == "critical"
    assert "lisinopril" in card["summary"].lower()
    assert card["suggestions"][0]["actions"][0]["resourceId"] == "MedicationRequest/request-123"


# --- order-select -----------------------------------------------------------------------


def test_order_select_checks_only_the_selected_drafts(client: FlaskClient) -> None:
    drafts = [draft("d-1", ck.LISINOPRIL), draft("d-2", NITROPRUSSIDE)]
    chart = [*severe_mr(), *hypotensive(78)]
    body = order_request(chart, drafts, hook="order-select", selections=["MedicationRequest/d-2"])
    (card,) = _cards(client, body, ORDER_SELECT_URL)
    assert [a["resourceId"] for a in card["suggestions"][0]["actions"]] == ["MedicationRequest/d-2"]
    body = order_request(chart, drafts, hook="order-select", selections=["MedicationRequest/other"])
    assert _cards(client, body, ORDER_SELECT_URL) == []


# --- the protocol, as for patient-view ---------------------------------------------------


def test_order_sign_without_draft_orders_is_400_naming_the_field(client: FlaskClient) -> None:
    body = order_request(severe_mr(), [])
    del body["context"]["draftOrders"]
    response = client.post(ORDER_SIGN_URL, json=body)
    assert response.status_code == 400
    assert response.get_json()["issue"][0]["expression"] == ["context.draftOrders"]


def test_patient_view_request_to_the_order_sign_service_is_400(client: FlaskClient) -> None:
    body = order_request(severe_mr(), [draft("d-1", NITROPRUSSIDE)])
    body["hook"] = "patient-view"
    response = client.post(ORDER_SIGN_URL, json=body)
    assert response.status_code == 400
    assert response.get_json()["issue"][0]["expression"] == ["hook"]


def test_order_sign_without_conditions_is_412(client: FlaskClient) -> None:
    body = order_request([*severe_mr(), *hypotensive(78)], [draft("d-1", NITROPRUSSIDE)])
    body["prefetch"]["conditions"] = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": "exception"}],
    }
    assert client.post(ORDER_SIGN_URL, json=body).status_code == 412


def test_an_empty_chart_still_runs_the_order_rules_and_gives_no_card(client: FlaskClient) -> None:
    # Nothing on the chart: no severe MR, so no card, but decided by the rules (not skipped).
    assert _cards(client, order_request([], [draft("d-1", NITROPRUSSIDE)])) == []


def _issued(client: FlaskClient, body: dict[str, Any]) -> list[dict[str, Any]]:
    with client.post(ORDER_SIGN_URL, json=body) as response:  # closing records the issued cards
        assert response.status_code == 200
        cards: list[dict[str, Any]] = response.get_json()["cards"]
    assert flush_issued(client.application)  # the background writer has stored them
    return cards


def test_feedback_on_an_order_sign_card_is_attributed_to_the_service_and_its_recommendation(
    client: FlaskClient, app: Flask
) -> None:
    (card,) = _issued(client, order_request([*severe_mr(), *hypotensive(78)], [draft("d-1", NITROPRUSSIDE)]))
    feedback = {
        "card": card["uuid"],
        "outcome": "accepted",
        "acceptedSuggestions": [{"id": card["suggestions"][0]["uuid"]}],
        "outcomeTimestamp": "2026-11-20T10:05:31Z",
    }
    response = client.post(f"{ORDER_SIGN_URL}/feedback", json={"feedback": [feedback]})
    assert response.get_json() == {"stored": 1, "duplicates": 0, "unknown_cards": 0}
    (row,) = feedback_rows(app.extensions["mrcds_store"].engine)
    assert (row["service_id"], row["recommendation_id"]) == ("severe-mr-order-sign", CRITICAL)
    # The same card uuid is not one of the patient-view service's cards.
    other = client.post("/cds-services/severe-mitral-regurgitation/feedback", json={"feedback": [feedback]})
    assert other.get_json()["unknown_cards"] == 1


def test_order_sign_cards_are_counted_by_recommendation(make_app: Callable[..., Flask]) -> None:
    watched = make_app(metrics="on").test_client()
    labels = {"recommendation": CRITICAL, "indicator": "critical"}
    before = sample(watched, "mrcds_cards_issued_total", **labels)
    _cards(watched, order_request([*severe_mr(), *hypotensive(78)], [draft("d-1", NITROPRUSSIDE)]))
    assert sample(watched, "mrcds_cards_issued_total", **labels) == before + 1


def test_order_sign_needs_a_client_jwt_for_its_own_url(
    make_app: Callable[..., Flask], tmp_path: Path
) -> None:
    key = t.es384_key()
    issuers = tmp_path / "issuers.json"
    issuers.write_text(json.dumps([{"iss": t.ISS, "jwks": t.jwks(key)}]))
    client = make_app(auth="jwt", trusted_issuers=str(issuers), public_base_url=t.PUBLIC_BASE).test_client()
    body = order_request([*severe_mr(), *hypotensive(78)], [draft("d-1", NITROPRUSSIDE)])

    def call(audience: str) -> Any:
        token = t.sign(key, t.claims(t.PUBLIC_BASE + audience))
        return client.post(ORDER_SIGN_URL, json=body, headers={"Authorization": f"Bearer {token}"})

    assert client.post(ORDER_SIGN_URL, json=body).status_code == 401
    assert call("/cds-services/severe-mitral-regurgitation").status_code == 401  # another service's aud
    answer = call(ORDER_SIGN_URL)
    assert answer.status_code == 200
    assert _topics(answer.get_json()["cards"]) == [CRITICAL]


@pytest.mark.parametrize(
    ("name", "topics"),
    [
        ("01-nitroprusside-at-sbp-78", [CRITICAL]),
        ("02-phenylephrine-with-severe-mr", [WARNING]),
        ("03-lisinopril-at-sbp-118", []),
    ],
)
def test_order_demo_requests_give_the_documented_cards_over_http(
    client: FlaskClient, name: str, topics: list[str]
) -> None:
    body = json.loads((EXAMPLES / f"{name}.json").read_text(encoding="utf-8"))
    assert _topics(_cards(client, shift_times(body, datetime.now(UTC)))) == topics


def test_the_sandbox_rx_sign_exchange_works_end_to_end(
    make_app: Callable[..., Flask], tmp_path: Path
) -> None:
    """What the sandbox's Rx Sign view does, in order: a CORS preflight from its origin, the
    order-sign call signed ES384 with a jku header and aud the exact URL, its draft shape,
    then "Dismiss" with an override reason that has code and system but no display."""
    key = t.es384_key("sandbox-like")
    jku = "https://sandbox.example.org/.well-known/jwks.json"
    issuers = tmp_path / "issuers.json"
    issuers.write_text(json.dumps([{"iss": t.ISS, "jku": jku, "jwks": t.jwks(key), "algorithms": ["ES384"]}]))
    app = make_app(auth="jwt", trusted_issuers=str(issuers), public_base_url=t.PUBLIC_BASE)
    client = app.test_client()
    origin = "https://sandbox.cds-hooks.org"
    preflight = client.options(
        ORDER_SIGN_URL,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert preflight.status_code < 300
    assert preflight.headers["Access-Control-Allow-Origin"] in ("*", origin)

    def headers(path: str) -> dict[str, str]:
        token = t.sign(key, t.claims(t.PUBLIC_BASE + path), jku=jku)
        return {"Authorization": f"Bearer {token}", "Origin": origin}

    body = order_request([*severe_mr(), *hypotensive(78)], [sandbox_draft(SANDBOX_LISINOPRIL)])
    with client.post(ORDER_SIGN_URL, json=body, headers=headers(ORDER_SIGN_URL)) as response:
        assert response.status_code == 200
        (card,) = response.get_json()["cards"]
    assert flush_issued(app)
    assert card["summary"].startswith("SBP 78: lisinopril drafted")
    reason_system = card["overrideReasons"][0]["system"]
    dismissed = {
        "card": card["uuid"],
        "outcome": "overridden",
        "overrideReason": {"reason": {"code": "not-appropriate", "system": reason_system}},
        "outcomeTimestamp": "2026-11-20T10:06:00Z",
    }
    feedback_url = f"{ORDER_SIGN_URL}/feedback"
    answer = client.post(feedback_url, json={"feedback": [dismissed]}, headers=headers(feedback_url))
    assert answer.get_json() == {"stored": 1, "duplicates": 0, "unknown_cards": 0}
    (row,) = feedback_rows(app.extensions["mrcds_store"].engine)
    assert (row["recommendation_id"], row["override_code"]) == (CRITICAL, "not-appropriate")


def test_the_summary_names_the_pressure_that_met_its_cut_off(client: FlaskClient) -> None:
    # SBP 95 is not low; MAP 55 at the same moment is: the card names the MAP.
    chart = [*severe_mr(), ck.sbp("bp-1", 95, ck.at(hours=1)), ck.mean_bp("map-1", 55, ck.at(hours=1))]
    (card,) = _cards(client, order_request(chart, [draft("d-1", NITROPRUSSIDE)]))
    assert card["summary"].startswith("MAP 55: nitroprusside drafted")


def test_the_order_demo_files_are_the_generated_ones() -> None:
    for path, text in order_demos.rendered().items():
        assert path.read_text(encoding="utf-8") == text, (
            f"stale: {path.name} (run python -m tests.cds_service.order_demos)"
        )
