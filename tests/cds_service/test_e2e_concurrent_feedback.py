"""200 concurrent feedback posts against `mr-cds serve --workers 2` on a brand-new database:
every one answered 200 and stored exactly once, on SQLite and on PostgreSQL. And the cards a
served hook call returns are recorded once gunicorn has sent them."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests

from cds_service.db.engine import make_engine
from tests.cds_service.conftest import demo_request, entry
from tests.cds_service.storage_helpers import feedback_rows, fresh_postgres_database, issued_rows
from tests.conftest import SERVICE_URL
from tests.serving import Served, serve

pytestmark = pytest.mark.e2e

POSTS = 200
CLIENT_THREADS = 32


@pytest.fixture(params=["sqlite", "postgresql"])
def new_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'brand-new.sqlite3'}"
    else:
        with fresh_postgres_database() as url:
            yield url


@pytest.fixture
def server(new_database: str, tmp_path: Path) -> Iterator[Served]:
    with serve(tmp_path, {"MRCDS_DATABASE_URL": new_database, "MRCDS_WARM_UP": "false"}, workers=2) as served:
        yield served


def _post(server: Served, body: dict[str, Any]) -> requests.Response:
    return requests.post(
        f"{server.base}{SERVICE_URL}/feedback",
        data=json.dumps(body),
        headers={"Content-Type": "application/json"},
        timeout=60,
    )


def _post_all(server: Served, bodies: list[dict[str, Any]]) -> list[requests.Response]:
    with ThreadPoolExecutor(max_workers=CLIENT_THREADS) as pool:
        return list(pool.map(lambda body: _post(server, body), bodies))


def test_concurrent_posts_on_a_new_database_are_all_stored_once(server: Served, new_database: str) -> None:
    bodies = [
        {"feedback": [entry(f"card-{i:03d}", "overridden", "2026-11-20T10:00:00Z", "patient-declined")]}
        for i in range(POSTS)
    ]
    first = _post_all(server, bodies)
    assert [r.status_code for r in first] == [200] * POSTS, server.log()[-2000:]
    assert sum(r.json()["stored"] for r in first) == POSTS
    # Sent again, concurrently: every one is a duplicate and nothing is stored twice.
    again = _post_all(server, bodies)
    assert [r.status_code for r in again] == [200] * POSTS
    assert [r.json()["duplicates"] for r in again] == [1] * POSTS
    engine = make_engine(new_database)
    try:
        rows = feedback_rows(engine)
    finally:
        engine.dispose()
    assert sorted(r["card_uuid"] for r in rows) == [f"card-{i:03d}" for i in range(POSTS)]
    assert "Traceback" not in server.log()


def test_the_same_entry_posted_by_many_clients_at_once_is_stored_once(
    server: Served, new_database: str
) -> None:
    body = {"feedback": [entry("contested-card", "overridden", "2026-11-20T10:00:00Z")]}
    answers = _post_all(server, [body] * 40)
    assert [r.status_code for r in answers] == [200] * 40
    assert sum(r.json()["stored"] for r in answers) == 1
    engine = make_engine(new_database)
    try:
        assert len(feedback_rows(engine)) == 1
    finally:
        engine.dispose()


def test_served_cards_are_recorded_after_the_answer_and_feedback_finds_them(
    server: Served, new_database: str
) -> None:
    body = demo_request("02-cardiogenic-shock.json", hook_instance="served-hook")
    answer = requests.post(f"{server.base}{SERVICE_URL}", json=body, timeout=30)
    assert answer.status_code == 200
    cards = answer.json()["cards"]
    engine = make_engine(new_database)
    try:
        # Written when gunicorn closes the response, just after sending it.
        give_up = time.monotonic() + 20
        while len(issued_rows(engine)) < len(cards) and time.monotonic() < give_up:
            time.sleep(0.05)
        recorded = {r["card_uuid"]: r["recommendation_id"] for r in issued_rows(engine)}
    finally:
        engine.dispose()
    assert recorded == {c["uuid"]: c["source"]["topic"]["code"] for c in cards}
    items = [entry(c["uuid"], "overridden", "2026-11-20T10:00:00Z", "patient-declined") for c in cards]
    answer = _post(server, {"feedback": items})
    assert answer.json() == {"stored": len(cards), "duplicates": 0, "unknown_cards": 0}
