"""Alembic environment: migrations run on the connection ``cds_service.db.migrate`` hands over.

Generate a new revision from a checkout with
``alembic -c cds_service/db/alembic.ini revision -m "what changes"`` and write its
``upgrade`` by hand (the project has no autogenerate database to diff against).
"""

from __future__ import annotations

from alembic import context

from cds_service.db.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations with `mr-cds db upgrade`, which provides the connection")

context.configure(
    connection=connection,
    target_metadata=metadata,
    # SQLite cannot ALTER most things in place: batch mode copies the table instead.
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
