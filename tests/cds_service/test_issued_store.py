"""Issued-card records stored through the fixed statement are stored exactly as SQLAlchemy's
``INSERT ... ON CONFLICT DO NOTHING`` stores them, on SQLite and PostgreSQL alike, and a
retried or overlapping batch still stores each card once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import QueuePool

from cds_service.db import issued
from cds_service.db.engine import WRITE_OPTION, writer
from cds_service.db.errors import unavailable_reason
from cds_service.db.issued import IssuedRow
from cds_service.db.store import Store
from cds_service.db.tables import issued_cards

AT = datetime(2026, 11, 20, 10, 5, 31, 123456, tzinfo=UTC)


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    made = Store.open(database_url, upgrade=True)
    yield made
    made.dispose()


def _call(hook: str, count: int, at: datetime, *, suggestions: int = 0) -> list[IssuedRow]:
    cards = [
        {
            "uuid": f"{hook}-card-{i}",
            "indicator": ("info", "warning", "critical")[i % 3],
            "source": {"topic": {"code": f"rec-{i}"}},
            "suggestions": [{"uuid": f"{hook}-s-{i}-{j}"} for j in range(suggestions)]
            + [{"label": "no uuid"}],
        }
        for i in range(count)
    ]
    return issued.issued_rows("mr-service", hook, cards, at)


def _batch(prefix: str) -> list[IssuedRow]:
    """Several calls' records, as the writer gathers them: each call's records share one
    datetime object; two calls share a time written as different objects, one in another zone."""
    same_instant = datetime(2026, 11, 20, 12, 5, 31, 123456, tzinfo=timezone(timedelta(hours=2)))
    return (
        _call(f"{prefix}-a", 3, AT, suggestions=2)
        + _call(f"{prefix}-b", 1, AT + timedelta(microseconds=1))
        + _call(f"{prefix}-c", 2, same_instant, suggestions=1)
        + _call(f"{prefix}-d", 2, AT.replace())
        + _call(f"{prefix}-e", 1, AT - timedelta(days=400))
    )


def _stored(engine: Engine, prefix: str) -> list[tuple[Any, ...]]:
    """What the database holds for the cards of ``prefix``, as the database's own text."""
    columns = ", ".join(f"CAST({c.name} AS TEXT)" for c in issued_cards.columns)
    with engine.connect() as conn:
        rows = conn.execute(
            text(f"SELECT {columns} FROM issued_cards WHERE card_uuid LIKE :like ORDER BY card_uuid"),
            {"like": f"{prefix}-%"},
        ).all()
    return [tuple(v.replace(f"{prefix}-", "") for v in row) for row in rows]


def test_the_fixed_statement_stores_what_the_sqlalchemy_insert_stores(store: Store) -> None:
    store.write_issued(_batch("fast"))  # the writer's kept connection
    issued.write_rows(writer(store.engine), _batch("rows"))
    issued.write_rows_compiled(store.engine, _batch("long"))
    fast, long = _stored(store.engine, "fast"), _stored(store.engine, "long")
    assert len(fast) == 9
    assert fast == long == _stored(store.engine, "rows")
    # The zone and the microseconds were kept: a call's time is not taken from another call.
    times = {row[0]: row[6] for row in fast}
    assert times["b-card-0"] != times["a-card-0"] == times["d-card-0"] == times["c-card-0"]
    assert times["e-card-0"] != times["a-card-0"]


def test_a_retried_batch_is_skipped_and_an_overlapping_one_stores_only_what_is_new(store: Store) -> None:
    first = _batch("retry")
    store.write_issued(first)
    store.write_issued(first)  # a commit whose answer was lost with the connection
    later = _call("retry-f", 2, AT)
    store.write_issued(first[3:6] + later + first[:2])
    stored = _stored(store.engine, "retry")
    assert [row[0] for row in stored] == sorted(
        row.card_uuid.replace("retry-", "", 1) for row in first + later
    )
    issued.write_rows_compiled(store.engine, _batch("check"))
    assert stored[: len(first)] == _stored(store.engine, "check")


def test_a_record_already_stored_keeps_its_first_values(store: Store) -> None:
    store.write_issued(_call("keep", 1, AT))
    store.write_issued([_call("keep", 1, AT + timedelta(days=1))[0]._replace(indicator="critical")])
    [(_, _, _, indicator, _, _, at)] = _stored(store.engine, "keep")
    assert indicator == "info"
    assert at == _stored_time(store, AT)


def _stored_time(store: Store, at: datetime) -> Any:
    issued.write_rows_compiled(store.engine, _call("time", 1, at))
    return _stored(store.engine, "time")[0][6]


