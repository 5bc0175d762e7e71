"""Run under gevent's patches, as a `mr-cds serve` worker is: many greenlets at once hand
database calls to ``run_blocking`` on a new engine (a worker's first requests), over and
over; then the process forks and the child does the same. Prints one JSON line of what it
saw. Started by ``test_offload.py`` in its own interpreter: patching pytest's would change
every other test."""

from gevent import monkey

monkey.patch_all()

import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402

import gevent  # noqa: E402
from sqlalchemy import text  # noqa: E402

from cds_service.db.engine import make_engine, writer  # noqa: E402
from cds_service.db.offload import Overdue, run_blocking  # noqa: E402

native_id = monkey.get_original("threading", "get_native_id")


def one_round(url: str, greenlets: int) -> tuple[int, set[int]]:
    """``greenlets`` calls at once on a new engine: its first connections race, as in a new
    worker. How many were overdue, and the native threads the others ran on."""
    engine = make_engine(url)
    overdue = 0
    threads: set[int] = set()

    def call() -> int:
        with writer(engine).begin() as conn:
            conn.execute(text("SELECT 1"))
        return int(native_id())

    def one() -> None:
        nonlocal overdue
        try:
            threads.add(run_blocking(call, timeout=5))
        except Overdue:
            overdue += 1

    gevent.joinall([gevent.spawn(one) for _ in range(greenlets)])
    engine.dispose()
    return overdue, threads


def burst(url: str, greenlets: int, rounds: int) -> dict[str, object]:
    overdue = 0
    threads: set[int] = set()
    for _ in range(rounds):
        late, used = one_round(url, greenlets)
        overdue += late
        threads |= used
    return {"overdue": overdue, "threads": sorted(threads), "loop_thread": int(native_id())}


def main() -> None:
    url, greenlets, rounds, child_result = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    parent = burst(url, greenlets, rounds)
    pid = os.fork()
    if pid == 0:
        with open(child_result, "w", encoding="utf-8") as out:
            json.dump(burst(url, greenlets, 3), out)
        os._exit(0)
    os.waitpid(pid, 0)
    with open(child_result, encoding="utf-8") as result:
        child = json.load(result)
    print(json.dumps({"parent": parent, "child": child}))


if __name__ == "__main__":
    main()
