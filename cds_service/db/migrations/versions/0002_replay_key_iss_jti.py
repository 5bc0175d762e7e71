"""JWT replay ids keyed on (iss, jti): a jti is unique only within its issuer (RFC 7519
section 4.1.7), so one issuer's token must never block another's that reuses its jti.

Existing rows are kept (SQLite copies the table in batch mode; PostgreSQL alters the key).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-05
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("jwt_replay", recreate="auto") as batch:
        batch.drop_constraint("pk_jwt_replay", type_="primary")
        batch.create_primary_key("pk_jwt_replay", ["iss", "jti"])


def downgrade() -> None:
    with op.batch_alter_table("jwt_replay", recreate="auto") as batch:
        batch.drop_constraint("pk_jwt_replay", type_="primary")
        batch.create_primary_key("pk_jwt_replay", ["jti"])
