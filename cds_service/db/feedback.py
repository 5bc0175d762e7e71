"""Storing CDS Hooks feedback: all the entries of a request in one transaction, or none.

An entry is stored once per (card, outcome, outcomeTimestamp), however often it is resent.
An entry for a card uuid this service never issued is still stored, flagged ``unknown_card``:
the guideline team sees it in the totals, but it cannot be counted for a recommendation.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, Insert, select
from sqlalchemy.dialects import postgresql, sqlite

from cds_service.core.errors import SchemaViolation
from cds_service.db.engine import writer
from cds_service.db.tables import feedback, issued_cards


@dataclass(frozen=True)
class StoreResult:
    stored: int
    duplicates: int
    unknown_cards: int  # entries of the request whose card uuid was never issued

    def as_json(self) -> dict[str, int]:
        return {"stored": self.stored, "duplicates": self.duplicates, "unknown_cards": self.unknown_cards}


def outcome_instant(value: str, index: int) -> datetime:
    """outcomeTimestamp as aware UTC; the schema checked its shape, this checks the calendar."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise SchemaViolation(
            "outcomeTimestamp is not a valid date-time", expression=[f"feedback.{index}.outcomeTimestamp"]
        ) from None
    return parsed.astimezone(UTC)


def add_feedback(
    engine: Engine, service_id: str, items: Sequence[Mapping[str, Any]], *, received_at: datetime
) -> StoreResult:
    """Store ``items`` (already schema-valid) atomically (``Store.add_feedback`` turns a busy
    or unavailable database into ``StorageBusy``)."""
    # Every entry is checked before the transaction starts: one bad entry stores nothing.
    instants = [outcome_instant(item["outcomeTimestamp"], i) for i, item in enumerate(items)]
    with writer(engine).begin() as conn:
        issued = _issued_recommendations(conn, service_id, {item["card"] for item in items})
        stored = 0
        for item, instant in zip(items, instants, strict=True):
            row = _row(service_id, item, instant, issued.get(item["card"]), received_at)
            # RETURNING says whether the row went in; rowcount is unreliable with it.
            stored += len(conn.execute(_insert_once(conn, row).returning(feedback.c.id)).all())
    unknown = sum(1 for item in items if item["card"] not in issued)
    return StoreResult(stored=stored, duplicates=len(items) - stored, unknown_cards=unknown)


def _issued_recommendations(conn: Connection, service_id: str, cards: set[str]) -> dict[str, str]:
    query = select(issued_cards.c.card_uuid, issued_cards.c.recommendation_id).where(
        issued_cards.c.service_id == service_id, issued_cards.c.card_uuid.in_(sorted(cards))
    )
    return {card: recommendation for card, recommendation in conn.execute(query)}


def _insert_once(conn: Connection, row: Mapping[str, Any]) -> Insert:
    key = ["card_uuid", "outcome", "outcome_timestamp"]
    if conn.dialect.name == "postgresql":
        return postgresql.insert(feedback).values(**row).on_conflict_do_nothing(index_elements=key)
    return sqlite.insert(feedback).values(**row).on_conflict_do_nothing(index_elements=key)


def _row(
    service_id: str,
    item: Mapping[str, Any],
    instant: datetime,
    recommendation_id: str | None,
    received_at: datetime,
) -> dict[str, Any]:
    override = item.get("overrideReason") or {}
    reason = override.get("reason") or {}
    accepted = item.get("acceptedSuggestions")
    return {
        "service_id": service_id,
        "card_uuid": item["card"],
        "outcome": item["outcome"],
        "outcome_timestamp": instant,
        "recommendation_id": recommendation_id,
        "unknown_card": recommendation_id is None,
        "accepted_suggestions": json.dumps([s["id"] for s in accepted]) if accepted else None,
        "override_system": reason.get("system"),
        "override_code": reason.get("code"),
        "override_display": reason.get("display"),
        "user_comment": override.get("userComment"),
        "received_at": received_at,
    }