def test_a_driver_with_another_parameter_style_takes_the_long_way(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(issued, "_PLACEHOLDERS", {})
    monkeypatch.setattr(issued, "_statements", {})
    store.write_issued(_batch("other"))
    store.write_issued(_batch("other"))
    issued.write_rows_compiled(store.engine, _batch("long"))
    assert _stored(store.engine, "other") == _stored(store.engine, "long")


def test_a_naive_time_is_refused_on_the_fixed_statement_too(store: Store) -> None:
    with pytest.raises(Exception, match="naive datetime"):
        store.write_issued(_call("naive", 1, AT.replace(tzinfo=None)))
    assert _stored(store.engine, "naive") == []


def test_issued_rows_follow_the_table_columns() -> None:
    assert IssuedRow._fields == tuple(c.name for c in issued_cards.columns)
    [row] = _call("cols", 1, AT, suggestions=2)
    assert row.suggestion_uuids == '["cols-s-0-0", "cols-s-0-1"]'
    card = {"uuid": "u", "indicator": "info", "source": {"topic": {"code": "r"}}}
    [bare] = issued.issued_rows("s", "h", [card], AT)
    assert bare == IssuedRow("u", "s", "r", "info", "[]", "h", AT)


def test_a_write_engine_is_made_once_and_shares_the_engines_pool(store: Store) -> None:
    made = writer(store.engine)
    assert made.get_execution_options()[WRITE_OPTION]
    assert writer(made) is made
    store.engine.dispose()
    assert made.pool is store.engine.pool
    issued.write_rows(made, _call("pool", 2, AT))
    assert len(_stored(store.engine, "pool")) == 2


# --- the writer's connection, kept between batches ----------------------------------------


@pytest.fixture
def batches(database_url: str) -> Iterator[tuple[Store, issued.BatchConnection]]:
    made = Store.open(database_url, upgrade=True, lock_timeout_s=0.2)
    connection = issued.BatchConnection(made.engine)
    yield made, connection
    connection.release()
    made.dispose()


def _reason(exc: pytest.ExceptionInfo[BaseException]) -> str | None:
    return unavailable_reason(exc.value)


def test_batches_share_one_connection_and_give_it_back_when_released(
    batches: tuple[Store, issued.BatchConnection],
) -> None:
    store, connection = batches
    pool = store.engine.pool
    assert isinstance(pool, QueuePool)
    connection.write(_call("one", 2, AT))
    connection.write(_call("two", 3, AT))
    assert pool.checkedout() == 1
    issued.write_rows_compiled(store.engine, _call("long", 3, AT))  # the pool still serves others
    assert pool.checkedout() == 1
    connection.write([])
    held = connection._held
    assert held is not None
    connection.release()
    assert not held[1].is_valid  # given back, not merely dropped
    assert pool.checkedout() == 0
    assert len(_stored(store.engine, "one")) == 2
    assert len(_stored(store.engine, "two")) == 3


def test_a_batch_that_fails_midway_stores_none_of_its_records_and_the_next_one_is_stored(
    batches: tuple[Store, issued.BatchConnection],
) -> None:
    store, connection = batches
    good = _call("mid", 3, AT)
    broken = [*good[:2], good[2]._replace(indicator=None)]  # type: ignore[arg-type]  # NOT NULL
    with pytest.raises(DBAPIError) as failed:
        connection.write(broken)
    assert not failed.value.connection_invalidated
    assert _reason(failed) is None  # a bug, not "busy": the store says so
    assert _stored(store.engine, "mid") == []
    connection.write(good)
    assert len(_stored(store.engine, "mid")) == 3


def test_a_locked_database_is_busy_and_the_batch_is_stored_once_the_lock_is_gone(
    batches: tuple[Store, issued.BatchConnection],
) -> None:
    store, connection = batches
    rows = _call("locked", 2, AT)
    holder = writer(store.engine).connect()
    holder.begin()  # SQLite: BEGIN IMMEDIATE, the write lock
    if store.engine.dialect.name == "postgresql":
        holder.exec_driver_sql("LOCK TABLE issued_cards IN EXCLUSIVE MODE")
    try:
        with pytest.raises(DBAPIError) as busy:
            connection.write(rows)
        assert _reason(busy) == "busy"
    finally:
        holder.rollback()
        holder.close()
    connection.write(rows)
    connection.write(rows)  # the retry of a batch whose commit answer was lost
    assert len(_stored(store.engine, "locked")) == 2


def test_a_connection_found_dead_is_invalidated_and_the_next_batch_takes_a_fresh_one(
    batches: tuple[Store, issued.BatchConnection], caplog: pytest.LogCaptureFixture
) -> None:
    store, connection = batches
    connection.write(_call("alive", 1, AT))
    held = connection._held
    assert held is not None
    _kill(store.engine, held[1])
    with pytest.raises(DBAPIError) as dead:
        connection.write(_call("dead", 2, AT))
    assert dead.value.connection_invalidated
    assert _reason(dead) == "unreachable"
    # Invalidated before it went back: the pool did not have to find out by failing to reset it.
    assert not [r for r in caplog.records if r.name.startswith("sqlalchemy.pool")]
    connection.write(_call("dead", 2, AT))
    assert len(_stored(store.engine, "dead")) == 2


def _kill(engine: Engine, connection: Any) -> None:
    """The held connection's session ends behind its back, as when the server restarts."""
    if engine.dialect.name == "sqlite":
        connection.driver_connection.close()
        return
    backend = connection.driver_connection.info.backend_pid
    with engine.connect() as admin:
        admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": backend})


def test_a_connection_taken_before_a_fork_is_left_alone_in_the_child(
    batches: tuple[Store, issued.BatchConnection], monkeypatch: pytest.MonkeyPatch
) -> None:
    store, connection = batches
    connection.write(_call("parent", 1, AT))
    held = connection._held
    assert held is not None
    parent_connection = held[1]
    monkeypatch.setattr(issued.os, "getpid", lambda: held[0] + 1)  # as in a forked worker
    try:
        connection.write(_call("child", 2, AT))
        child = connection._held
        assert child is not None
        assert child[1] is not parent_connection
        assert parent_connection in issued._FROM_ANOTHER_PROCESS
        assert parent_connection.is_valid  # neither closed nor returned by the child
        connection.release()
    finally:
        monkeypatch.undo()
        issued._FROM_ANOTHER_PROCESS.remove(parent_connection)
        parent_connection.close()
    assert len(_stored(store.engine, "child")) == 2
