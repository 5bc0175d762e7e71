"""Every `sh` block of the README runs as written: the quick start's server is started on a
free port and the other blocks are run against it, from a folder that looks like a clone
with its `.venv` (this test environment's)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.serving import free_port, wait_until_healthy

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
BLOCK = re.compile(r"(?:<!-- ([^>]*?) -->\n)?```sh\n(.*?)\n```", re.S)
#: Blocks run elsewhere: CI runs the install and test commands on a clean clone; the
#: container's command is checked against the Dockerfile, and the compose trial steps run in
#: a copy of deploy/ (tests/deploy).
RUN_ELSEWHERE = {"install-command", "plain-install", "test-command", "container-command", "trial-setup"}
SERVE = "serve-command"


def blocks() -> list[tuple[str | None, str]]:
    return [(m.group(1), m.group(2)) for m in BLOCK.finditer(README.read_text(encoding="utf-8"))]


def runnable() -> list[str]:
    return [
        text
        for marker, text in blocks()
        if marker not in RUN_ELSEWHERE and marker != SERVE and not (marker or "").startswith("not-run:")
    ]


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with the repository's files and this environment as its `.venv`."""
    folder = tmp_path_factory.mktemp("clone")
    for entry in ROOT.iterdir():
        if entry.name != ".venv":
            (folder / entry.name).symlink_to(entry)
    (folder / ".venv").symlink_to(Path(sys.prefix))
    return folder


@pytest.fixture(scope="module")
def port(clone: Path) -> Iterator[int]:
    """The quick start's serve command, on a free port instead of 8080."""
    (serve_command,) = [text for marker, text in blocks() if marker == SERVE]
    chosen = free_port()
    log_path = clone.parent / "readme-serve.log"
    log = log_path.open("w")
    proc = subprocess.Popen(
        ["bash", "-c", f"exec {serve_command} --port {chosen}"],
        cwd=clone,
        env=_env(clone),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_until_healthy(f"http://127.0.0.1:{chosen}", proc, log_path)
        yield chosen
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


def _env(clone: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MRCDS_")}
    env["XDG_DATA_HOME"] = str(clone.parent / "data")
    return env


def test_the_readme_has_blocks_to_run() -> None:
    assert len(runnable()) >= 3
    markers = {marker for marker, _ in blocks()}
    assert {SERVE, "install-command", "test-command", "plain-install", "container-command"} <= markers


@pytest.mark.parametrize("block", runnable(), ids=lambda text: text.splitlines()[0][:60])
def test_readme_block_runs_as_written(block: str, clone: Path, port: int) -> None:
    script = block.replace("127.0.0.1:8080", f"127.0.0.1:{port}")
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=clone,
        env=_env(clone),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = f"--- stdout\n{done.stdout[-2000:]}\n--- stderr\n{done.stderr[-2000:]}"
    assert done.returncode == 0, f"{block}\n{output}"


def test_scripts_named_in_the_readme_are_run_with_the_venvs_python() -> None:
    text = README.read_text(encoding="utf-8")
    for match in re.finditer(r"`([^`]*\bbenchmarks/\w+\.py)`", text):
        assert match.group(1).startswith(".venv/bin/python "), match.group(1)
