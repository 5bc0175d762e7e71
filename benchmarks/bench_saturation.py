"""Latency under saturation, and how fairly connections are served (issue 17).

    .venv/bin/python benchmarks/bench_saturation.py [--seconds 4] [--clients 1,8,32,64]
        [--out FILE.json]

`mr-cds serve --workers 2` and the bare app (``bare_app.py``, gunicorn gevent, 2 workers)
run side by side; for each client count, wrk (keep-alive connections, loopback only) posts
demo patient 02 (three cards, so every call also hands issued-card records to the store)
to one and then the other. Reported per server and client count: requests per second,
p50 and p99 latency (wrk's own), and, sampled half-way through the run, how many
connections each worker had accepted and how many waited in the listen queue.

Needs wrk (Debian: ``apt-get install wrk``). The machine is shared: the load average is
printed with the numbers, and tests never assert on time.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.bench_hook import Server, server
from cds_service.calls.demo import shift_times

ROOT = Path(__file__).resolve().parents[1]
URL_PATH = "/cds-services/severe-mitral-regurgitation"
PATIENT = ROOT / "examples" / "patients" / "02-cardiogenic-shock.json"

LUA = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local f = io.open(os.getenv("MRCDS_BENCH_BODY"), "rb")
wrk.body = f:read("*a")
f:close()
"""


def _ms(value: str) -> float:
    number = float(re.sub(r"[a-z]+$", "", value))
    unit = re.search(r"[a-z]+$", value)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit.group(0) if unit else "s"]
    return number * scale


def parse_wrk(text: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for label, key in (("50%", "p50_ms"), ("99%", "p99_ms")):
        found = re.search(rf"^\s+{re.escape(label)}\s+(\S+)", text, re.M)
        out[key] = round(_ms(found.group(1)), 2) if found else None
    rps = re.search(r"Requests/sec:\s+([\d.]+)", text)
    out["rps"] = float(rps.group(1)) if rps else None
    maximum = re.search(r"Latency\s+\S+\s+\S+\s+(\S+)", text)
    out["max_ms"] = round(_ms(maximum.group(1)), 1) if maximum else None
    errors = re.search(r"Socket errors: (.*)", text)
    out["socket_errors"] = errors.group(1).strip() if errors else ""
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    out["non_2xx"] = int(non2xx.group(1)) if non2xx else 0
    return out


def connections(srv: Server) -> dict[str, Any]:
    """Accepted connections per worker, and the listen queue, right now."""
    per_worker = {}
    for pid in srv.workers():
        inodes = set()
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
        count = 0
        for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
            fields = line.split()
            local_port = int(fields[1].split(":")[1], 16)
            if local_port == srv.port and fields[3] == "01" and fields[9] in inodes:
                count += 1
        per_worker[str(pid)] = count
    listen = subprocess.run(
        ["ss", "-Hltn", f"sport = :{srv.port}"], capture_output=True, text=True, check=False
    ).stdout.split()
    return {
        "accepted_per_worker": sorted(per_worker.values()),
        "listen_queue": int(listen[1]) if listen else None,
    }


def run_wrk(srv: Server, clients: int, seconds: float, body_file: str, script: str) -> dict[str, Any]:
    threads = 1 if clients == 1 else 2
    command = [
        "wrk", f"-t{threads}", f"-c{clients}", f"-d{int(seconds)}s", "--latency", "--timeout", "15s",
        "-s", script, f"http://127.0.0.1:{srv.port}{URL_PATH}",
    ]  # fmt: skip
    sample: dict[str, Any] = {}

    def look() -> None:
        time.sleep(seconds / 2)
        sample.update(connections(srv))

    probe = threading.Thread(target=look)
    probe.start()
    done = subprocess.run(
        command, capture_output=True, text=True, env={**os.environ, "MRCDS_BENCH_BODY": body_file}, check=True
    )
    probe.join()
    return {**parse_wrk(done.stdout), **sample}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=4)
    parser.add_argument("--clients", default="1,8,32,64")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    from datetime import UTC, datetime

    body = shift_times(json.loads(PATIENT.read_text(encoding="utf-8")), datetime.now(UTC))
    tmp = Path(tempfile.mkdtemp(prefix="mrcds-saturation-"))
    (tmp / "body.json").write_text(json.dumps(body))
    (tmp / "post.lua").write_text(LUA)
    results: dict[str, Any] = {"load_before": os.getloadavg(), "runs": []}
    with server("service", 2) as service, server("bare", 2) as bare:
        for clients in [int(c) for c in args.clients.split(",")]:
            for name, srv in (("bare", bare), ("service", service)):
                run = run_wrk(srv, clients, args.seconds, str(tmp / "body.json"), str(tmp / "post.lua"))
                run.update(server=name, clients=clients, load=round(os.getloadavg()[0], 2))
                results["runs"].append(run)
                print(json.dumps(run), flush=True)
    results["load_after"] = os.getloadavg()
    if args.out:
        args.out.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
