"""The jti replay store on each database backend: one claim wins, even at the same instant."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from cds_service.auth.replay import ReplayStore
from cds_service.db.store import Store


@pytest.fixture
def replay(database_url: str) -> Iterator[ReplayStore]:
    store = Store.open(database_url, upgrade=True)
    yield ReplayStore(lambda: store.engine)
    store.dispose()


def _expiry() -> datetime:
    return datetime.now(UTC) + timedelta(minutes=5)


def test_a_jti_is_claimed_once_per_issuer(replay: ReplayStore) -> None:
    assert replay.claim("jti-1", "https://ehr.example.org", _expiry())
    assert not replay.claim("jti-1", "https://ehr.example.org", _expiry())
    # Another issuer's jti is its own: one issuer cannot block another's tokens.
    assert replay.claim("jti-1", "https://other.example.org", _expiry())
    assert not replay.claim("jti-1", "https://other.example.org", _expiry())
    assert replay.claim("jti-2", "https://ehr.example.org", _expiry())


def test_simultaneous_claims_of_one_jti_have_one_winner(replay: ReplayStore) -> None:
    start = threading.Barrier(8)
    results: list[bool] = []
    lock = threading.Lock()

    def claim() -> None:
        start.wait()
        won = replay.claim("jti-race", "https://ehr.example.org", _expiry())
        with lock:
            results.append(won)

    threads = [threading.Thread(target=claim) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(results) == [False] * 7 + [True]
