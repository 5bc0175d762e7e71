"""200 concurrent feedback posts against `mr-cds serve --workers 2` on a brand-new database:
every one answered 200 and stored exactly once, on SQLite and on PostgreSQL. The cards a
served hook call returns are recorded once gunicorn has sent them, and feedback posted the
moment the answer arrives is still attributed to its card in the report.

One served instance per backend for the whole module (starting one costs seconds); each
test looks only at its own cards."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests

from cds_service.db.engine import make_engine
from cds_service.db.report import feedback_report
from tests.cds_service.conftest import demo_request, entry
from tests.cds_service.storage_helpers import feedback_rows, fresh_postgres_database, issued_rows
from tests.conftest import SERVICE_URL
from tests.serving import Served, serve

pytestmark = pytest.mark.e2e

POSTS = 200
CLIENT_THREADS = 32


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def new_database(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'brand-new.sqlite3'}"
    else:
        with fresh_postgres_database() as url:
            yield url


@pytest.fixture(scope="module")
def server(new_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    tmp = tmp_path_factory.mktemp("served")
    with serve(tmp, {"MRCDS_DATABASE_URL": new_database, "MRCDS_WARM_UP": "false"}, workers=2) as served:
        yield served


def _rows(database: str, cards: set[str], *, issued: bool = False) -> list[dict[str, Any]]:
    """This test's rows: those of ``cards``."""
    engine = make_engine(database)
    try:
        rows = issued_rows(engine) if issued else feedback_rows(engine)
    finally:
        engine.dispose()
    return [r for r in rows if r["card_uuid"] in cards]


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
    cards = {f"card-{i:03d}" for i in range(POSTS)}
    assert sorted(r["card_uuid"] for r in _rows(new_database, cards)) == sorted(cards)
    assert "Traceback" not in server.log()


def test_the_same_entry_posted_by_many_clients_at_once_is_stored_once(
    server: Served, new_database: str
) -> None:
    body = {"feedback": [entry("contested-card", "overridden", "2026-11-20T10:00:00Z")]}
    answers = _post_all(server, [body] * 40)
    assert [r.status_code for r in answers] == [200] * 40
    assert sum(r.json()["stored"] for r in answers) == 1
    assert len(_rows(new_database, {"contested-card"})) == 1


def test_served_cards_are_recorded_after_the_answer_and_feedback_finds_them(
    server: Served, new_database: str
) -> None:
    body = demo_request("02-cardiogenic-shock.json", hook_instance="served-hook")
    answer = requests.post(f"{server.base}{SERVICE_URL}", json=body, timeout=30)
    assert answer.status_code == 200
    cards = answer.json()["cards"]
    uuids = {c["uuid"] for c in cards}
    # Written when gunicorn closes the response, just after sending it.
    give_up = time.monotonic() + 20
    while len(_rows(new_database, uuids, issued=True)) < len(cards) and time.monotonic() < give_up:
        time.sleep(0.05)
    recorded = {r["card_uuid"]: r["recommendation_id"] for r in _rows(new_database, uuids, issued=True)}
    assert recorded == {c["uuid"]: c["source"]["topic"]["code"] for c in cards}
    items = [entry(c["uuid"], "overridden", "2026-11-20T10:00:00Z", "patient-declined") for c in cards]
    answer = _post(server, {"feedback": items})
    assert answer.json() == {"stored": len(cards), "duplicates": 0, "unknown_cards": 0}


def test_feedback_posted_right_after_each_hook_response_is_all_attributed(
    server: Served, new_database: str
) -> None:
    engine = make_engine(new_database)
    try:
        before = feedback_report(engine)
        accepted: set[str] = set()
        with requests.Session() as ehr:  # one keep-alive connection, as an EHR would hold
            for i in range(20):
                body = demo_request("02-cardiogenic-shock.json", hook_instance=f"attribution-{i:02d}")
                answer = ehr.post(f"{server.base}{SERVICE_URL}", json=body, timeout=30)
                assert answer.status_code == 200
                card = answer.json()["cards"][0]
                # At once, before the service may have recorded the card it just sent.
                item = entry(card["uuid"], "accepted", "2026-11-20T10:00:00Z")
                posted = ehr.post(
                    f"{server.base}{SERVICE_URL}/feedback", json={"feedback": [item]}, timeout=30
                )
                assert posted.status_code == 200
                accepted.add(card["uuid"])
        # The report is made later, once the issued-card records have been written.
        give_up = time.monotonic() + 20
        while len(_rows(new_database, accepted, issued=True)) < 20 and time.monotonic() < give_up:
            time.sleep(0.05)
        after = feedback_report(engine)
    finally:
        engine.dispose()
    assert after.total_feedback == before.total_feedback + 20
    assert after.unattributed_feedback == before.unattributed_feedback  # all 20 attributed
    gained = sum(r.accepted for r in after.recommendations) - sum(r.accepted for r in before.recommendations)
    assert gained == 20
