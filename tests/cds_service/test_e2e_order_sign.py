"""End to end: the order-sign service under `mr-cds serve` (gunicorn), over a real socket:
discovery lists it, a vasodilator draft in hypotension gets its critical card, and the
feedback on that card is attributed to the service and its recommendation."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from sqlalchemy import create_engine

from cds_service.calls.schemas import validate_response
from tests.cds_service.order_requests import (
    NITROPRUSSIDE,
    ORDER_SIGN_URL,
    draft,
    hypotensive,
    order_request,
    severe_mr,
)
from tests.cds_service.storage_helpers import feedback_rows, issued_rows
from tests.serving import Served, serve

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    tmp = tmp_path_factory.mktemp("serve-orders")
    database = tmp / "feedback.sqlite3"
    with serve(tmp, {"MRCDS_DATABASE_URL": f"sqlite:///{database}"}, workers=1) as served:
        yield served


def _post(server: Served, path: str, body: Any) -> requests.Response:
    return requests.post(
        f"{server.base}{path}",
        data=json.dumps(body),
        headers={"Content-Type": "application/json"},
        timeout=10,
    )


def test_discovery_over_http_lists_the_order_sign_service(server: Served) -> None:
    services = requests.get(f"{server.base}/cds-services", timeout=10).json()["services"]
    assert ("severe-mr-order-sign", "order-sign") in {(s["id"], s["hook"]) for s in services}


def test_vasodilator_draft_in_hypotension_over_http_gets_the_critical_card_and_its_feedback_is_attributed(
    server: Served,
) -> None:
    body = order_request([*severe_mr(), *hypotensive(78)], [draft("d-1", NITROPRUSSIDE)], name="e2e-order")
    response = _post(server, ORDER_SIGN_URL, body)
    assert response.status_code == 200
    validate_response(response.json())
    (card,) = response.json()["cards"]
    assert card["summary"].startswith("SBP 78: nitroprusside drafted")
    assert card["suggestions"][0]["actions"][0] == {
        "type": "delete",
        "description": "Delete the draft order",
        "resourceId": "MedicationRequest/d-1",
    }
    database = server.log_path.parent / "feedback.sqlite3"
    engine = create_engine(f"sqlite:///{database}")
    try:
        # The server stores issued cards in the background, within a moment (a clinician's
        # click comes later): wait for this one before giving feedback on it.
        give_up = time.monotonic() + 20
        while card["uuid"] not in {r["card_uuid"] for r in issued_rows(engine)}:
            assert time.monotonic() < give_up, "the issued card was never stored"
            time.sleep(0.05)
        feedback = {"card": card["uuid"], "outcome": "overridden", "outcomeTimestamp": "2026-11-20T10:05:31Z"}
        answer = _post(server, f"{ORDER_SIGN_URL}/feedback", {"feedback": [feedback]})
        assert answer.status_code == 200
        assert answer.json()["stored"] == 1
        rows = [r for r in feedback_rows(engine) if r["card_uuid"] == card["uuid"]]
    finally:
        engine.dispose()
    assert [(r["service_id"], r["recommendation_id"]) for r in rows] == [
        ("severe-mr-order-sign", "draft-vasodilator-in-hypotension")
    ]
