"""In a gevent worker, logging's locks are native: the database thread and the event loop
write to the same handlers without a gevent lock between two native threads."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from cds_service.runtime.logging_locks import use_native_locks
from tests.cds_service.gevent_scripts import run_patched


@pytest.fixture(scope="module")
def patched() -> dict[str, Any]:
    return run_patched("gevent_logging_locks.py", "2")


def test_gevent_made_the_handlers_locks_gevent_locks(patched: dict[str, Any]) -> None:
    # What the worker starts from: without use_native_locks they would be shared as is.
    assert patched["native_before"]
    assert not any(patched["native_before"])


def test_a_worker_gives_every_handler_and_the_module_a_native_lock(patched: dict[str, Any]) -> None:
    assert patched["native_after"]
    assert all(patched["native_after"])
    assert patched["module_lock_native"]


def test_both_threads_log_at_once_and_neither_is_left_waiting(patched: dict[str, Any]) -> None:
    # With gevent's locks the loop's logging greenlet was left waiting for a lock the
    # database thread had long released: it never finished (None), in 3 runs of 3.
    assert patched["database_lines"] is not None
    assert patched["database_lines"] > 0
    assert patched["loop_lines"] is not None
    assert patched["loop_lines"] > 0


def test_without_gevent_nothing_changes() -> None:
    handler = logging.StreamHandler()
    lock = handler.lock
    try:
        use_native_locks()
        assert handler.lock is lock
    finally:
        handler.close()
