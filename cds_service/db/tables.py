"""The tables, as SQLAlchemy Core objects. Alembic migrations (``migrations/versions``) create
and change them in a deployed database; this module is what the code reads and writes.

Nothing here holds a patient id or card text: an issued card is known by its uuid and by the
recommendation it carried, so that feedback can be counted per recommendation.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Dialect,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.types import TypeDecorator

# Stable constraint names, so that later migrations can refer to them on every backend.
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_name)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UtcDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime on every backend.

    PostgreSQL keeps the zone (timestamptz); SQLite keeps naive text, so values are turned
    into naive UTC on the way in and aware UTC on the way out. Comparisons then agree.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


issued_cards = Table(
    "issued_cards",
    metadata,
    Column("card_uuid", String(128), primary_key=True),
    Column("service_id", String(200), nullable=False),
    # source.topic.code of the card: the guideline recommendation it carried.
    Column("recommendation_id", String(200), nullable=False),
    Column("indicator", String(20), nullable=False),
    # JSON list of the card's suggestion uuids ("[]" when it has none).
    Column("suggestion_uuids", Text, nullable=False),
    Column("hook_instance", String(128), nullable=False),
    Column("issued_at", UtcDateTime(), nullable=False, index=True),
)

feedback = Table(
    "feedback",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("service_id", String(200), nullable=False),
    Column("card_uuid", String(128), nullable=False),
    Column("outcome", String(20), nullable=False),
    Column("outcome_timestamp", UtcDateTime(), nullable=False, index=True),
    # Copied from the issued card when the feedback arrives, so pruning old issued cards
    # does not make older feedback anonymous. NULL exactly when unknown_card is true.
    Column("recommendation_id", String(200), nullable=True),
    # The card uuid was never issued by this service (or its record was pruned before).
    Column("unknown_card", Boolean, nullable=False),
    Column("accepted_suggestions", Text, nullable=True),  # JSON list of suggestion uuids
    Column("override_system", String(500), nullable=True),
    Column("override_code", String(200), nullable=True),
    Column("override_display", String(500), nullable=True),
    # A clinician's comment is free text: stored for the guideline team, never logged.
    Column("user_comment", Text, nullable=True),
    Column("received_at", UtcDateTime(), nullable=False, index=True),
    # CDS Hooks clients may resend feedback: the same entry is stored once.
    UniqueConstraint("card_uuid", "outcome", "outcome_timestamp", name="uq_feedback_entry"),
)

# Seen JWT ids (``jti``, unique per issuer) until they expire, so a token cannot be replayed;
# written by the authentication code, emptied of expired rows by ``mr-cds feedback-prune``.
jwt_replay = Table(
    "jwt_replay",
    metadata,
    Column("iss", String(255), primary_key=True),
    Column("jti", String(255), primary_key=True),
    Column("expires_at", UtcDateTime(), nullable=False),
    Index("ix_jwt_replay_expires_at", "expires_at"),
)
