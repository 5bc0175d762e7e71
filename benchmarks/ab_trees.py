"""Compare source trees served side by side: worker CPU per request, alternating blocks.

    .venv/bin/python benchmarks/ab_trees.py --chart "demo 05 (5)" before=/path/to/old-tree after=. bare

Each ``label=path`` is a checkout of this project (``git worktree add --detach /tmp/old
<commit>``); ``bare`` is ``benchmarks/bare_app.py``. Every tree is served by ``mr-cds serve
--workers 1`` from this virtual environment with the tree's own packages first on the path,
all servers at once; then each round posts one block per server on one keep-alive
connection and reads the worker's CPU from the kernel (as ``bench_hook.py`` does). A lever
worth a few percent needs this: two servers of the same code differ by up to 10% over a
run, so list a tree twice (``a=. b=.``) to see that spread, and use 8 or more rounds.
Prints the median per server and each round's value; nothing is written.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import sys
from pathlib import Path

if str(Path(__file__).resolve().parents[1]) not in sys.path:  # run as a script
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.bench_hook import ROOT, _block, server
from benchmarks.charts import charts


def _variants(specs: list[str]) -> list[tuple[str, str, Path]]:
    """(label, kind, tree) of each ``label=path`` or ``bare`` argument."""
    found = []
    for spec in specs:
        if spec == "bare":
            found.append(("bare", "bare", ROOT))
            continue
        label, sep, path = spec.partition("=")
        tree = Path(path).resolve()
        if not sep or not label or not (tree / "cds_service").is_dir():
            raise SystemExit(f"ab_trees: {spec!r} is not label=path-of-a-checkout or bare")
        found.append((label, "service", tree))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("variants", nargs="+", help="label=path of a checkout, or bare")
    parser.add_argument("--chart", default="demo 05 (5)", help=f"one of {', '.join(charts())}")
    parser.add_argument("--requests", type=int, default=400, help="requests per block (default 400)")
    parser.add_argument("--rounds", type=int, default=8, help="blocks per server (default 8)")
    args = parser.parse_args()
    if args.chart not in charts():
        raise SystemExit(f"ab_trees: no chart {args.chart!r}")
    raw = json.dumps(charts()[args.chart]).encode()
    variants = _variants(args.variants)
    cpu_ms: dict[str, list[float]] = {label: [] for label, _, _ in variants}
    with contextlib.ExitStack() as stack:
        servers = {label: stack.enter_context(server(kind, 1, tree)) for label, kind, tree in variants}
        for srv in servers.values():
            _block(srv, raw, max(1, args.requests // 5))  # warm: caches, the writer, the allocator
        for _ in range(args.rounds):
            for label, srv in servers.items():
                cpu, _walls = _block(srv, raw, args.requests)
                cpu_ms[label].append(cpu * 1000)
    width = max(len(label) for label in cpu_ms)
    for label, values in cpu_ms.items():
        rounds = ", ".join(f"{v:.3f}" for v in values)
        print(f"{label:<{width}}  median {statistics.median(values):.3f} ms/request  ({rounds})")


if __name__ == "__main__":
    main()
