"""What recording issued cards adds to a hook call, and what one feedback post costs.

    .venv/bin/python benchmarks/bench_issued_cards.py [--repeat 200] [--database-url URL]

In process (Flask test client, no warm-up differences): the same demo request (patient 02,
three cards) posted ``--repeat`` times with the issued-card write on, then with it replaced
by a no-op; and ``Store.record_issued`` alone. Default database: a new SQLite file in a
temporary folder (WAL, synchronous=NORMAL). Prints mean, p50, p95 in ms.
Numbers go into issue notes; tests never assert on time.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cds_service.app import create_app
from cds_service.db.store import Store
from cds_service.demo import shift_times

ROOT = Path(__file__).resolve().parents[1]
URL = "/cds-services/severe-mitral-regurgitation"


def _stats(name: str, samples: list[float]) -> None:
    ms = sorted(s * 1000 for s in samples)
    p95 = ms[int(len(ms) * 0.95) - 1]
    print(f"{name:<38} mean {statistics.fmean(ms):6.2f}  p50 {statistics.median(ms):6.2f}  p95 {p95:6.2f} ms")


def _time(repeat: int, call: Callable[[], object]) -> list[float]:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    url = args.database_url or f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite3"
    app = create_app({"database_url": url, "log_level": "WARNING"})
    client = app.test_client()
    raw = json.loads((ROOT / "examples" / "patients" / "02-cardiogenic-shock.json").read_text())
    body: dict[str, Any] = shift_times(raw, datetime.now(UTC))
    store: Store = app.extensions["mrcds_store"]
    real_record = store.record_issued

    def post() -> None:
        response = client.post(URL, json=body)
        assert response.status_code == 200
        assert response.get_json()["cards"]

    _time(20, post)  # warm
    # Alternate the two modes call by call so machine load hits both alike.
    on: list[float] = []
    off: list[float] = []
    for _ in range(args.repeat):
        store.record_issued = real_record  # type: ignore[method-assign]
        on += _time(1, post)
        store.record_issued = lambda *a, **k: 0  # type: ignore[method-assign]
        off += _time(1, post)
    store.record_issued = real_record  # type: ignore[method-assign]
    cards = client.post(URL, json=body).get_json()["cards"]

    def record() -> None:
        fresh = [{**c, "uuid": str(uuid.uuid4())} for c in cards]
        store.record_issued("bench", "hook-bench", fresh, issued_at=datetime.now(UTC))

    alone = _time(args.repeat, record)
    print(f"database: {store.engine.dialect.name}; {len(cards)} cards per response")
    _stats("hook call, cards recorded", on)
    _stats("hook call, recording off", off)
    _stats("record_issued alone (one transaction)", alone)
    store.dispose()


if __name__ == "__main__":
    main()
