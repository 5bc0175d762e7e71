"""Database calls under gevent run on one database thread per process, and a worker's
first concurrent calls never hang on a lock shared between native threads."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cds_service.db import offload
from cds_service.db.offload import Overdue, run_blocking
from tests.cds_service.gevent_scripts import run_patched


def _run_patched(tmp_path: Path, greenlets: int, rounds: int) -> dict[str, Any]:
    url = f"sqlite:///{tmp_path / 'offload.sqlite3'}"
    child = str(tmp_path / "child.json")
    return run_patched("gevent_database_thread.py", url, str(greenlets), str(rounds), child)


@pytest.fixture(scope="module")
def patched(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    # Ten greenlets on twenty new engines: with gevent's pool of ten threads, the first
    # round already left calls waiting past their 5 s deadline on SQLAlchemy's
    # first-connect mutex (a gevent lock) shared between native threads.
    return _run_patched(tmp_path_factory.mktemp("offload"), greenlets=10, rounds=20)


def test_concurrent_first_calls_on_a_new_engine_never_hang(patched: dict[str, Any]) -> None:
    assert patched["parent"]["overdue"] == 0
    assert patched["child"]["overdue"] == 0


def test_every_database_call_of_a_process_runs_on_one_thread_off_the_event_loop(
    patched: dict[str, Any],
) -> None:
    parent = patched["parent"]
    assert len(parent["threads"]) == 1
    assert parent["threads"] != [parent["loop_thread"]]


def test_a_forked_worker_makes_its_own_database_thread(patched: dict[str, Any]) -> None:
    child = patched["child"]
    assert len(child["threads"]) == 1
    assert child["threads"] != patched["parent"]["threads"]
    assert child["threads"] != [child["loop_thread"]]


def test_without_gevent_a_call_runs_in_the_callers_thread() -> None:
    import threading

    assert run_blocking(threading.get_ident) == threading.get_ident()


def test_without_gevent_a_call_past_its_deadline_is_overdue() -> None:
    import threading

    release = threading.Event()
    try:
        with pytest.raises(Overdue):
            run_blocking(lambda: release.wait(10), timeout=0.05)
    finally:
        release.set()
    assert not offload.gevent_active()
