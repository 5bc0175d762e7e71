"""A throwaway PostgreSQL cluster that fault tests may stop, restart and pause.

Never the shared ``MRCDS_TEST_POSTGRES_URL`` server: each fault test module makes its own
cluster with ``.ci/postgres`` (initdb, loopback only, fsync off) and removes it afterwards.
Pausing sends SIGSTOP to the postmaster and its children (found by parent pid in /proc, so
only this cluster's processes), and ``resume`` always follows in a ``finally``.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

ROOT = Path(__file__).parents[2]
SCRIPT = ROOT / ".ci" / "postgres"


def _pg_bin() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    return found[-1].parent if found else None


def _as_postgres(argv: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


@dataclass
class Cluster:
    directory: Path
    url: str

    @property
    def port(self) -> int:
        return int(make_url(self.url).port or 5432)

    def _pg_ctl(self, *args: str) -> None:
        bin_dir = _pg_bin()
        assert bin_dir is not None
        subprocess.run(
            _as_postgres([str(bin_dir / "pg_ctl"), "-D", str(self.directory / "data"), *args]),
            check=True,
            capture_output=True,
            timeout=60,
        )

    def stop(self) -> None:
        self._pg_ctl("-m", "fast", "-w", "stop")

    def start(self) -> None:
        """Start again on the same port, with the options ``.ci/postgres`` used."""
        options = (
            f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.directory} -c fsync=off "
            "-c max_connections=200"
        )
        self._pg_ctl("-l", str(self.directory / "server.log"), "-w", "-t", "60", "-o", options, "start")

    def processes(self) -> list[int]:
        """The postmaster and its children."""
        pid_file = self.directory / "data" / "postmaster.pid"
        postmaster = int(pid_file.read_text().split()[0])
        children = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == postmaster:
                children.append(int(stat.parent.name))
        return [postmaster, *children]

    @contextmanager
    def paused(self) -> Iterator[None]:
        """Every process of the cluster stopped (SIGSTOP) for the block, then resumed."""
        stopped: list[int] = []
        try:
            # Listed again until nothing new: a backend forked between the listing and the
            # postmaster's stop would otherwise keep answering (and /readyz with it).
            while fresh := [pid for pid in self.processes() if pid not in stopped]:
                for pid in fresh:
                    with suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGSTOP)
                    stopped.append(pid)
            yield
        finally:
            for pid in stopped:
                with suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGCONT)


@contextmanager
def throwaway_cluster() -> Iterator[Cluster]:
    """A new cluster in a new folder under the temporary directory, removed afterwards;
    skipped where no PostgreSQL server is installed."""
    if _pg_bin() is None or (os.geteuid() == 0 and shutil.which("runuser") is None):
        pytest.skip("no PostgreSQL server installed here (see .ci/postgres)")
    # Not under pytest's tmp_path: the postgres user could not reach a folder of root's.
    directory = Path(tempfile.mkdtemp(prefix="mrcds-faults-pg-"))
    try:
        started = subprocess.run(
            [str(SCRIPT), "start", str(directory)], capture_output=True, text=True, timeout=180, check=False
        )
        try:
            if started.returncode != 0:
                pytest.fail(f".ci/postgres start failed: {started.stderr[-2000:]}")
            yield Cluster(directory, started.stdout.strip())
        finally:
            subprocess.run(
                [str(SCRIPT), "stop", str(directory)], capture_output=True, timeout=120, check=False
            )
    finally:
        shutil.rmtree(directory, ignore_errors=True)
