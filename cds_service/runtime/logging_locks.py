"""Logging's locks as native locks in a gevent worker.

gevent's monkey patching turns logging's locks (the module's own and each handler's) into
gevent locks, and a worker runs its database calls on a native thread (``cds_service.db
.offload``), where a driver may log: psycopg warns from that thread when PostgreSQL goes
away mid-batch, at the moment the event loop is writing request lines to the same
handler. A gevent lock shared between native threads is what gevent's maintainers advise
against (gevent issue #2013, "Logging lock not released when held by OS threads"): a
wake-up can be lost, and a hook call then waited over a second for its log line while
PostgreSQL was stopped (a CI run of ``test_e2e_faults``).

A native lock cannot lose a wake-up. Holding one never yields to another greenlet (a
handler formats and writes a line without any gevent switch), so in the event loop's thread
it only ever waits for the database thread's one line to be written.
"""

from __future__ import annotations

import logging
from typing import Any


def use_native_locks() -> None:
    """Give logging's module lock and every existing handler a native ``RLock``.

    Called in each gunicorn worker before it serves (one thread then, none holding a lock);
    a no-op where gevent has not patched ``threading``.
    """
    from gevent import monkey

    if not monkey.is_module_patched("threading"):
        return
    # _thread.RLock, the C lock: threading.RLock, even unpatched, would now build its Python
    # RLock around a patched (gevent) lock.
    native_rlock: Any = monkey.get_original("_thread", "RLock")
    if hasattr(logging, "_lock"):
        logging._lock = native_rlock()
    for ref in list(logging._handlerList):  # type: ignore[attr-defined]
        handler = ref()
        if handler is not None:
            handler.lock = native_rlock()
