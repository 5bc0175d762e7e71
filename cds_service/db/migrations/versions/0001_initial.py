"""Initial schema: issued cards, feedback with its recommendation, JWT replay ids.

A database created before migrations existed holds only a ``feedback`` table (no
``alembic_version``); its rows are carried over, flagged ``unknown_card`` because no issued
card was recorded then.

Revision ID: 0001
Revises:
Create Date: 2026-12-01
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

from cds_service.db.tables import UtcDateTime

revision = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

_LEGACY = "feedback_before_migrations"


def upgrade() -> None:
    bind = op.get_bind()
    legacy = "feedback" in sa.inspect(bind).get_table_names()
    if legacy:
        op.rename_table("feedback", _LEGACY)
    op.create_table(
        "issued_cards",
        sa.Column("card_uuid", sa.String(128), nullable=False),
        sa.Column("service_id", sa.String(200), nullable=False),
        sa.Column("recommendation_id", sa.String(200), nullable=False),
        sa.Column("indicator", sa.String(20), nullable=False),
        sa.Column("suggestion_uuids", sa.Text(), nullable=False),
        sa.Column("hook_instance", sa.String(128), nullable=False),
        sa.Column("issued_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("card_uuid", name="pk_issued_cards"),
    )
    op.create_index("ix_issued_cards_issued_at", "issued_cards", ["issued_at"])
    feedback = op.create_table(
        "feedback",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("service_id", sa.String(200), nullable=False),
        sa.Column("card_uuid", sa.String(128), nullable=False),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("outcome_timestamp", UtcDateTime(), nullable=False),
        sa.Column("recommendation_id", sa.String(200), nullable=True),
        sa.Column("unknown_card", sa.Boolean(), nullable=False),
        sa.Column("accepted_suggestions", sa.Text(), nullable=True),
        sa.Column("override_system", sa.String(500), nullable=True),
        sa.Column("override_code", sa.String(200), nullable=True),
        sa.Column("override_display", sa.String(500), nullable=True),
        sa.Column("user_comment", sa.Text(), nullable=True),
        sa.Column("received_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_feedback"),
        sa.UniqueConstraint("card_uuid", "outcome", "outcome_timestamp", name="uq_feedback_entry"),
    )
    op.create_index("ix_feedback_outcome_timestamp", "feedback", ["outcome_timestamp"])
    op.create_index("ix_feedback_received_at", "feedback", ["received_at"])
    op.create_table(
        "jwt_replay",
        sa.Column("jti", sa.String(255), nullable=False),
        sa.Column("iss", sa.String(255), nullable=False),
        sa.Column("expires_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("jti", name="pk_jwt_replay"),
    )
    op.create_index("ix_jwt_replay_expires_at", "jwt_replay", ["expires_at"])
    if legacy:
        _carry_over(bind, feedback)
        op.drop_table(_LEGACY)


def _carry_over(bind: sa.Connection, feedback: sa.Table | None) -> None:
    assert feedback is not None
    old = sa.Table(_LEGACY, sa.MetaData(), autoload_with=bind)
    seen: set[tuple[str, str, datetime]] = set()
    rows: list[dict[str, Any]] = []
    for row in bind.execute(sa.select(old).order_by(old.c.id)).mappings():
        when = datetime.fromisoformat(row["outcome_timestamp"]).astimezone(UTC)
        key = (row["card_uuid"], row["outcome"], when)
        if key in seen:
            continue
        seen.add(key)
        received = row["received_at"]
        rows.append(
            {
                "service_id": row["service_id"],
                "card_uuid": row["card_uuid"],
                "outcome": row["outcome"],
                "outcome_timestamp": when,
                "recommendation_id": None,
                "unknown_card": True,
                "accepted_suggestions": row["accepted_suggestions"],
                "override_system": row["override_system"],
                "override_code": row["override_code"],
                "override_display": None,
                "user_comment": row["user_comment"],
                "received_at": received.replace(tzinfo=UTC) if received.tzinfo is None else received,
            }
        )
    if rows:
        bind.execute(feedback.insert(), rows)


def downgrade() -> None:
    op.drop_table("jwt_replay")
    op.drop_table("feedback")
    op.drop_table("issued_cards")
