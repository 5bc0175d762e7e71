"""Reading the store back in tests, and the databases the storage suite runs against."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, select, text
from sqlalchemy.engine import make_url

from cds_service.db.tables import feedback, issued_cards

POSTGRES_VARIABLE = "MRCDS_TEST_POSTGRES_URL"


def feedback_rows(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(feedback).order_by(feedback.c.id))]


def issued_rows(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [
            dict(r._mapping) for r in conn.execute(select(issued_cards).order_by(issued_cards.c.issued_at))
        ]


def postgres_server_url() -> str:
    """The throwaway server's URL; skipped without one, except in CI, where that is a failure."""
    url = os.environ.get(POSTGRES_VARIABLE)
    if not url:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"{POSTGRES_VARIABLE} is unset under CI: .ci/run must start PostgreSQL")
        pytest.skip(f"{POSTGRES_VARIABLE} is unset (set by .ci/run; see README 'Feedback storage')")
    return url


@contextmanager
def fresh_postgres_database() -> Iterator[str]:
    """A brand-new, empty database on the test server, dropped afterwards."""
    server = make_url(postgres_server_url())
    name = f"mrcds_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield server.set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()
