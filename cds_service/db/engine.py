"""Engines from ``MRCDS_DATABASE_URL``: checked at start-up, tuned per backend.

SQLite (the embedded default) runs in WAL mode so readers never block the writer; writers
wait ``busy_timeout`` for each other. PostgreSQL statements wait ``lock_timeout`` for a lock
and run at most ``statement_timeout`` (the lock wait plus 5 s); connecting gives up after
``connect_timeout`` (3 s, unless the URL says otherwise), TCP keepalives find a server that
vanished, and a request waits at most the lock timeout for a pooled connection. Past any of
these the store answers 503 (``StorageBusy``), never a half-done write. All of these waits
happen on the worker's database thread (``offload``), never on a gevent worker's event
loop.

No ``pool_pre_ping``: it costs a round trip per checkout. A connection found dead is
discarded, and the call that found it is retried once where that is safe (``retry_once``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, SQLAlchemyError

from cds_service.core.errors import ConfigurationError

log = logging.getLogger(__name__)

URL_VARIABLE = "MRCDS_DATABASE_URL"
# Execution option marking a transaction that will write (SQLite then locks at BEGIN).
WRITE_OPTION = "mrcds_write"
#: libpq connection parameters the service sets unless the URL gives its own.
PG_CONNECT_DEFAULTS = {
    "connect_timeout": "3",
    "keepalives": "1",
    "keepalives_idle": "10",
    "keepalives_interval": "5",
    "keepalives_count": "3",
}
#: A statement may run this much longer than its lock wait before PostgreSQL cancels it.
STATEMENT_MARGIN_S = 5.0

T = TypeVar("T")


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
            connect_args = {k: v for k, v in PG_CONNECT_DEFAULTS.items() if k not in url.query}
            engine = create_engine(url, connect_args=connect_args, pool_timeout=lock_timeout_s)
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
    so a busy database is detected before anything is written. An engine already made by
    ``writer`` is returned as it is (making one costs a new engine object)."""
    if engine.get_execution_options().get(WRITE_OPTION):
        return engine
    return engine.execution_options(**{WRITE_OPTION: True})


def retry_once(call: Callable[[], T]) -> T:
    """``call()``, again once if it failed on a pooled connection that turned out dead (the
    server restarted since): only for calls that are safe to repeat."""
    try:
        return call()
    except DBAPIError as exc:
        if not exc.connection_invalidated:
            raise
    return call()


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
    statement_ms = lock_ms + round(STATEMENT_MARGIN_S * 1000)

    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute(f"SET lock_timeout = {lock_ms}")
        cursor.execute(f"SET statement_timeout = {statement_ms}")
        cursor.close()
        dbapi_connection.commit()

    return _on_connect
