"""Engines from ``MRCDS_DATABASE_URL``: checked at start-up, tuned per backend.

SQLite (the embedded default) runs in WAL mode so readers never block the writer; writers
wait ``busy_timeout`` for each other. PostgreSQL statements wait ``lock_timeout`` for a lock.
Past either wait the store answers 503 (``StorageBusy``), never a half-done write.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

from cds_service.errors import ConfigurationError

log = logging.getLogger(__name__)

URL_VARIABLE = "MRCDS_DATABASE_URL"
# Execution option marking a transaction that will write (SQLite then locks at BEGIN).
WRITE_OPTION = "mrcds_write"


def parse_url(database_url: str) -> URL:
    """The URL, or ``ConfigurationError`` naming the variable (never echoing a password)."""
    try:
        url = make_url(database_url)
    except (ArgumentError, ValueError):
        raise ConfigurationError(f"{URL_VARIABLE}: not a database URL (dialect+driver://...)") from None
    if url.get_backend_name() not in ("sqlite", "postgresql"):
        raise ConfigurationError(
            f"{URL_VARIABLE}: backend {url.get_backend_name()!r} is not supported (sqlite or postgresql)"
        )
    return url


def make_engine(database_url: str, *, lock_timeout_s: float = 5.0) -> Engine:
    """An engine for ``database_url``; fails fast when the URL or its driver cannot be used."""
    url = parse_url(database_url)
    backend = url.get_backend_name()
    try:
        if backend == "sqlite":
            engine = _sqlite_engine(url, lock_timeout_s)
        else:
            engine = create_engine(url, pool_pre_ping=True)
            event.listen(engine, "connect", _postgres_session(lock_timeout_s))
    except (NoSuchModuleError, ImportError) as exc:
        name = getattr(exc, "name", None) or url.get_driver_name()
        hint = " (pip install 'mr-cds-hooks[postgres]')" if backend == "postgresql" else ""
        raise ConfigurationError(f"{URL_VARIABLE}: database driver {name!r} is not installed{hint}") from None
    except ArgumentError as exc:
        raise ConfigurationError(f"{URL_VARIABLE}: {type(exc).__name__} in the URL's options") from None
    return engine


def writer(engine: Engine) -> Engine:
    """``engine`` for write transactions: on SQLite they take the write lock when they begin,
    so a busy database is detected before anything is written."""
    return engine.execution_options(**{WRITE_OPTION: True})


def ping(engine: Engine) -> bool:
    """True when the database answers a trivial query (for readiness probes)."""
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        log.warning("database unreachable: %s", type(exc).__name__)
        return False
    return True


def _sqlite_engine(url: URL, lock_timeout_s: float) -> Engine:
    if url.database and url.database != ":memory:":
        # The default lives under the user's data directory, which may not exist yet.
        Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url)
    busy_ms = max(1, round(lock_timeout_s * 1000))

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        # busy_timeout first: switching to WAL needs a lock and must wait for it, not fail.
        cursor.execute(f"PRAGMA busy_timeout={busy_ms}")
        cursor.execute("PRAGMA journal_mode=WAL")
        # In WAL mode NORMAL never corrupts the file; a power cut may lose the last commits.
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    # pysqlite starts transactions lazily and never before DDL or SELECT; starting them
    # ourselves makes a transaction what it says (SQLAlchemy's documented recipe), and
    # IMMEDIATE takes the write lock up front so two writers wait instead of deadlocking.
    @event.listens_for(engine, "connect")
    def _no_implicit_transactions(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        writing = conn.get_execution_options().get(WRITE_OPTION, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if writing else "BEGIN")

    return engine


def _postgres_session(lock_timeout_s: float) -> Any:
    lock_ms = max(1, round(lock_timeout_s * 1000))

    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute(f"SET lock_timeout = {lock_ms}")
        cursor.close()
        dbapi_connection.commit()

    return _on_connect
