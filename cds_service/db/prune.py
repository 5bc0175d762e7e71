"""Retention: ``mr-cds feedback-prune --older-than DAYS`` keeps the tables from growing forever.

Issued-card records go by their issue time and feedback by the time the service received it
(a client's outcomeTimestamp may be wrong, the server's clock is ours). Feedback keeps its
recommendation id, so pruning issued cards does not make the remaining feedback anonymous.
Expired JWT replay ids go too, whatever their age.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, delete

from cds_service.db.engine import writer
from cds_service.db.tables import feedback, issued_cards, jwt_replay


@dataclass(frozen=True)
class PruneResult:
    issued_cards: int
    feedback: int
    jwt_replay: int


def prune(engine: Engine, *, before: datetime, now: datetime) -> PruneResult:
    """Delete issued cards and feedback older than ``before``, and replay ids expired at ``now``."""
    with writer(engine).begin() as conn:
        cards = conn.execute(delete(issued_cards).where(issued_cards.c.issued_at < before)).rowcount
        entries = conn.execute(delete(feedback).where(feedback.c.received_at < before)).rowcount
        replay = conn.execute(delete(jwt_replay).where(jwt_replay.c.expires_at <= now)).rowcount
    return PruneResult(issued_cards=cards, feedback=entries, jwt_replay=replay)
