"""What a hook call costs, against the floor of parsing its JSON: one command, one report.

    .venv/bin/python benchmarks/bench_hook.py [--quick] [--out benchmarks/results]

Charts (``benchmarks/charts.py``): demo patients 05 (5 resources) and 02 (9), and demo 02
padded to 50, 450 and 4,400 resources with what the service's searches return. For each chart:

* **stages, in process**: body parse, schema validation, gathering, mapping (facts),
  rules and cards, response serialisation (median CPU ms of this thread);
* **latency over HTTP**: ``mr-cds serve --workers 1`` and one keep-alive connection,
  p50 / p95 / p99 of the wall time seen by the client;
* **CPU per request**: the worker's run time from ``/proc/<pid>/task/*/schedstat``, for the
  service and, side by side in alternating blocks, for ``benchmarks/bare_app.py`` (a bare
  Flask + gunicorn app that only parses the same body); their ratio, per block and overall;
* **throughput**: ``--workers 2`` under ``--clients`` (32) concurrent loopback connections
  from wrk when installed, else Python threads (either shares the machine's cores), with
  the workers' CPU per request during that run;
* **peak RSS** of the one-worker service (``VmHWM``), a fresh server per chart.

Writes ``<out>.md`` (a Markdown table) and ``<out>.json``. The run takes two to four
minutes (``--quick``: under a minute). The machine is shared: the load average before and
after and the spread of the per-block ratios are reported as the noise. Tests never assert
on time.
"""

from __future__ import annotations

import argparse
import gc
import http.client
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.charts import charts, resource_count  # noqa: E402
from cds_service.calls import gather as gathering  # noqa: E402
from cds_service.calls.demo import as_of, shift_times  # noqa: E402
from cds_service.calls.hook_request import HookRequest  # noqa: E402
from cds_service.calls.schemas import validate_request  # noqa: E402
from cds_service.calls.services import registry  # noqa: E402
from cds_service.core.json_codec import dumps, loads  # noqa: E402
from cds_service.core.settings import Settings  # noqa: E402
from fhir_mappings import map_chart  # noqa: E402
from hooks import evaluate_detailed  # noqa: E402

SERVICE_ID = "severe-mitral-regurgitation"
PATH = f"/cds-services/{SERVICE_ID}"
#: Requests per block (BLOCKS blocks per chart, alternating service and bare app: seven, because
#: on a shared machine one block of a small chart can be off by half).
REQUESTS = {"demo 05 (5)": 150, "demo 02 (9)": 150, "50": 100, "450": 24, "4,400": 4}
BLOCKS = 7


# -- in process ------------------------------------------------------------------------


def _median_ms(call: Callable[[], Any], budget_s: float) -> float:
    """Median CPU ms of ``call`` (this thread's CPU time: waiting for a core is not counted)."""
    call()  # warm: value sets, models, validators
    samples: list[float] = []
    spent = time.perf_counter()
    while len(samples) < 5 or (time.perf_counter() - spent < budget_s and len(samples) < 200):
        started = time.thread_time_ns()
        call()
        samples.append((time.thread_time_ns() - started) / 1e6)
    return statistics.median(samples)


def _ids() -> str:
    return "00000000-0000-4000-8000-000000000000"


def _chart(body: dict[str, Any]) -> Any:
    keys = registry()[SERVICE_ID].prefetch_keys
    return gathering.gather(HookRequest.from_json(body), keys, Settings.load({}))


def stages(body: dict[str, Any], budget_s: float) -> dict[str, float]:
    """Median ms of each stage of ``run_hook`` (plus the HTTP body parse and serialisation)."""
    service = registry()[SERVICE_ID]
    settings = Settings.load({})
    now = as_of(body)
    assert now is not None
    raw = json.dumps(body).encode()
    request = HookRequest.from_json(body)
    chart = _chart(body)
    facts = map_chart(chart, now=now)
    response = {"cards": list(evaluate_detailed(facts, now=now, ids=_ids).cards)}
    return {
        "parse (stdlib json)": _median_ms(lambda: json.loads(raw), budget_s),
        "parse (service)": _median_ms(lambda: loads(raw), budget_s),
        "schema": _median_ms(lambda: validate_request(body), budget_s),
        "gather": _median_ms(lambda: gathering.gather(request, service.prefetch_keys, settings), budget_s),
        "facts": _median_ms(lambda: map_chart(chart, now=now), budget_s),
        "rules + cards": _median_ms(lambda: evaluate_detailed(facts, now=now, ids=_ids), budget_s),
        "serialise": _median_ms(lambda: dumps(response), budget_s),
    }


