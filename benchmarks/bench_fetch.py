"""How long a hook call takes when the EHR prefetched nothing: sequential vs concurrent fetching.

    .venv/bin/python benchmarks/bench_fetch.py [--delay-ms 100] [--runs 5] [--workers 1,4,default]
        [--page-size 3]

A loopback FHIR server (the end-to-end fixture chart, ``tests/cds_service/fhir_server``)
adds ``--delay-ms`` to every answer and pages search results ``--page-size`` entries at a
time. For each worker count (``MRCDS_FHIR_MAX_WORKERS``; 1 is sequential) one no-prefetch
``run_hook`` call (gathering, mapping, rules, cards) is timed ``--runs`` times, after one
warm-up call that opens the pooled connections. The deadline is raised to 30 s so that the
sequential run is measured rather than cut off; the last column says whether it would fit
the default 3 s. Prints the FHIR requests per call, min / median / max wall time, and the
ratio of the median to the **slowest chain**: the longest call that fetches one key alone
(every other key sent as ``null``), i.e. a search whose pages must follow one another.
Numbers go into issue notes; tests never assert on time.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # the fixture server lives in the test package

from cds_service.calls.pipeline import run_hook  # noqa: E402
from cds_service.calls.services import registry  # noqa: E402
from cds_service.core.settings import Settings  # noqa: E402
from cds_service.fhir.session import close_shared_session  # noqa: E402
from tests.cds_service.fhir_server import PATIENT_ID, FixtureFhirServer, load_chart  # noqa: E402

TOKEN = "bench-token"
DEFAULT_DEADLINE_S = Settings().fhir_timeout_s


def body(fhir_base: str) -> dict[str, Any]:
    return {
        "hook": "patient-view",
        "hookInstance": "7a0c1a0e-5d1e-4f61-9a57-bench0000001",
        "fhirServer": fhir_base,
        "fhirAuthorization": {
            "access_token": TOKEN,
            "token_type": "Bearer",
            "expires_in": 300,
            "scope": "user/*.read",
            "subject": "mr-cds-hooks",
        },
        "context": {"userId": "Practitioner/bench", "patientId": PATIENT_ID},
    }


def one_call(settings: Settings, fhir_base: str, now: datetime) -> tuple[float, int]:
    service = next(iter(registry().values()))
    started = time.perf_counter()
    response = run_hook(service, body(fhir_base), settings=settings, now=now)
    return time.perf_counter() - started, len(response["cards"])


def slowest_chain(settings: Settings, fhir_base: str, now: datetime, runs: int) -> tuple[str, float]:
    """The key whose fetch alone takes longest, and its median ms (all other keys prefetched null)."""
    service = next(iter(registry().values()))
    worst = ("", 0.0)
    for key in service.prefetch_keys:
        request = body(fhir_base)
        request["prefetch"] = {k.key: None for k in service.prefetch_keys if k.key != key.key}
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            run_hook(service, request, settings=settings, now=now)
            times.append((time.perf_counter() - started) * 1000)
        worst = max(worst, (key.key, statistics.median(times)), key=lambda kt: kt[1])
    return worst


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--delay-ms", type=float, default=100.0, help="added to every FHIR answer (default 100)"
    )
    parser.add_argument("--runs", type=int, default=5, help="timed calls per worker count (default 5)")
    parser.add_argument(
        "--workers", default="1,4,default", help="worker counts to compare (default 1,4,default)"
    )
    parser.add_argument("--page-size", type=int, default=3, help="entries per search page (default 3)")
    args = parser.parse_args()

    now = datetime.now(UTC).replace(microsecond=0)
    with FixtureFhirServer(
        load_chart(now), token=TOKEN, delay_s=args.delay_ms / 1000, page_size=args.page_size
    ) as fhir:
        base_settings = replace(Settings(), fhir_allowlist=(fhir.base,), fhir_timeout_s=30.0)
        print(
            f"FHIR server {fhir.base}: +{args.delay_ms:.0f} ms per request, {args.page_size} entries per page"
        )
        key, chain = slowest_chain(base_settings, fhir.base, now, args.runs)
        print(f"slowest chain: {key} alone, median {chain:.0f} ms")
        print(
            f"{'workers':>7} {'requests':>8} {'cards':>5} {'min ms':>8} {'median ms':>9} {'max ms':>8}"
            f" {'/ chain':>7}  fits {DEFAULT_DEADLINE_S:g} s"
        )
        default = Settings().fhir_max_workers
        for workers in (default if w == "default" else int(w) for w in args.workers.split(",")):
            settings = replace(base_settings, fhir_max_workers=workers)
            one_call(settings, fhir.base, now)  # warm-up: connections into the pool
            times = []
            before = fhir.request_count
            for _ in range(args.runs):
                elapsed, cards = one_call(settings, fhir.base, now)
                times.append(elapsed * 1000)
            per_call = (fhir.request_count - before) // args.runs
            fits = "yes" if max(times) < DEFAULT_DEADLINE_S * 1000 else "no"
            print(
                f"{workers:>7} {per_call:>8} {cards:>5} {min(times):>8.0f} {statistics.median(times):>9.0f}"
                f" {max(times):>8.0f} {statistics.median(times) / chain:>6.2f}x  {fits}"
            )
        close_shared_session()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
