"""Fixtures for the storage suite: every test runs on a brand-new SQLite file and on a
brand-new database of the real PostgreSQL server started by ``.ci/run``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from cds_service.calls.demo import shift_times
from cds_service.http.app import create_app
from tests.cds_service.storage_helpers import fresh_postgres_database
from tests.conftest import SERVICE_URL

PATIENTS = Path(__file__).parents[2] / "examples" / "patients"
BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'new.sqlite3'}"
    else:
        with fresh_postgres_database() as url:
            yield url


@pytest.fixture
def store_app(database_url: str) -> Iterator[Flask]:
    app = create_app({"database_url": database_url, "warm_up": False, "database_lock_timeout_s": 0.2})
    yield app
    app.extensions["mrcds_store"].dispose()


@pytest.fixture
def store_client(store_app: Flask) -> FlaskClient:
    return store_app.test_client()


def demo_request(name: str, *, hook_instance: str) -> dict[str, Any]:
    """A demo patient's request, its times moved to now (the HTTP view uses the clock)."""
    body = json.loads((PATIENTS / name).read_text(encoding="utf-8"))
    shifted = shift_times(body, datetime.now(UTC))
    shifted["hookInstance"] = hook_instance
    return shifted


def issue_cards(client: FlaskClient, name: str, hook_instance: str) -> list[dict[str, Any]]:
    """Post the demo request, and wait for the background writer to store its cards."""
    response = client.post(SERVICE_URL, json=demo_request(name, hook_instance=hook_instance))
    assert response.status_code == 200
    cards: list[dict[str, Any]] = response.get_json()["cards"]
    assert flush_issued(client.application)
    return cards


def flush_issued(app: Flask, timeout: float = 20) -> bool:
    """Wait until the app's background writer has stored every issued card it was given."""
    return bool(app.extensions["mrcds_store"].issued_writer.flush(timeout))


def entry(card: str, outcome: str, at: str, reason: str | None = None) -> dict[str, Any]:
    item: dict[str, Any] = {"card": card, "outcome": outcome, "outcomeTimestamp": at}
    if outcome == "accepted":
        item["acceptedSuggestions"] = [{"id": "s-1"}]
    if reason is not None:
        item["overrideReason"] = {
            "reason": {"code": reason, "system": "urn:mr-cds-hooks:CodeSystem:override-reason"}
        }
    return item
