"""Shared fixtures: an app per test with its own SQLite file, and request builders."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from cds_service.app import create_app
from cds_service.db.store import Store

SERVICE_ID = "severe-mitral-regurgitation"
SERVICE_URL = f"/cds-services/{SERVICE_ID}"
DATA = Path(__file__).parent / "cds_service" / "data"


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file at the newest schema revision, migrated once per test session: each app
    gets a copy, so only the migration tests pay for migrating (fsync makes it slow here)."""
    path = tmp_path_factory.mktemp("template") / "migrated.sqlite3"
    Store.open(f"sqlite:///{path}", upgrade=True).dispose()
    return path


@pytest.fixture
def make_app(tmp_path: Path, migrated_sqlite: Path) -> Callable[..., Flask]:
    def factory(**config: Any) -> Flask:
        if "database_url" not in config:
            database = tmp_path / "feedback.sqlite3"
            if not database.exists():
                shutil.copyfile(migrated_sqlite, database)
            config["database_url"] = f"sqlite:///{database}"
        return create_app(config)

    return factory


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Flask:
    return make_app()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def load_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def hook_request(prefetch: dict[str, Any] | None = None, **overrides: Any) -> dict[str, Any]:
    """A minimal valid patient-view request for our service."""
    body: dict[str, Any] = {
        "hook": "patient-view",
        "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
        "context": {"userId": "Practitioner/example", "patientId": "pat-1"},
    }
    if prefetch is not None:
        body["prefetch"] = prefetch
    body.update(overrides)
    return body


def all_keys_null() -> dict[str, Any]:
    """Every prefetch key searched and empty."""
    from fhir_mappings.requirements import prefetch_keys

    return {k.key: None for k in prefetch_keys()}
