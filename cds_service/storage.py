"""Feedback store: what clinicians did with our cards, for the guideline team.

SQLAlchemy Core over SQLite (default, a file) or PostgreSQL (``MRCDS_DATABASE_URL``).
Feedback is idempotent: the same (service, card, outcome, outcomeTimestamp) is stored once,
because a client may resend it. Nothing here is logged except counts.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    create_engine,
    event,
    select,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError

metadata = MetaData()

feedback_table = Table(
    "feedback",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("service_id", String(200), nullable=False),
    Column("card_uuid", String(128), nullable=False),
    Column("outcome", String(20), nullable=False),
    Column("outcome_timestamp", String(40), nullable=False),
    Column("accepted_suggestions", Text, nullable=True),  # JSON list of suggestion ids
    Column("override_system", String(500), nullable=True),
    Column("override_code", String(200), nullable=True),
    # A clinician's comment is free text: stored for the guideline team, never logged.
    Column("user_comment", Text, nullable=True),
    Column("received_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("service_id", "card_uuid", "outcome", "outcome_timestamp", name="uq_feedback_once"),
)


@dataclass(frozen=True)
class StoreResult:
    stored: int
    duplicates: int


class FeedbackStore:
    """Writes and reads feedback rows; one engine per process."""

    def __init__(self, database_url: str) -> None:
        self.engine = _engine(database_url)
        metadata.create_all(self.engine)

    def add(
        self, service_id: str, items: Iterable[Mapping[str, Any]], *, received_at: datetime
    ) -> StoreResult:
        stored = duplicates = 0
        for item in items:
            row = _row(service_id, item, received_at)
            try:
                with self.engine.begin() as conn:
                    conn.execute(feedback_table.insert().values(**row))
                stored += 1
            except IntegrityError:
                duplicates += 1
        return StoreResult(stored, duplicates)

    def all(self, service_id: str | None = None) -> list[dict[str, Any]]:
        query = select(feedback_table).order_by(feedback_table.c.id)
        if service_id is not None:
            query = query.where(feedback_table.c.service_id == service_id)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(query)]

    def dispose(self) -> None:
        self.engine.dispose()


def _row(service_id: str, item: Mapping[str, Any], received_at: datetime) -> dict[str, Any]:
    reason = (item.get("overrideReason") or {}).get("reason") or {}
    accepted = item.get("acceptedSuggestions")
    return {
        "service_id": service_id,
        "card_uuid": item["card"],
        "outcome": item["outcome"],
        "outcome_timestamp": item["outcomeTimestamp"],
        "accepted_suggestions": json.dumps([s["id"] for s in accepted]) if accepted else None,
        "override_system": reason.get("system"),
        "override_code": reason.get("code"),
        "user_comment": (item.get("overrideReason") or {}).get("userComment"),
        "received_at": received_at.astimezone(UTC),
    }


def _engine(database_url: str) -> Engine:
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        # The default lives under the user's data directory, which may not exist yet.
        Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, pool_pre_ping=True)
    if url.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets several gunicorn workers write feedback without "database is locked".
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()
