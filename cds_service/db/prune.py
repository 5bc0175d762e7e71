"""Retention: ``mr-cds feedback-prune --older-than DAYS`` keeps the tables from growing forever.

Issued-card records go by their issue time and feedback by the time the service received it
(a client's outcomeTimestamp may be wrong, the server's clock is ours). Feedback keeps its
recommendation id, so pruning issued cards does not make the remaining feedback anonymous.
Expired JWT replay ids go too, whatever their age.

Rows go in batches of ``BATCH_ROWS``, one short transaction each: the running service's
writes (feedback, replay claims, issued cards) wait for one batch at most, never for the
whole prune (a million rows in one transaction held SQLite's write lock for seconds).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Engine, Table, delete, select, tuple_

from cds_service.db.engine import writer
from cds_service.db.tables import feedback, issued_cards, jwt_replay

BATCH_ROWS = 2000


@dataclass(frozen=True)
class PruneResult:
    issued_cards: int
    feedback: int
    jwt_replay: int


def prune(engine: Engine, *, before: datetime, now: datetime) -> PruneResult:
    """Delete issued cards and feedback older than ``before``, and replay ids expired at ``now``."""
    return PruneResult(
        issued_cards=_delete_in_batches(engine, issued_cards, issued_cards.c.issued_at < before),
        feedback=_delete_in_batches(engine, feedback, feedback.c.received_at < before),
        jwt_replay=_delete_in_batches(engine, jwt_replay, jwt_replay.c.expires_at <= now),
    )


def _delete_in_batches(engine: Engine, table: Table, condition: ColumnElement[bool]) -> int:
    key: Any = tuple_(*table.primary_key.columns)
    deleted = 0
    while True:
        with writer(engine).begin() as conn:
            batch = select(*table.primary_key.columns).where(condition).limit(BATCH_ROWS)
            count = conn.execute(delete(table).where(key.in_(batch))).rowcount
        deleted += count
        if count < BATCH_ROWS:
            return deleted
