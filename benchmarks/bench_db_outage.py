"""Issued-card loss and hook latency while PostgreSQL is stopped or paused (issue 17).

    .venv/bin/python benchmarks/bench_db_outage.py [--fault stop|pause|both] [--seconds 10]

On a throwaway PostgreSQL cluster of its own (``tests/cds_service/pg_cluster.py``, never a
shared server), `mr-cds serve --workers 2` takes wrk's hook calls (8 keep-alive
connections, demo patient 02: three cards each) for ``seconds + 10`` s; 5 s in, PostgreSQL
is stopped (``pg_ctl stop -m fast``, then started again on the same port) or paused
(SIGSTOP on every process of the cluster, then SIGCONT) for ``seconds`` (``--fault none``:
the same load and no fault, for throughput). A probe posts one
hook call every 0.2 s on its own connection and keeps the slowest answer it got during the
fault. Loss is the cards the service answered (``mrcds_cards_issued_total``) minus the
issued-card records in the database, 30 s after the run.

Needs wrk and a PostgreSQL server (see ``.ci/postgres``). Numbers go into notes only.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import requests
from sqlalchemy import create_engine, func, select, text

from benchmarks.bench_saturation import LUA, URL_PATH, parse_wrk
from cds_service.calls.demo import shift_times
from tests.cds_service.pg_cluster import Cluster, throwaway_cluster
from tests.serving import Served, serve

PATIENT = Path(__file__).resolve().parents[1] / "examples" / "patients" / "02-cardiogenic-shock.json"


def _cards_answered(served: Served) -> float:
    total = 0.0
    for line in requests.get(f"{served.base}/metrics", timeout=10).text.splitlines():
        if line.startswith("mrcds_cards_issued_total{"):
            total += float(line.rsplit(" ", 1)[1])
    return total


def _records(url: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(text("issued_cards"))).scalar_one())
    finally:
        engine.dispose()


def one_run(cluster: Cluster, served: Served, fault: str, seconds: int, tmp: Path) -> dict[str, Any]:
    body = shift_times(json.loads(PATIENT.read_text(encoding="utf-8")), datetime.now(UTC))
    answered_before = _cards_answered(served)
    give_up = time.monotonic() + 15  # earlier calls' records may still be on their way
    while _records(cluster.url) < answered_before and time.monotonic() < give_up:
        time.sleep(0.2)
    records_before = _records(cluster.url)
    wrk = subprocess.Popen(
        ["wrk", "-t2", "-c8", f"-d{seconds + 10}s", "--latency", "--timeout", "30s",
         "-s", str(tmp / "post.lua"), f"{served.base}{URL_PATH}"],
        stdout=subprocess.PIPE, text=True, env={**os.environ, "MRCDS_BENCH_BODY": str(tmp / "body.json")},
    )  # fmt: skip
    slowest = {"ms": 0.0, "failed": 0}
    in_fault = threading.Event()
    stop = threading.Event()

    def probe() -> None:
        session = requests.Session()
        while not stop.is_set():
            started = time.monotonic()
            try:
                ok = session.post(f"{served.base}{URL_PATH}", json=body, timeout=30).status_code == 200
            except requests.RequestException:
                ok = False
            if in_fault.is_set():
                slowest["ms"] = max(slowest["ms"], (time.monotonic() - started) * 1000)
                slowest["failed"] += 0 if ok else 1
            stop.wait(0.2)

    prober = threading.Thread(target=probe)
    prober.start()
    time.sleep(5)
    in_fault.set()
    if fault == "stop":
        cluster.stop()
        try:
            time.sleep(seconds)
        finally:
            cluster.start()
    elif fault == "pause":
        with cluster.paused():
            time.sleep(seconds)
    else:  # "none": the same load without a fault, for the service's throughput alone
        time.sleep(seconds)
    in_fault.clear()
    out, _ = wrk.communicate(timeout=seconds + 60)
    stop.set()
    prober.join()
    answered = _cards_answered(served) - answered_before
    give_up = time.monotonic() + 30
    while _records(cluster.url) - records_before < answered and time.monotonic() < give_up:
        time.sleep(0.5)
    recorded = _records(cluster.url) - records_before
    return {
        "fault": fault,
        "seconds": seconds,
        "cards_answered": int(answered),
        "cards_recorded": recorded,
        "lost": int(answered) - recorded,
        "probe_slowest_ms_during_fault": round(slowest["ms"], 1),
        "probe_failed_during_fault": slowest["failed"],
        "wrk": parse_wrk(out),
        "load": round(os.getloadavg()[0], 2),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fault", choices=["none", "stop", "pause", "both"], default="both")
    parser.add_argument("--seconds", type=int, default=10)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="mrcds-outage-"))
    body = shift_times(json.loads(PATIENT.read_text(encoding="utf-8")), datetime.now(UTC))
    (tmp / "body.json").write_text(json.dumps(body))
    (tmp / "post.lua").write_text(LUA)
    faults = ["stop", "pause"] if args.fault == "both" else [args.fault]
    with throwaway_cluster() as cluster:
        env = {"MRCDS_DATABASE_URL": cluster.url, "MRCDS_METRICS": "on", "MRCDS_LOG_LEVEL": "WARNING"}
        with serve(tmp, env, workers=2) as served:
            for _ in range(4):
                requests.post(f"{served.base}{URL_PATH}", json=body, timeout=30)
            for fault in faults:
                print(json.dumps(one_run(cluster, served, fault, args.seconds, tmp)), flush=True)
            log = served.log()
    print("not recorded lines in the log:", sum("not recorded" in line.lower() for line in log.splitlines()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
