"""How long the EHR waits on us: one hook call, in process and over HTTP.

    .venv/bin/python benchmarks/bench_hook.py [--repeat 50] [--no-http]

In process: ``run_hook`` (schema validation, gathering, mapping, rules, cards) on every demo
patient in ``examples/patients/`` at its pinned evaluation time, and on a large chart (a
demo patient padded with ~550 unrelated resources, ~600 KB). Over HTTP: the same requests,
times shifted to the present, posted to ``mr-cds serve`` (gunicorn, 2 workers) on a free
loopback port with one keep-alive connection. Prints mean, p50, p95 and max in ms.
Numbers go into issue notes; tests never assert on time.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests

from cds_service.demo import as_of, shift_times
from cds_service.pipeline import run_hook
from cds_service.services import registry
from cds_service.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
PATIENTS = ROOT / "examples" / "patients"
SERVICE_ID = "severe-mitral-regurgitation"
JSON = {"Content-Type": "application/json"}


def _as_of(body: dict[str, Any]) -> datetime:
    return as_of(body) or datetime.now(UTC)


def padded_chart(body: dict[str, Any], target_resources: int = 550) -> dict[str, Any]:
    """The request with unrelated Observations (heart rate, ...) added until the chart is large."""
    big = copy.deepcopy(body)
    as_of = _as_of(big)
    empty = {"resourceType": "Bundle", "type": "searchset", "entry": []}
    vitals = big["prefetch"].get("vital-signs") or empty
    big["prefetch"]["vital-signs"] = vitals
    vitals.setdefault("entry", [])
    for i in range(target_resources):
        when = (as_of - timedelta(minutes=15 * i)).isoformat().replace("+00:00", "Z")
        vitals["entry"].append(
            {
                "fullUrl": f"urn:uuid:pad-{i}",
                "resource": {
                    "resourceType": "Observation",
                    "id": f"pad-{i}",
                    "status": "final",
                    "category": [
                        {
                            "coding": [
                                {
                                    "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                    "code": "vital-signs",
                                }
                            ]
                        }
                    ],
                    "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
                    "subject": {"reference": f"Patient/{big['context']['patientId']}"},
                    "effectiveDateTime": when,
                    "valueQuantity": {
                        "value": 80 + i % 30,
                        "unit": "/min",
                        "system": "http://unitsofmeasure.org",
                        "code": "/min",
                    },
                    "note": [{"text": "padding resource for the benchmark " * 3}],
                },
            }
        )
    return big


def _stats(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[max(0, round(0.95 * len(ordered)) - 1)]
    return (
        f"mean {statistics.fmean(ordered):7.2f}  p50 {statistics.median(ordered):7.2f}  "
        f"p95 {p95:7.2f}  max {ordered[-1]:7.2f} ms"
    )


def _time(call: Callable[[], Any], repeat: int) -> tuple[list[float], Any]:
    result = call()  # warm-up: caches, value sets, first import
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        result = call()
        samples.append((time.perf_counter() - started) * 1000)
    return samples, result


def in_process(cases: dict[str, dict[str, Any]], repeat: int) -> None:
    service = registry()[SERVICE_ID]
    settings = Settings.load({})
    print(f"in process: run_hook, {repeat} runs each")
    for name, body in cases.items():
        samples, response = _time(
            lambda body=body: run_hook(service, body, settings=settings, now=_as_of(body)), repeat
        )
        size = len(json.dumps(body)) // 1024
        print(f"  {name:<38} {size:5d} KB  {len(response['cards'])} cards  {_stats(samples)}")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def over_http(cases: dict[str, dict[str, Any]], repeat: int) -> None:
    port = _free_port()
    data_home = tempfile.mkdtemp()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MRCDS_")}
    env.update(XDG_DATA_HOME=data_home, MRCDS_LOG_LEVEL="WARNING")
    exe = Path(sys.executable).parent / "mr-cds"
    proc = subprocess.Popen(
        [str(exe), "serve", "--port", str(port), "--workers", "2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                requests.get(f"{base}/healthz", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        print(f"over HTTP: mr-cds serve (gunicorn, 2 workers), {repeat} POSTs each, one connection")
        with requests.Session() as session:
            for name, body in cases.items():
                shifted = json.dumps(shift_times(body, datetime.now(UTC)))
                url = f"{base}/cds-services/{SERVICE_ID}"

                def post(shifted: str = shifted, url: str = url) -> int:
                    response = session.post(url, data=shifted, headers=JSON, timeout=10)
                    response.raise_for_status()
                    return len(response.json()["cards"])

                samples, cards = _time(post, repeat)
                print(f"  {name:<38} {cards} cards  {_stats(samples)}")
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--no-http", action="store_true")
    args = parser.parse_args()
    cases = {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in sorted(PATIENTS.glob("*.json"))}
    if not cases:
        raise SystemExit(f"no demo patients in {PATIENTS}")
    first = next(iter(cases))
    cases[f"{first} + 550 padding resources"] = padded_chart(cases[first])
    in_process(cases, args.repeat)
    if not args.no_http:
        over_http(cases, args.repeat)


if __name__ == "__main__":
    main()
