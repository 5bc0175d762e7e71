"""Database calls off the event loop, on one database thread per worker.

``mr-cds serve`` runs gevent workers: every connection of a worker is a greenlet on one
event loop, and a call that blocks inside C code (SQLite's ``busy_timeout`` sleeping on a
lock, libpq waiting for a paused PostgreSQL) stops all of them, ``/healthz`` included.
``run_blocking`` hands such a call to the worker's database thread, a native thread of its
own, and lets the calling greenlet wait cooperatively; the loop keeps serving everyone else.
Without gevent (tests, the CLI, another WSGI server) the call simply runs in the caller's
thread.

Why one thread, not a pool of them: gevent patches ``threading``, so every lock SQLAlchemy
makes (its connection pool's queue, the once-per-pool ``first_connect`` mutex) is a gevent
lock, and gevent's own maintainers advise against sharing gevent locks between native
threads (gevent issue #2013). Shared between the ten threads of gevent's pool, they did
hang: on a fresh worker, concurrent feedback posts left four threads waiting on
``first_connect``'s mutex, already released, until the 15 s write deadline (a 503). Each
worker's database work now runs on one thread, in the order it was asked for, so no
SQLAlchemy lock is ever waited on across threads. SQLite takes one writer at a time
anyway; with PostgreSQL a worker's statements go one after another (each is a single short
statement), and the workers still write in parallel.

The thread is the process's own: gunicorn forks workers from a master that may have made
one, and threads do not cross a fork, so a new process makes its own on first use. gevent's
hub pool (name lookups) is left alone.
"""

from __future__ import annotations

import concurrent.futures
import os
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


class Overdue(Exception):
    """The call did not finish within its ``timeout`` (it may still be running)."""


def gevent_active() -> bool:
    """True in a worker whose standard library gevent has patched (``mr-cds serve``)."""
    from gevent import monkey

    return bool(monkey.is_module_patched("threading"))


_executor: list[concurrent.futures.ThreadPoolExecutor] = []  # at most one, made on first need
_database_thread: list[tuple[int, Any]] = []  # (pid, gevent ThreadPool of one thread)


def database_thread() -> Any:
    """This process's gevent pool of one native thread, made on first use after a fork."""
    if not _database_thread or _database_thread[0][0] != os.getpid():
        from gevent.threadpool import ThreadPool

        _database_thread[:] = [(os.getpid(), ThreadPool(1))]
    return _database_thread[0][1]


def run_blocking(call: Callable[[], T], *, timeout: float | None = None) -> T:
    """``call()`` where it cannot block the event loop; ``Overdue`` after ``timeout`` s
    (the time waiting for the database thread counts)."""
    if gevent_active():
        import gevent

        pending = database_thread().spawn(call)
        try:
            result: T = pending.get(timeout=timeout)
        except gevent.Timeout:
            raise Overdue() from None
        return result
    if timeout is None:
        return call()
    # Only the readiness probe asks for a deadline outside gevent: one spare thread will do.
    if not _executor:
        _executor.append(concurrent.futures.ThreadPoolExecutor(2, thread_name_prefix="mrcds-blocking"))
    future = _executor[0].submit(call)
    try:
        return future.result(timeout=timeout)
    except concurrent.futures.TimeoutError:
        raise Overdue() from None
