"""The service's handle on its database: one engine per process, schema made at start-up.

``Store.open`` runs in ``create_app``, which gunicorn runs once in its master before forking
(``preload_app``): the schema is upgraded there, never per request. A forked worker must not
reuse the master's pooled connections, so the first use in a new process drops them (without
closing what belongs to the parent) and opens its own.

Every call that touches the database runs off the event loop (``offload``). A write is
acknowledged only once it is in the database the service opened: a SQLite file removed or
replaced under the running service (SQLite would go on writing into the unlinked file), a
read-only database and a missing schema are each a 503, and ``/readyz`` says which.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

from cds_service.db import feedback as feedback_store
from cds_service.db import issued, migrate
from cds_service.db.engine import make_engine, ping, retry_once
from cds_service.db.errors import READ_ONLY, REPLACED, StoreGone, busy_means_503, unavailable_reason
from cds_service.db.issued_writer import IssuedCardWriter
from cds_service.db.offload import Overdue, run_blocking

log = logging.getLogger(__name__)

#: ``/readyz`` answers within a second whatever the database does: the probe gets this long.
READY_PROBE_S = 0.8
#: Default size of each worker's buffer of issued-card records (``MRCDS_ISSUED_BUFFER_CARDS``).
ISSUED_BUFFER_CARDS = 20_000


class Store:
    def __init__(
        self, engine: Engine, *, issued_buffer: int = ISSUED_BUFFER_CARDS, write_timeout_s: float = 10.0
    ) -> None:
        self._engine = engine
        self._pid = os.getpid()
        self._lock = threading.Lock()
        self._sqlite_path = _sqlite_path(engine)
        self._identity: tuple[int, int] | None = None
        self._write_timeout_s = write_timeout_s
        self._probing = False
        self._issued = issued.BatchConnection(engine)
        self.issued_writer: IssuedCardWriter[issued.IssuedRow] = IssuedCardWriter(
            self.write_issued, capacity=issued_buffer
        )

    @classmethod
    def open(
        cls,
        database_url: str,
        *,
        lock_timeout_s: float = 5.0,
        upgrade: bool = False,
        issued_buffer: int = ISSUED_BUFFER_CARDS,
    ) -> Store:
        engine = make_engine(database_url, lock_timeout_s=lock_timeout_s)
        if upgrade:
            try:
                migrate.upgrade(engine)
            finally:
                engine.dispose()  # nothing pooled is left to cross a fork, or to leak
        # A write may wait for the lock, then run: past both it is a 503, not a hung client.
        return cls(engine, issued_buffer=issued_buffer, write_timeout_s=2 * lock_timeout_s + 5)

    @property
    def engine(self) -> Engine:
        self._own_pool()
        return self._engine

    def _own_pool(self) -> None:
        if self._pid != os.getpid():
            with self._lock:
                if self._pid != os.getpid():
                    self._engine.dispose(close=False)
                    self._pid = os.getpid()

    # --- acknowledged means durable ---------------------------------------------------

    def pin_identity(self) -> None:
        """Remember which SQLite file this is (device and inode), at start-up."""
        if self._sqlite_path is not None:
            info = self._sqlite_path.stat()
            self._identity = (info.st_dev, info.st_ino)

    def _check_identity(self) -> None:
        """``StoreGone`` when the SQLite file opened at start-up is no longer at its path."""
        if self._sqlite_path is None or self._identity is None:
            return
        try:
            info = self._sqlite_path.stat()
        except OSError:
            raise StoreGone(REPLACED) from None
        if (info.st_dev, info.st_ino) != self._identity:
            raise StoreGone(REPLACED)

    def readiness_problem(self) -> str | None:
        """``None`` when a write would be stored now; else what is wrong, in fixed words.
        Answers within ``READY_PROBE_S`` even when the database hangs."""
        if self._probing:
            return "database check still waiting for an answer"
        self._probing = True

        def probe() -> str | None:
            try:
                return self._probe()
            finally:
                self._probing = False

        try:
            return run_blocking(probe, timeout=READY_PROBE_S)
        except Overdue:
            return f"database did not answer within {READY_PROBE_S} s"

    def _probe(self) -> str | None:
        try:
            self._check_identity()
            with self.engine.connect() as conn:
                revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
                if revision != migrate.head_revision():
                    return "database schema missing or not at this version's revision"
                if conn.dialect.name == "postgresql":
                    read_only = conn.execute(
                        text("SELECT pg_is_in_recovery() OR current_setting('transaction_read_only') = 'on'")
                    ).scalar()
                    if read_only:
                        return f"database {READ_ONLY}"
        except StoreGone as exc:
            return f"database {exc.reason}"
        except SQLAlchemyError as exc:
            return f"database {unavailable_reason(exc) or 'unavailable'}"
        if self._sqlite_path is not None and not _writable(self._sqlite_path):
            return f"database {READ_ONLY}"
        return None

    def is_reachable(self) -> bool:
        return ping(self.engine)

    # --- writes -------------------------------------------------------------------------

    def add_feedback(
        self, service_id: str, items: Sequence[Mapping[str, Any]], *, received_at: datetime
    ) -> feedback_store.StoreResult:
        def call() -> feedback_store.StoreResult:
            self._check_identity()
            # Safe to repeat: an entry already stored is counted as a duplicate.
            return retry_once(
                lambda: feedback_store.add_feedback(self.engine, service_id, items, received_at=received_at)
            )

        with busy_means_503("feedback"):
            try:
                return run_blocking(call, timeout=self._write_timeout_s)
            except Overdue:
                # The thread may still commit later; the entries are idempotent, so the
                # client's retry is then counted as duplicates, never stored twice.
                raise StoreGone("too slow") from None

    def record_issued(
        self, service_id: str, hook_instance: str, cards: Sequence[Mapping[str, Any]], *, issued_at: datetime
    ) -> int:
        """Hand the response's records to the background writer; the number handed over."""
        rows = issued.issued_rows(service_id, hook_instance, cards, issued_at)
        self.issued_writer.submit(hook_instance, rows)
        return len(rows)

    def write_issued(self, rows: Sequence[issued.IssuedRow]) -> None:
        """One batch of the background writer (runs on the database thread)."""
        self._check_identity()
        self._own_pool()
        self._issued.write(rows)

    def dispose(self) -> None:
        self._issued.release()
        self._engine.dispose()


def _sqlite_path(engine: Engine) -> Path | None:
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        return None
    return Path(database).expanduser().absolute()


def _writable(path: Path) -> bool:
    # WAL mode writes next to the file too (-wal, -shm): the folder must take new files.
    return os.access(path, os.W_OK) and os.access(path.parent, os.W_OK | os.X_OK)
