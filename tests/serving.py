"""Start `mr-cds serve` (gunicorn) on a free loopback port for end-to-end tests."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

#: The test being set up or run (set by tests/conftest.py), for ``must_be_marked``.
RUNNING_TEST: pytest.Item | None = None


def must_be_marked() -> None:
    """Starting a process takes seconds: only tests marked ``e2e`` or ``slow`` may, so that
    the fast loop (`pytest -m "not slow and not e2e"`) stays fast."""
    item = RUNNING_TEST
    if item is not None and not {m.name for m in item.iter_markers()} & {"e2e", "slow"}:
        pytest.fail(
            f"{item.nodeid} starts `mr-cds serve`: mark it e2e (pytestmark = pytest.mark.e2e) "
            "or list it in SLOW (tests/conftest.py)",
            pytrace=False,
        )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def mr_cds_command() -> list[str]:
    script = shutil.which("mr-cds", path=str(Path(sys.executable).parent))
    return [script] if script else [sys.executable, "-m", "cds_service"]


def serve_expecting_exit(env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    """Run `mr-cds serve` with exactly ``env`` where start-up is expected to fail."""
    must_be_marked()
    return subprocess.run(
        [*mr_cds_command(), "serve", "--port", str(free_port())],
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def wait_until_healthy(base: str, proc: subprocess.Popen[bytes], log_path: Path) -> None:
    """Wait for ``GET /healthz`` to answer 200; fail with the server's log if it exits or
    takes more than 30 s."""
    give_up = time.monotonic() + 30
    while True:
        try:
            if requests.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        if proc.poll() is not None or time.monotonic() > give_up:
            raise RuntimeError(f"mr-cds serve did not start:\n{log_path.read_text()}")
        time.sleep(0.1)


@dataclass(frozen=True)
class Served:
    base: str
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")


@contextmanager
def serve(tmp: Path, env: Mapping[str, str], *, workers: int = 2) -> Iterator[Served]:
    """Run the service with only ``env`` as MRCDS_* configuration; stop it afterwards."""
    must_be_marked()
    port = free_port()
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("MRCDS_")}
    full_env.update(env)
    log_path = tmp / "server.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [*mr_cds_command(), "serve", "--port", str(port), "--workers", str(workers)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=full_env,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(base, proc, log_path)
        yield Served(base, log_path)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
