"""Issued-card records stored through the fixed statement are stored exactly as SQLAlchemy's
``INSERT ... ON CONFLICT DO NOTHING`` stores them, on SQLite and PostgreSQL alike, and a
retried or overlapping batch still stores each card once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import Engine, text

from cds_service.db import issued
from cds_service.db.engine import WRITE_OPTION, writer
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
    issued.write_rows(writer(store.engine), _batch("fast"))
    issued.write_rows_compiled(store.engine, _batch("long"))
    fast, long = _stored(store.engine, "fast"), _stored(store.engine, "long")
    assert len(fast) == 9
    assert fast == long
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
    store.engine.dispose()  # as a forked worker does with its parent's connections
    assert made.pool is store.engine.pool
    store.write_issued(_call("pool", 2, AT))
    assert len(_stored(store.engine, "pool")) == 2
