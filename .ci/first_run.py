"""CI: install the service as a user would, in a fresh virtual environment with no test
extras, start it with the README's serve command on a free loopback port, and check that
it answers ``/readyz`` and gives demo patient 02 its cards over HTTP.

    python3 .ci/first_run.py plain   the README's plain install (<!-- plain-install -->)
    python3 .ci/first_run.py image   the Dockerfile's pip steps, replayed in a venv

Each mode works in a copy of the source tree in a new temporary folder, so nothing of the
developer's `.venv` (or its test tools) can leak in. Standard library only: the check must
not need anything the install under test did not bring.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEMO = "examples/patients/02-cardiogenic-shock.json"
SERVICE = "/cds-services/severe-mitral-regurgitation"
READY_WITHIN_S = 90
SKIPPED = {".venv", ".git", "build", ".mypy_cache", ".ruff_cache", ".pytest_cache", "__pycache__"}


def readme_command(marker: str) -> str:
    """The first line of the code block that follows ``<!-- marker -->`` in README.md."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(rf"^<!-- {re.escape(marker)} -->\n```\w*\n(.+)$", text, re.M)
    if not match:
        sys.exit(f"CI: README has no {marker} block")
    return match.group(1).strip()


def copy_tree(to: Path) -> None:
    def ignore(_folder: str, names: list[str]) -> set[str]:
        return {n for n in names if n in SKIPPED or n.endswith(".egg-info")}

    shutil.copytree(ROOT, to, ignore=ignore, symlinks=True)


def run(command: str, cwd: Path) -> None:
    print(f"+ {command}", flush=True)
    subprocess.run(["bash", "-euo", "pipefail", "-c", command], cwd=cwd, check=True)


def dockerfile_pip_steps() -> list[str]:
    """The Dockerfile's RUN steps that install Python packages, command by command.

    Only the commands that start with ``python`` or ``pip`` are kept (users and folders are
    the image's business); ``--no-cache-dir`` is dropped so CI reuses pip's cache.
    """
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    joined = re.sub(r"\\\n", " ", text)
    steps: list[str] = []
    for line in joined.splitlines():
        if not line.startswith("RUN "):
            continue
        for part in line[len("RUN ") :].split("&&"):
            command = " ".join(part.split())
            if command.startswith(("python ", "pip ")):
                steps.append(command.replace(" --no-cache-dir", ""))
    if not any("-r /tmp/requirements.txt" in s for s in steps) or not any("--no-deps" in s for s in steps):
        sys.exit(f"CI: the Dockerfile's install steps changed; update {Path(__file__).name}: {steps}")
    return steps


def install_like_the_image(clone: Path) -> None:
    run("python3 -m venv .venv", clone)
    requirements = clone / "image-requirements.txt"
    for step in dockerfile_pip_steps():
        step = step.replace("/tmp/requirements.txt", shlex.quote(str(requirements)))
        step = re.sub(r"^(python|pip) ", r".venv/bin/\1 ", step)
        run(step, clone)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def http(url: str, body: bytes | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def wait_ready(base: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    give_up = time.monotonic() + READY_WITHIN_S
    while time.monotonic() < give_up:
        if proc.poll() is not None:
            sys.exit(f"CI: the service exited with status {proc.returncode}:\n{log.read_text()}")
        try:
            if http(f"{base}/readyz")[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.25)
    sys.exit(f"CI: /readyz did not answer 200 within {READY_WITHIN_S} s:\n{log.read_text()}")


def expected_cards(clone: Path) -> list[str]:
    done = subprocess.run(
        [".venv/bin/mr-cds", "evaluate", DEMO, "--format", "json"],
        cwd=clone,
        capture_output=True,
        check=True,
    )
    return sorted(c["source"]["topic"]["code"] for c in json.loads(done.stdout)["cards"])


def check_served(clone: Path, scratch: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    serve = readme_command("serve-command")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MRCDS_")}
    env["XDG_DATA_HOME"] = str(scratch / "data")
    log = scratch / "serve.log"
    print(f"+ {serve} --port {port}", flush=True)
    with log.open("wb") as out:
        proc = subprocess.Popen(
            ["bash", "-c", f"exec {serve} --port {port}"],
            cwd=clone,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_ready(base, proc, log)
        if "serving on" not in log.read_text(encoding="utf-8", errors="replace"):
            sys.exit(f"CI: ready, but the banner is missing:\n{log.read_text()}")
        request = subprocess.run(
            [".venv/bin/mr-cds", "demo", DEMO], cwd=clone, capture_output=True, check=True
        ).stdout
        status, body = http(f"{base}{SERVICE}", request)
        if status != 200:
            sys.exit(f"CI: demo patient 02 got HTTP {status}: {body[:500]!r}")
        got = sorted(c["source"]["topic"]["code"] for c in json.loads(body)["cards"])
        wanted = expected_cards(clone)
        if not wanted or got != wanted:
            sys.exit(f"CI: demo patient 02 got cards {got}, expected {wanted}")
        print(f"CI: /readyz 200; demo patient 02 got its cards over HTTP: {', '.join(got)}", flush=True)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def main(mode: str) -> None:
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix=f"mrcds-{mode}-") as tmp:
        scratch = Path(tmp)
        clone = scratch / "clone"
        copy_tree(clone)
        if mode == "plain":
            run(readme_command("plain-install"), clone)
        elif mode == "image":
            install_like_the_image(clone)
        else:
            sys.exit(f"usage: {sys.argv[0]} plain|image")
        check_served(clone, scratch)
    print(f"CI: {mode} install served demo patient 02 in {time.monotonic() - started:.0f} s", flush=True)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "")
