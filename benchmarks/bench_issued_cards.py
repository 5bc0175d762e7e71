"""What recording issued cards adds to a hook call, and what one feedback post costs.

    .venv/bin/python benchmarks/bench_issued_cards.py [--repeat 200] [--database-url URL]

In process (Flask test client): the same demo request (patient 02, three cards) posted
``--repeat`` times, timing the answer (what the EHR waits for: the records only go into
the background writer's buffer); then what the writer's transactions cost: one
response's cards alone, and per card in a batch of the writer's size. Default database: a new SQLite file in a
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

from cds_service.calls.demo import shift_times
from cds_service.db.issued import issued_rows
from cds_service.db.issued_writer import BATCH_ROWS
from cds_service.db.store import Store
from cds_service.http.app import create_app

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
    answered: list[float] = []

    def post() -> None:
        started = time.perf_counter()
        response = client.post(URL, json=body)
        assert response.status_code == 200
        answered.append(time.perf_counter() - started)

    for _ in range(20):  # warm
        post()
    assert store.issued_writer.flush(30)
    answered.clear()
    for _ in range(args.repeat):
        post()
    assert store.issued_writer.flush(30)
    cards = client.post(URL, json=body).get_json()["cards"]
    assert store.issued_writer.flush(30)

    def rows(responses: int) -> list[dict[str, Any]]:
        fresh = [{**c, "uuid": str(uuid.uuid4())} for _ in range(responses) for c in cards]
        return issued_rows("bench", "hook-bench", fresh, datetime.now(UTC))

    one = _time(args.repeat, lambda: store.write_issued(rows(1)))
    batches = [rows(BATCH_ROWS // len(cards)) for _ in range(max(1, args.repeat // 20))]
    batched = _time(len(batches), lambda: store.write_issued(batches.pop()))
    per_card = [s / (BATCH_ROWS // len(cards) * len(cards)) for s in batched]
    print(f"database: {store.engine.dialect.name}; {len(cards)} cards per response")
    _stats("hook call until the answer is ready", answered)
    _stats("one response's cards, one transaction", one)
    _stats(f"per card, in batches of {BATCH_ROWS // len(cards) * len(cards)}", per_card)
    store.dispose()


if __name__ == "__main__":
    main()
