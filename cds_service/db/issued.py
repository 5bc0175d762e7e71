"""Recording the cards a hook call returned: which recommendation each card uuid carried.

The background writer (``issued_writer``) stores many responses' records in one
transaction. Only identifiers are kept (card and suggestion uuids, service, recommendation,
indicator, hookInstance) and the time: no patient id, no text.

A record is an ``IssuedRow``, a tuple in the table's column order. The writer's batches go
to the driver's ``executemany`` as plain tuples through one fixed statement, on a connection
kept between batches (``BatchConnection``; issue 18: building, caching and binding a
SQLAlchemy ``Insert``, and checking a connection in and out of the pool, cost more per batch
than the insert itself). The values are bound exactly as the table's column types bind them
(``issued_at`` through ``UtcDateTime``), so what is stored is what the SQLAlchemy statement
stores; ``write_rows_compiled`` is that long way, kept for drivers whose parameter style the
fixed statement does not speak and for the tests that compare the two.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Connection, Dialect, Engine, Insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import PoolProxiedConnection

from cds_service.db.engine import writer
from cds_service.db.tables import issued_cards


class IssuedRow(NamedTuple):
    """One issued card's record, in the column order of ``issued_cards``."""

    card_uuid: str
    service_id: str
    recommendation_id: str
    indicator: str
    suggestion_uuids: str  # a JSON list ("[]" when the card has none)
    hook_instance: str
    issued_at: datetime


def issued_rows(
    service_id: str, hook_instance: str, cards: Sequence[Mapping[str, Any]], issued_at: datetime
) -> list[IssuedRow]:
    """The record of each card; cards without a recommendation (``source.topic.code``) are
    not ours to count and are left out."""
    rows = []
    for card in cards:
        recommendation = ((card.get("source") or {}).get("topic") or {}).get("code")
        if not recommendation:
            continue
        suggestions = card.get("suggestions")
        rows.append(
            IssuedRow(
                card["uuid"],
                service_id,
                recommendation,
                card["indicator"],
                json.dumps([s["uuid"] for s in suggestions if "uuid" in s]) if suggestions else "[]",
                hook_instance,
                issued_at,
            )
        )
    return rows


def write_rows(engine: Engine, rows: Sequence[IssuedRow]) -> None:
    """Store ``rows`` in one transaction. A card uuid already stored is skipped: a retried
    batch whose first commit succeeded (its answer lost with the connection) is not an error.
    Give it ``writer(engine)``, made once: a plain engine is wrapped on each call."""
    if not rows:
        return
    statement = _statement(engine.dialect)
    with writer(engine).begin() as conn:
        if statement is None:
            _execute_compiled(conn, rows)
        else:
            conn.exec_driver_sql(statement.sql, statement.bound(rows))


