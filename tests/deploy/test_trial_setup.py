"""The README's trial steps for docker compose, run as written in a copy of deploy/: every
file compose mounts then exists and is usable (no Docker daemon here to run `up` itself)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from cds_service.auth.issuers import load_issuers
from cds_service.core.settings import Settings
from tests.deploy.test_compose import nginx_t
from tests.deploy.tooling import ROOT, tool

README = ROOT / "README.md"


def trial_steps() -> str:
    match = re.search(
        r"<!-- trial-setup -->\n```sh\n(.+?)\n```", README.read_text(encoding="utf-8"), flags=re.S
    )
    assert match, "README has no block under <!-- trial-setup -->"
    return match.group(1)


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh clone's deploy/ and compose file (nothing git ignores), after the trial steps."""
    folder = tmp_path_factory.mktemp("fresh-clone")
    shutil.copytree(
        ROOT / "deploy",
        folder / "deploy",
        ignore=shutil.ignore_patterns("issuers.json", "secrets", "tls", "__pycache__"),
    )
    shutil.copy(ROOT / "docker-compose.yml", folder / "docker-compose.yml")
    shutil.copytree(ROOT / "examples", folder / "examples")
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", trial_steps()],
        cwd=folder, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return folder


def compose_file_sources(folder: Path) -> list[str]:
    compose: dict[str, Any] = yaml.safe_load((folder / "docker-compose.yml").read_text(encoding="utf-8"))
    return [
        volume["source"]
        for service in compose["services"].values()
        for volume in service.get("volumes", [])
        if isinstance(volume, dict) and volume["type"] == "bind"
    ]


def test_every_file_compose_mounts_exists_after_the_trial_steps(clone: Path) -> None:
    sources = compose_file_sources(clone)
    assert len(sources) >= 5
    for source in sources:
        assert (clone / source).is_file(), source


def test_without_the_trial_steps_a_fresh_clone_lacks_them() -> None:
    # What the steps are for: none of these files is shipped (git ignores them).
    gitignore = (ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()
    for source in compose_file_sources(ROOT):
        assert any(source.removeprefix("./").startswith(line.rstrip("/")) for line in gitignore if line), (
            source
        )


def test_the_issuers_file_is_the_example_and_loads(clone: Path) -> None:
    issuers = load_issuers(str(clone / "deploy" / "issuers.json"))
    assert list(issuers) == ["https://ehr.example.org"]


def test_the_database_url_file_passes_the_services_check_and_holds_the_postgres_password(clone: Path) -> None:
    url_file = clone / "deploy" / "secrets" / "database_url"
    settings = Settings.load(environ={"MRCDS_DATABASE_URL_FILE": str(url_file)})
    password = (clone / "deploy" / "secrets" / "postgres_password").read_text(encoding="utf-8")
    assert re.fullmatch(r"[0-9a-f]{48}", password)
    assert settings.database_url == f"postgresql+psycopg://mrcds:{password}@db:5432/mrcds?connect_timeout=3"
    # Readable by the containers' users, which are not the host's.
    assert url_file.stat().st_mode & 0o044 == 0o044


def test_the_self_signed_certificate_is_for_localhost_and_matches_its_key(clone: Path) -> None:
    tls = clone / "deploy" / "tls"
    cert = str(tls / "fullchain.pem")
    shown = subprocess.run(
        ["openssl", "x509", "-in", cert, "-noout", "-subject", "-ext", "subjectAltName"],
        capture_output=True, text=True, timeout=30, check=True,
    ).stdout  # fmt: skip
    assert "CN = localhost" in shown
    assert "DNS:localhost" in shown
    cert_key = subprocess.run(
        ["openssl", "x509", "-in", str(tls / "fullchain.pem"), "-noout", "-pubkey"],
        capture_output=True, text=True, timeout=30, check=True,
    ).stdout  # fmt: skip
    private_key = subprocess.run(
        ["openssl", "pkey", "-in", str(tls / "privkey.pem"), "-pubout"],
        capture_output=True, text=True, timeout=30, check=True,
    ).stdout  # fmt: skip
    assert cert_key == private_key


def test_nginx_accepts_its_configuration_with_the_trial_certificate(clone: Path, tmp_path: Path) -> None:
    nginx = tool("nginx", "apt-get install nginx-light")
    nginx_t(nginx, tmp_path, clone / "deploy" / "tls")
