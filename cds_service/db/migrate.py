"""Versioned schema changes (Alembic), run once: by ``mr-cds db upgrade`` or at start-up in
the gunicorn master, never per request.

Concurrent upgrades (two replicas starting together) are serialized: PostgreSQL by an
advisory lock held for the migration's transaction, SQLite by an exclusive lock on a file
next to the database.
"""

from __future__ import annotations

import fcntl
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from importlib import resources
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, text

from cds_service.core.errors import ConfigurationError

log = logging.getLogger(__name__)

# Any constant: the key of the PostgreSQL advisory lock that serializes upgrades.
_PG_LOCK_KEY = 0x6D72_6364_7300


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(resources.files("cds_service.db") / "migrations"))
    return config


@cache
def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(_config())


@cache
def head_revision() -> str:
    head = _scripts().get_current_head()
    assert head is not None
    return head


def known_revisions() -> frozenset[str]:
    return frozenset(script.revision for script in _scripts().walk_revisions())


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine) -> tuple[str | None, str]:
    """Bring the schema to the newest revision; (revision before, revision after)."""
    with _exclusive(engine):
        before = current_revision(engine)
        if before == head_revision():
            return before, before
        if before is not None and before not in known_revisions():
            raise ConfigurationError(
                f"the database schema is at revision {before}, which this version does not know "
                "(a newer version upgraded it): run that version, or restore a backup"
            )
        with engine.begin() as conn:
            _advisory_lock(conn)
            if conn.dialect.name == "postgresql":
                # A migration may rewrite a large table: no per-statement limit for it.
                conn.execute(text("SET LOCAL statement_timeout = 0"))
            config = _config()
            config.attributes["connection"] = conn
            command.upgrade(config, "head")
    log.info("database schema upgraded from %s to %s", before or "empty", head_revision())
    return before, head_revision()


def _advisory_lock(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})


@contextmanager
def _exclusive(engine: Engine) -> Iterator[None]:
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        yield
        return
    lock_path = Path(database).expanduser().with_name(Path(database).name + ".migrate-lock")
    with lock_path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