class BatchConnection:
    """Where the background writer stores its batches: one pooled connection, kept between
    batches, written through the driver directly (issue 18: checking a connection out of
    the pool, beginning, committing and returning it through SQLAlchemy cost more than the
    insert itself in a served worker).

    A batch is one transaction on that connection (SQLite's ``BEGIN IMMEDIATE``, as
    ``engine.writer`` begins one), committed or rolled back before ``write`` returns. A
    driver error is raised as SQLAlchemy raises it (``DBAPIError``, with
    ``connection_invalidated`` when the connection was found dead), and the connection goes
    back to the pool, which rolls back what the batch began (or discards the connection if
    it cannot), invalidated if dead: the next batch takes a fresh one. A connection
    taken in another process (before a fork) is never used, closed or returned here.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._held: tuple[int, PoolProxiedConnection] | None = None

    def write(self, rows: Sequence[IssuedRow]) -> None:
        """Store ``rows`` in one transaction, as ``write_rows`` does."""
        if not rows:
            return
        dialect = self._engine.dialect
        statement = _statement(dialect)
        if statement is None:
            write_rows(writer(self._engine), rows)
            return
        params = statement.bound(rows)
        held, self._held = self._held, None  # two calls at once each get their own
        if held is not None and held[0] != os.getpid():
            _FROM_ANOTHER_PROCESS.append(held[1])
            held = None
        if held is None:
            held = (os.getpid(), self._engine.raw_connection())
        connection = held[1]
        try:
            _write_batch(dialect, connection, statement.sql, params)
        except BaseException:
            connection.close()
            raise
        if self._held is None:
            self._held = held
        else:
            connection.close()

    def release(self) -> None:
        """Give the kept connection back to the pool (before the engine is disposed)."""
        held, self._held = self._held, None
        if held is not None and held[0] == os.getpid():
            held[1].close()


#: Connections a parent process had taken: closing or returning one would reset the parent's
#: session from the child, and letting it be collected would too.
_FROM_ANOTHER_PROCESS: list[PoolProxiedConnection] = []


def _write_batch(dialect: Dialect, connection: PoolProxiedConnection, sql: str, params: list[Any]) -> None:
    dbapi_connection: Any = connection.driver_connection
    sqlite_begin = dialect.name == "sqlite"
    cursor = None
    try:
        cursor = dbapi_connection.cursor()
        if sqlite_begin:
            cursor.execute("BEGIN IMMEDIATE")  # as engine.writer begins: busy before writing
        cursor.executemany(sql, params)
        if sqlite_begin:
            cursor.execute("COMMIT")
        else:
            dbapi_connection.commit()
        cursor.close()
    except dialect.loaded_dbapi.Error as exc:
        dead = dialect.is_disconnect(exc, dbapi_connection, cursor)
        if dead:
            connection.invalidate(exc)  # closed now: the pool opens a fresh one when asked
        raise DBAPIError.instance(
            sql,
            None,
            exc,
            dialect.loaded_dbapi.Error,
            hide_parameters=True,
            connection_invalidated=dead,
            dialect=dialect,
            ismulti=True,
        ) from exc


def write_rows_compiled(engine: Engine, rows: Sequence[IssuedRow]) -> None:
    """``write_rows`` the long way: SQLAlchemy's ``INSERT ... ON CONFLICT DO NOTHING``."""
    if rows:
        with writer(engine).begin() as conn:
            _execute_compiled(conn, rows)


def _execute_compiled(conn: Connection, rows: Sequence[IssuedRow]) -> None:
    conn.execute(_insert_once(conn.dialect.name), [row._asdict() for row in rows])


def _insert_once(dialect: str) -> Insert:
    if dialect == "postgresql":
        return postgresql.insert(issued_cards).on_conflict_do_nothing(index_elements=["card_uuid"])
    return sqlite.insert(issued_cards).on_conflict_do_nothing(index_elements=["card_uuid"])


class _Statement(NamedTuple):
    sql: str
    #: ``issued_at`` as the column type binds it (``UtcDateTime``, then the dialect's own).
    bind_issued_at: Callable[[Any], Any]

    def bound(self, rows: Sequence[IssuedRow]) -> list[tuple[Any, ...]]:
        """The driver's parameters: the records of one call share their time, so it is
        bound once per call, not once per card."""
        bind = self.bind_issued_at
        params = []
        last: datetime | None = None
        value: Any = None
        for row in rows:
            at = row[6]
            if at is not last:
                last = at
                value = bind(at)
            params.append((*row[:6], value))
        return params


_COLUMNS = tuple(column.name for column in issued_cards.columns)
assert IssuedRow._fields == _COLUMNS, "IssuedRow must follow the columns of issued_cards"
#: The driver's placeholder by DB-API parameter style; another style takes the long way.
_PLACEHOLDERS = {"qmark": "?", "format": "%s", "pyformat": "%s"}
_statements: dict[tuple[str, str, str], _Statement | None] = {}


def _statement(dialect: Dialect) -> _Statement | None:
    key = (dialect.name, dialect.driver, dialect.paramstyle)
    if key not in _statements:
        placeholder = _PLACEHOLDERS.get(dialect.paramstyle)
        if placeholder is None or dialect.name not in ("sqlite", "postgresql"):
            _statements[key] = None
        else:
            # The same ON CONFLICT clause as _insert_once, valid on both backends. Only the
            # table's own names and the placeholder go into the text: no value ever does.
            sql = (
                f"INSERT INTO {issued_cards.name} ({', '.join(_COLUMNS)}) "  # noqa: S608
                f"VALUES ({', '.join([placeholder] * len(_COLUMNS))}) ON CONFLICT (card_uuid) DO NOTHING"
            )
            processor = issued_cards.c.issued_at.type.bind_processor(dialect)
            _statements[key] = _Statement(sql, processor if processor is not None else _same)
    return _statements[key]


def _same(value: Any) -> Any:
    return value


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
