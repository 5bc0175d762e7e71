"""POST /cds-services/{id}/feedback: validated, stored once, never logged in full."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.cds_service.storage_helpers import feedback_rows
from tests.conftest import SERVICE_URL

FEEDBACK_URL = f"{SERVICE_URL}/feedback"
CARD = "4e0a3a1e-3283-4575-ab82-028d55fe2719"


def _accepted() -> dict[str, Any]:
    return {
        "card": CARD,
        "outcome": "accepted",
        "acceptedSuggestions": [{"id": "e56e1945-20b3-4393-8503-a1a20fd73152"}],
        "outcomeTimestamp": "2026-11-20T10:05:31Z",
    }


def _sandbox_override() -> dict[str, Any]:
    # The sandbox sends the reason with code and system but no display.
    return {
        "card": CARD,
        "outcome": "overridden",
        "overrideReason": {
            "reason": {"code": "patient-declined", "system": "urn:mr-cds-hooks:CodeSystem:override-reason"},
            "userComment": "discussed with the family",
        },
        "outcomeTimestamp": "2026-11-20T10:06:00Z",
    }


def _rows(app: Flask) -> list[dict[str, Any]]:
    return feedback_rows(app.extensions["mrcds_store"].engine)


def test_accepted_feedback_is_stored(client: FlaskClient, app: Flask) -> None:
    response = client.post(FEEDBACK_URL, json={"feedback": [_accepted()]})
    assert response.status_code == 200
    assert response.get_json() == {"stored": 1, "duplicates": 0, "unknown_cards": 1}
    rows = _rows(app)
    assert [(r["card_uuid"], r["outcome"]) for r in rows] == [(CARD, "accepted")]
    assert rows[0]["accepted_suggestions"] == '["e56e1945-20b3-4393-8503-a1a20fd73152"]'


def test_sandbox_override_without_display_is_stored_with_its_reason(client: FlaskClient, app: Flask) -> None:
    assert client.post(FEEDBACK_URL, json={"feedback": [_sandbox_override()]}).status_code == 200
    (row,) = _rows(app)
    assert row["override_code"] == "patient-declined"
    assert row["user_comment"] == "discussed with the family"


def test_resent_feedback_is_stored_once(client: FlaskClient, app: Flask) -> None:
    client.post(FEEDBACK_URL, json={"feedback": [_accepted()]})
    again = client.post(FEEDBACK_URL, json={"feedback": [_accepted(), _sandbox_override()]})
    assert again.get_json() == {"stored": 1, "duplicates": 1, "unknown_cards": 2}
    assert len(_rows(app)) == 2


def test_accepted_without_accepted_suggestions_is_400(client: FlaskClient) -> None:
    item = _accepted()
    del item["acceptedSuggestions"]
    response = client.post(FEEDBACK_URL, json={"feedback": [item]})
    assert response.status_code == 400
    assert response.get_json()["issue"][0]["expression"] == ["feedback.0.acceptedSuggestions"]


@pytest.mark.parametrize("field", ["card", "outcome", "outcomeTimestamp"])
def test_feedback_missing_a_required_field_is_400(client: FlaskClient, field: str) -> None:
    item = _accepted()
    del item[field]
    response = client.post(FEEDBACK_URL, json={"feedback": [item]})
    assert response.status_code == 400
    assert response.get_json()["issue"][0]["expression"] == [f"feedback.0.{field}"]


def test_feedback_for_an_unknown_service_is_404(client: FlaskClient) -> None:
    assert client.post("/cds-services/nope/feedback", json={"feedback": [_accepted()]}).status_code == 404


def test_user_comment_is_never_logged(client: FlaskClient, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    client.post(FEEDBACK_URL, json={"feedback": [_sandbox_override()]})
    assert "family" not in caplog.text