# -- servers ---------------------------------------------------------------------------


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    port: int

    def workers(self) -> list[int]:
        """The gunicorn worker pids (children of the master)."""
        found = []
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    stat = Path(f"/proc/{entry}/stat").read_text()
                except OSError:
                    continue
                if int(stat.rsplit(")", 1)[1].split()[1]) == self.proc.pid:
                    found.append(int(entry))
        return sorted(found)

    def cpu_s(self) -> float:
        """CPU seconds the workers have run so far: the kernel's per-thread run time.

        ``/proc/<pid>/task/<tid>/schedstat`` counts nanoseconds on a CPU (user and system);
        ``utime``/``stime`` in ``/proc/<pid>/stat`` tick at 10 ms, too coarse for a 0.3 ms
        request.
        """
        total = 0
        for pid in self.workers():
            for task in Path(f"/proc/{pid}/task").iterdir():
                total += int((task / "schedstat").read_text().split()[0])
        return total / 1e9

    def peak_rss_mib(self) -> float:
        peak = 0
        for pid in self.workers():
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak = max(peak, int(line.split()[1]))
        return peak / 1024


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def server(kind: str, workers: int, root: Path = ROOT) -> Iterator[Server]:
    """``service`` (mr-cds serve) or ``bare`` (benchmarks/bare_app.py), on a free port.

    ``root``: the source tree served (``benchmarks/ab_trees.py`` compares several); its
    packages come first on the path, ahead of what this virtual environment installed."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MRCDS_")}
    data_home = tempfile.mkdtemp(prefix="mrcds-bench-")  # the issued-cards database
    # The service logs at its default level (INFO): its request line is part of what ships.
    env.update(XDG_DATA_HOME=data_home, PYTHONPATH=str(root))
    bin_dir = Path(sys.executable).parent
    if kind == "service":
        cmd = [str(bin_dir / "mr-cds"), "serve", "--port", str(port), "--workers", str(workers)]
    else:
        cmd = [
            str(bin_dir / "gunicorn"),
            "--workers",
            str(workers),
            "--preload",
            "--worker-class",
            "gevent",  # the kind of worker mr-cds serve runs: the same server cost on both sides
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            "benchmarks.bare_app:app",
        ]
    proc = subprocess.Popen(cmd, env=env, cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    conn.close()
                    break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{kind} server did not start")
            time.sleep(0.1)
        yield Server(proc, port)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(data_home, ignore_errors=True)


def _post(conn: http.client.HTTPConnection, raw: bytes) -> None:
    conn.request("POST", PATH, body=raw, headers={"Content-Type": "application/json"})
    response = conn.getresponse()
    payload = response.read()
    if response.status != 200:
        raise RuntimeError(f"HTTP {response.status}: {payload[:200]!r}")


def _block(srv: Server, raw: bytes, n: int) -> tuple[float, list[float]]:
    """``n`` POSTs on one connection: (worker CPU seconds per request, wall ms of each)."""
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=60)
    _post(conn, raw)  # connection open, worker warm
    walls = []
    cpu_before = srv.cpu_s()
    for _ in range(n):
        started = time.perf_counter()
        _post(conn, raw)
        walls.append((time.perf_counter() - started) * 1000)
    cpu = (srv.cpu_s() - cpu_before) / n
    conn.close()
    return cpu, walls


def throughput(srv: Server, raw: bytes, clients: int, seconds: float) -> tuple[float, int]:
    """(requests per second, requests) completed by ``clients`` connections posting back to back."""
    done = [0] * clients
    stop = time.monotonic() + seconds

    def client(slot: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=60)
        while time.monotonic() < stop:
            _post(conn, raw)
            done[slot] += 1
        conn.close()

    started = time.monotonic()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(done) / (time.monotonic() - started), sum(done)


#: wrk (https://github.com/wg/wrk) posts the body from a file named in the environment.
_WRK_SCRIPT = """
local f = assert(io.open(os.getenv("BENCH_BODY"), "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"
"""


def throughput_wrk(srv: Server, raw: bytes, clients: int, seconds: float) -> tuple[float, int]:
    """(requests per second, requests) with ``clients`` connections from wrk (two threads): a
    C client that costs the shared cores far less than a Python one at 32 connections."""
    wrk = shutil.which("wrk")
    assert wrk is not None
    with tempfile.TemporaryDirectory(prefix="mrcds-wrk-") as folder:
        script, body = Path(folder, "post.lua"), Path(folder, "body.json")
        script.write_text(_WRK_SCRIPT, encoding="utf-8")
        body.write_bytes(raw)
        out = subprocess.run(
            [
                wrk,
                "-t2",
                f"-c{clients}",
                f"-d{max(1, round(seconds))}s",
                "--timeout",
                "30s",
                "-s",
                str(script),
                f"http://127.0.0.1:{srv.port}{PATH}",
            ],
            env={**os.environ, "BENCH_BODY": str(body)},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    if "Non-2xx" in out or "Socket errors" in out:
        raise RuntimeError(f"wrk saw failed requests:\n{out}")
    (line,) = [x for x in out.splitlines() if x.startswith("Requests/sec:")]
    (count,) = [x for x in out.splitlines() if " requests in " in x]
    return float(line.split()[1]), int(count.split()[0])


def _percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


# -- the run ---------------------------------------------------------------------------


@dataclass
class ChartResult:
    name: str
    resources: int
    kib: int
    cards: int
    stages_ms: dict[str, float]
    p50_ms: float = 0.0
    p95_ms: float = 0.0
    p99_ms: float = 0.0
    service_cpu_ms: float = 0.0
    bare_cpu_ms: float = 0.0
    ratio: float = 0.0
    block_ratios: list[float] = field(default_factory=list)
    service_rps_2w: float = 0.0
    bare_rps_2w: float = 0.0
    #: Worker CPU per request during the throughput run (both workers, all threads).
    service_cpu_load_ms: float = 0.0
    bare_cpu_load_ms: float = 0.0
    peak_rss_mib: float = 0.0


def measure(name: str, body: dict[str, Any], args: argparse.Namespace) -> ChartResult:
    scale = 4 if args.quick else 1
    now = as_of(body)
    assert now is not None
    in_process = stages(body, 0.3 / scale)
    cards = len(evaluate_detailed(map_chart(_chart(body), now=now), now=now, ids=_ids).cards)
    raw = json.dumps(shift_times(body, datetime.now(UTC))).encode()
    result = ChartResult(name, resource_count(body), len(raw) // 1024, cards, in_process)
    n = max(2, REQUESTS[name] // scale)
    service_cpu: list[float] = []
    bare_cpu: list[float] = []
    walls: list[float] = []
    with server("service", 1) as svc, server("bare", 1) as bare:
        for _ in range(BLOCKS):
            cpu, wall = _block(svc, raw, n)
            service_cpu.append(cpu)
            walls.extend(wall)
            bare_cpu.append(_block(bare, raw, n)[0])
        result.peak_rss_mib = round(svc.peak_rss_mib(), 1)
    result.p50_ms, result.p95_ms, result.p99_ms = (round(_percentile(walls, q), 2) for q in (0.5, 0.95, 0.99))
    result.service_cpu_ms = round(statistics.fmean(service_cpu) * 1000, 2)
    result.bare_cpu_ms = round(statistics.fmean(bare_cpu) * 1000, 2)
    result.ratio = round(result.service_cpu_ms / result.bare_cpu_ms, 2) if result.bare_cpu_ms else 0.0
    result.block_ratios = [round(s / b, 2) if b else 0.0 for s, b in zip(service_cpu, bare_cpu, strict=True)]
    seconds = args.seconds / scale
    load = throughput_wrk if args.client == "wrk" else throughput
    with server("service", 2) as svc:
        result.service_rps_2w, result.service_cpu_load_ms = _under_load(load, svc, raw, args.clients, seconds)
    with server("bare", 2) as bare:
        result.bare_rps_2w, result.bare_cpu_load_ms = _under_load(load, bare, raw, args.clients, seconds)
    return result


def _under_load(
    load: Callable[[Server, bytes, int, float], tuple[float, int]],
    srv: Server,
    raw: bytes,
    clients: int,
    seconds: float,
) -> tuple[float, float]:
    """(requests per second, worker CPU ms per request) under ``clients`` connections.

    On a shared machine requests per second swing with the load of the moment; the CPU per
    request says whether a call got dearer, or only had to wait for a core."""
    cpu_before = srv.cpu_s()
    rps, count = load(srv, raw, clients, seconds)
    cpu_ms = (srv.cpu_s() - cpu_before) * 1000 / count if count else 0.0
    return round(rps, 1), round(cpu_ms, 2)


def markdown(results: list[ChartResult], meta: dict[str, Any]) -> str:
    lines = [
        f"Run {meta['started']} on {meta['machine']}; load average {meta['load_before']} before, "
        f"{meta['load_after']} after; {meta['duration_s']:.0f} s. Throughput: "
        f"{meta['throughput_client']}.",
        "",
        "| chart | resources | KiB | cards | service CPU/req | bare parse CPU/req | ratio (per block) "
        "| p50 / p95 / p99 ms (1 worker) | req/s, 2 workers (bare) | CPU/req under load (bare) "
        "| peak RSS MiB |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        blocks = ", ".join(f"{b:.1f}" for b in r.block_ratios)
        lines.append(
            f"| {r.name} | {r.resources} | {r.kib} | {r.cards} | {r.service_cpu_ms:.1f} ms "
            f"| {r.bare_cpu_ms:.1f} ms | **{r.ratio:.1f}x** ({blocks}) "
            f"| {r.p50_ms:.1f} / {r.p95_ms:.1f} / {r.p99_ms:.1f} "
            f"| {r.service_rps_2w:.0f} ({r.bare_rps_2w:.0f}) "
            f"| {r.service_cpu_load_ms:.2f} ms ({r.bare_cpu_load_ms:.2f} ms) | {r.peak_rss_mib:.0f} |"
        )
    names = list(results[0].stages_ms)
    lines += ["", "Stages in process, median CPU ms:", "", "| chart | " + " | ".join(names) + " |"]
    lines.append("|---" * (len(names) + 1) + "|")
    for r in results:
        lines.append(f"| {r.name} | " + " | ".join(f"{r.stages_ms[s]:.3f}" for s in names) + " |")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="a quarter of the requests and time")
    parser.add_argument("--clients", type=int, default=32, help="concurrent connections (default 32)")
    parser.add_argument(
        "--client",
        choices=("wrk", "python"),
        default="wrk" if shutil.which("wrk") else "python",
        help="throughput client: wrk when installed (default), else Python threads",
    )
    parser.add_argument("--seconds", type=float, default=4.0, help="per throughput run (default 4)")
    parser.add_argument(
        "--only", help='chart names separated by ";" (default: all), e.g. "demo 05 (5);4,400"'
    )
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results"), help="path without suffix")
    args = parser.parse_args()
    wanted = set(args.only.split(";")) if args.only else None
    started = time.monotonic()
    meta: dict[str, Any] = {
        "started": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{os.cpu_count()} CPUs, Python {platform.python_version()}",
        "load_before": Path("/proc/loadavg").read_text().split()[0],
        "throughput_client": f"{args.client}, {args.clients} connections",
    }
    results = []
    bodies = {name: body for name, body in charts().items() if wanted is None or name in wanted}
    # Like a worker after warm-up (cds_service.calls.warmup.settle_heap): the charts held here
    # would otherwise be walked by every full collection during the in-process stages.
    gc.collect()
    gc.freeze()
    for name, body in bodies.items():
        print(f"{name} ...", file=sys.stderr, flush=True)
        results.append(measure(name, body, args))
    meta["load_after"] = Path("/proc/loadavg").read_text().split()[0]
    meta["duration_s"] = time.monotonic() - started
    text = markdown(results, meta)
    out = Path(args.out)
    out.with_suffix(".md").write_text(text, encoding="utf-8")
    out.with_suffix(".json").write_text(
        json.dumps({"meta": meta, "charts": [asdict(r) for r in results]}, indent=2) + "\n", encoding="utf-8"
    )
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
