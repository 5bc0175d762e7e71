"""Database calls off the event loop.

``mr-cds serve`` runs gevent workers: every connection of a worker is a greenlet on one
event loop, and a call that blocks inside C code (SQLite's ``busy_timeout`` sleeping on a
lock, libpq waiting for a paused PostgreSQL) stops all of them, ``/healthz`` included.
``run_blocking`` hands such a call to gevent's pool of native threads and lets the calling
greenlet wait cooperatively; the loop keeps serving everyone else. Without gevent (tests,
the CLI, another WSGI server) the call simply runs in the caller's thread.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

#: Native threads for blocking calls per worker (gevent's default is 10). Each may hold one
#: pooled database connection, so it stays within the engine's pool (5 + 10 overflow).
THREADS = 10


class Overdue(Exception):
    """The call did not finish within its ``timeout`` (it may still be running)."""


def gevent_active() -> bool:
    """True in a worker whose standard library gevent has patched (``mr-cds serve``)."""
    from gevent import monkey

    return bool(monkey.is_module_patched("threading"))


_executor: list[concurrent.futures.ThreadPoolExecutor] = []  # at most one, made on first need


def run_blocking(call: Callable[[], T], *, timeout: float | None = None) -> T:
    """``call()`` where it cannot block the event loop; ``Overdue`` after ``timeout`` s."""
    if gevent_active():
        import gevent

        hub = gevent.get_hub()
        if hub.threadpool.maxsize < THREADS:
            hub.threadpool.maxsize = THREADS
        pending = hub.threadpool.spawn(call)
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
