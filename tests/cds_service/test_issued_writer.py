"""The issued-card writer gathers the records of calls that come one at a time into one
transaction, and never lets that gathering hold up a full batch, a flush or a stop."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence

import pytest

from cds_service.db import issued_writer
from cds_service.db.issued_writer import IssuedCardWriter

#: What these tests write: the writer never looks inside a record.
Row = dict[str, str]
#: Longer than any test runs: a record written before it ends was not waiting for it.
FOREVER_S = 3600.0


class Batches:
    """A ``write`` that keeps each batch it is given, in order."""

    def __init__(self) -> None:
        self.batches: list[list[Row]] = []
        self.written = threading.Event()

    def __call__(self, rows: Sequence[Row]) -> None:
        self.batches.append(list(rows))
        self.written.set()


def _rows(hook: str, count: int) -> list[Row]:
    return [{"card_uuid": f"{hook}-card-{i}", "hook_instance": hook} for i in range(count)]


@pytest.fixture
def batches() -> Batches:
    return Batches()


@pytest.fixture
def gathering_forever(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(issued_writer, "GATHER_S", FOREVER_S)


@pytest.fixture
def writer(batches: Batches) -> Iterator[IssuedCardWriter[Row]]:
    made = IssuedCardWriter(batches, capacity=100)
    yield made
    made.close(5)


@pytest.mark.usefixtures("gathering_forever")
def test_calls_arriving_one_at_a_time_share_one_transaction(
    writer: IssuedCardWriter[Row], batches: Batches
) -> None:
    writer.submit("hook-1", _rows("hook-1", 2))
    time.sleep(0.2)  # the writer has woken for the first records (and now gathers)
    writer.submit("hook-2", _rows("hook-2", 3))
    writer.submit("hook-3", _rows("hook-3", 1))
    assert batches.batches == []  # still gathering
    assert writer.flush(10)
    assert batches.batches == [_rows("hook-1", 2) + _rows("hook-2", 3) + _rows("hook-3", 1)]


@pytest.mark.usefixtures("gathering_forever")
def test_a_flush_writes_at_once_without_waiting_for_more_records(
    writer: IssuedCardWriter[Row], batches: Batches
) -> None:
    writer.submit("hook-1", _rows("hook-1", 2))
    assert writer.flush(10)
    assert batches.batches == [_rows("hook-1", 2)]
    assert writer.pending() == 0


@pytest.mark.usefixtures("gathering_forever")
def test_a_stopping_writer_writes_its_buffer_without_gathering(batches: Batches) -> None:
    writer = IssuedCardWriter(batches, capacity=100)
    writer.submit("hook-1", _rows("hook-1", 3))
    assert writer.close(10) == 0  # none dropped
    assert batches.batches == [_rows("hook-1", 3)]


@pytest.mark.usefixtures("gathering_forever")
def test_a_full_batch_is_written_without_waiting_for_the_gathering_to_end(
    monkeypatch: pytest.MonkeyPatch, writer: IssuedCardWriter[Row], batches: Batches
) -> None:
    monkeypatch.setattr(issued_writer, "BATCH_ROWS", 4)
    writer.submit("hook-1", _rows("hook-1", 2))
    time.sleep(0.2)  # the writer has woken for the first records (and now gathers)
    writer.submit("hook-2", _rows("hook-2", 2))
    assert batches.written.wait(10)  # no flush asked
    assert batches.batches == [_rows("hook-1", 2) + _rows("hook-2", 2)]


def test_records_are_written_after_the_gathering_without_a_flush(
    writer: IssuedCardWriter[Row], batches: Batches
) -> None:
    writer.submit("hook-1", _rows("hook-1", 1))
    assert batches.written.wait(10)
    assert batches.batches == [_rows("hook-1", 1)]
