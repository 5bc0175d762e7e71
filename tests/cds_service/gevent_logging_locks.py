"""Run under gevent's patches, as a worker is: configure logging as ``mr-cds serve`` does,
give it native locks, then log from the event loop and from the database thread at once.
Prints one JSON line of what it saw. Started by ``test_logging_locks.py`` in its own
interpreter: patching pytest's would change every other test."""

from gevent import monkey

monkey.patch_all()

import json  # noqa: E402
import logging  # noqa: E402
import logging.config  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import gevent  # noqa: E402

from cds_service.db.offload import run_blocking  # noqa: E402
from cds_service.runtime.logging_locks import use_native_locks  # noqa: E402
from cds_service.runtime.serve_checks import GUNICORN_LOGGING  # noqa: E402

native_rlock = monkey.get_original("_thread", "RLock")


def main() -> None:
    seconds = float(sys.argv[1])
    logging.config.dictConfig(GUNICORN_LOGGING)
    before = [type(ref().lock) is native_rlock for ref in logging._handlerList if ref() is not None]
    use_native_locks()
    after = [type(ref().lock) is native_rlock for ref in logging._handlerList if ref() is not None]
    for ref in logging._handlerList:
        handler = ref()
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(open(os.devnull, "w"))  # noqa: SIM115 - closed with the process
    stop = time.monotonic() + seconds

    def from_the_database_thread() -> int:
        lines = 0
        while time.monotonic() < stop:
            logging.getLogger("psycopg").warning("connection lost %d", lines)
            lines += 1
        return lines

    def from_the_loop() -> int:
        lines = 0
        while time.monotonic() < stop:
            logging.getLogger("cds_service.access").info("request %d", lines)
            lines += 1
            if lines % 20 == 0:
                gevent.sleep(0)
        return lines

    database = gevent.spawn(run_blocking, from_the_database_thread, timeout=seconds + 10)
    loop = gevent.spawn(from_the_loop)
    gevent.joinall([database, loop], timeout=seconds + 10)
    print(
        json.dumps(
            {
                "native_before": before,
                "native_after": after,
                "module_lock_native": type(logging._lock) is native_rlock,
                "database_lines": database.value,
                "loop_lines": loop.value,
            }
        )
    )


if __name__ == "__main__":
    main()
