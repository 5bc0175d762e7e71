"""Recording the cards a hook call returned: which recommendation each card uuid carried.

One small transaction per response. Only identifiers are kept (card and suggestion uuids,
service, recommendation, indicator, hookInstance) and the time: no patient id, no text.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from cds_service.db.engine import writer
from cds_service.db.errors import busy_means_503
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


def record_issued(
    engine: Engine,
    service_id: str,
    hook_instance: str,
    cards: Sequence[Mapping[str, Any]],
    *,
    issued_at: datetime,
) -> int:
    """Store the response's cards in one transaction; the number recorded."""
    rows = issued_rows(service_id, hook_instance, cards, issued_at)
    if rows:
        with busy_means_503("issued-card"), writer(engine).begin() as conn:
            conn.execute(issued_cards.insert(), rows)
    return len(rows)
