"""Recording the cards a hook call returned: which recommendation each card uuid carried.

The background writer (``issued_writer``) stores many responses' records in one
transaction. Only identifiers are kept (card and suggestion uuids, service, recommendation,
indicator, hookInstance) and the time: no patient id, no text.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, Insert
from sqlalchemy.dialects import postgresql, sqlite

from cds_service.db.engine import writer
from cds_service.db.tables import issued_cards


def issued_rows(
    service_id: str, hook_instance: str, cards: Sequence[Mapping[str, Any]], issued_at: datetime
) -> list[dict[str, Any]]:
    """The record of each card; cards without a recommendation (``source.topic.code``) are
    not ours to count and are left out."""
    rows = []
    for card in cards:
        recommendation = ((card.get("source") or {}).get("topic") or {}).get("code")
        if not recommendation:
            continue
        rows.append(
            {
                "card_uuid": card["uuid"],
                "service_id": service_id,
                "recommendation_id": recommendation,
                "indicator": card["indicator"],
                "suggestion_uuids": json.dumps(
                    [s["uuid"] for s in card.get("suggestions", []) if "uuid" in s]
                ),
                "hook_instance": hook_instance,
                "issued_at": issued_at,
            }
        )
    return rows


def write_rows(engine: Engine, rows: Sequence[Mapping[str, Any]]) -> None:
    """Store ``rows`` in one transaction. A card uuid already stored is skipped: a retried
    batch whose first commit succeeded (its answer lost with the connection) is not an error."""
    if rows:
        with writer(engine).begin() as conn:
            conn.execute(_insert_once(conn.dialect.name), list(rows))


def _insert_once(dialect: str) -> Insert:
    if dialect == "postgresql":
        return postgresql.insert(issued_cards).on_conflict_do_nothing(index_elements=["card_uuid"])
    return sqlite.insert(issued_cards).on_conflict_do_nothing(index_elements=["card_uuid"])


def record_issued(
    engine: Engine,
    service_id: str,
    hook_instance: str,
    cards: Sequence[Mapping[str, Any]],
    *,
    issued_at: datetime,
) -> int:
    """Store one response's cards now, in one transaction; the number recorded. (The service
    hands them to its background writer instead: ``Store.record_issued``.)"""
    rows = issued_rows(service_id, hook_instance, cards, issued_at)
    write_rows(engine, rows)
    return len(rows)
