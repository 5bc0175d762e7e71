"""docker-compose.yml and the nginx configuration, checked without Docker: the compose file
parses and names replicas, PostgreSQL and nginx; nginx accepts its configuration."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from cds_service.core.settings import ENV_PREFIX, Settings, settings_table
from tests.deploy.tooling import ROOT, tool

COMPOSE = ROOT / "docker-compose.yml"
NGINX_TEMPLATE = ROOT / "deploy" / "nginx" / "mr-cds.conf.template"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    return doc


def env_of(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    return {str(k): str(v) for k, v in env.items()}


def test_two_replicas_of_the_service_built_from_this_repository(compose: dict[str, Any]) -> None:
    service = compose["services"]["mrcds"]
    assert service["deploy"]["replicas"] == 2
    builder = compose["services"]["migrate"]
    assert builder["build"] == "."
    assert service["image"] == builder["image"]
    assert "ports" not in service  # reachable only through the proxy


def test_postgresql_holds_the_state_and_the_schema_is_upgraded_first(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert services["db"]["image"].startswith("postgres:")
    assert "healthcheck" in services["db"]
    assert services["migrate"]["command"] == ["mr-cds", "db", "upgrade"]
    assert services["migrate"]["depends_on"]["db"]["condition"] == "service_healthy"
    assert services["mrcds"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert env_of(services["mrcds"])["MRCDS_DATABASE_UPGRADE_ON_START"] == "false"
    # The URL and the password come from files (tests/deploy/test_trial_setup.py checks
    # what the trial steps write there), never from the environment.
    assert "MRCDS_DATABASE_URL" not in env_of(services["mrcds"])
    assert env_of(services["mrcds"])["MRCDS_DATABASE_URL_FILE"] == "/run/secrets/mrcds_database_url"
    assert (
        bind_mounts(services["mrcds"])["/run/secrets/mrcds_database_url"] == "./deploy/secrets/database_url"
    )
    assert "POSTGRES_PASSWORD" not in env_of(services["db"])
    assert env_of(services["db"])["POSTGRES_PASSWORD_FILE"] == "/run/secrets/postgres_password"
    assert (
        bind_mounts(services["db"])["/run/secrets/postgres_password"] == "./deploy/secrets/postgres_password"
    )


def bind_mounts(service: dict[str, Any]) -> dict[str, str]:
    """Target -> source of the service's bind mounts of files (long syntax)."""
    return {
        v["target"]: v["source"]
        for v in service.get("volumes", [])
        if isinstance(v, dict) and v["type"] == "bind"
    }


def test_every_mounted_file_must_exist_rather_than_become_a_folder(compose: dict[str, Any]) -> None:
    # Short syntax (and create_host_path) makes Docker create a missing source as an empty
    # folder owned by root; long syntax without it makes `up` fail naming the path.
    for name, service in compose["services"].items():
        for volume in service.get("volumes", []):
            if isinstance(volume, str):
                source = volume.split(":", 1)[0]
                if source.startswith("."):  # only files shipped in the repository
                    assert (ROOT / source).is_file(), f"{name}: bind-mount {source} with the long syntax"
            elif volume["type"] == "bind":
                assert volume["bind"]["create_host_path"] is False, (name, volume["source"])
                assert volume["read_only"] is True, (name, volume["source"])


def test_the_service_sees_only_real_settings(compose: dict[str, Any]) -> None:
    known = {variable for variable, _, _ in settings_table()}
    variables = {k for k in env_of(compose["services"]["mrcds"]) if k.startswith(ENV_PREFIX)}
    assert variables <= known, variables - known
    assert {
        "MRCDS_DATABASE_URL_FILE",
        "MRCDS_PUBLIC_BASE_URL",
        "MRCDS_CORS_ORIGINS",
        "MRCDS_METRICS",
    } <= variables


def test_replicas_authenticate_clients_with_the_mounted_issuers_file(compose: dict[str, Any]) -> None:
    for name in ("mrcds", "migrate"):
        service = compose["services"][name]
        env = env_of(service)
        assert env["MRCDS_AUTH"] == "jwt"
        assert bind_mounts(service)[env["MRCDS_TRUSTED_ISSUERS"]] == "./deploy/issuers.json"
        assert env["MRCDS_PUBLIC_BASE_URL"].startswith("${MRCDS_PUBLIC_BASE_URL:?")


def test_nginx_fronts_the_replicas_with_the_template(compose: dict[str, Any]) -> None:
    proxy = compose["services"]["proxy"]
    assert proxy["image"].startswith("nginx:")
    mounts = proxy["volumes"]
    assert "./deploy/nginx/mr-cds.conf.template:/etc/nginx/templates/default.conf.template:ro" in mounts
    tls = bind_mounts(proxy)
    assert tls["/etc/nginx/tls/fullchain.pem"] == "./deploy/tls/fullchain.pem"
    assert tls["/etc/nginx/tls/privkey.pem"] == "./deploy/tls/privkey.pem"
    assert "mrcds" in proxy["depends_on"]


def test_proxy_and_service_share_one_body_limit_defaulting_to_the_services(compose: dict[str, Any]) -> None:
    service_limit = env_of(compose["services"]["mrcds"])["MRCDS_MAX_BODY_BYTES"]
    proxy_limit = env_of(compose["services"]["proxy"])["MRCDS_MAX_BODY_BYTES"]
    assert service_limit == proxy_limit == f"${{MRCDS_MAX_BODY_BYTES:-{Settings().max_body_bytes}}}"
    assert "client_max_body_size ${MRCDS_MAX_BODY_BYTES};" in NGINX_TEMPLATE.read_text(encoding="utf-8")


def nginx_directives() -> str:
    return NGINX_TEMPLATE.read_text(encoding="utf-8")


def nginx_t(nginx: str, folder: Path, tls: Path) -> None:
    """``nginx -t`` on the proxy configuration rendered as the nginx image's entrypoint does,
    with the certificate and key in ``tls`` and the files of the run in ``folder``."""
    rendered = (
        nginx_directives()
        .replace("${MRCDS_MAX_BODY_BYTES}", str(Settings().max_body_bytes))
        .replace("/etc/nginx/tls/", f"{tls}/")
        .replace("/dev/stdout", str(folder / "access.log"))
    )
    assert "${" not in rendered
    (folder / "mr-cds.conf").write_text(rendered, encoding="utf-8")
    (folder / "nginx.conf").write_text(
        f"pid {folder}/nginx.pid;\nerror_log {folder}/error.log;\nevents {{}}\n"
        f"http {{\n  include {folder}/mr-cds.conf;\n}}\n",
        encoding="utf-8",
    )
    done = subprocess.run(
        [nginx, "-t", "-p", str(folder), "-c", str(folder / "nginx.conf")],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize(
    "directive",
    [
        "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
        "proxy_set_header X-Forwarded-Proto $scheme;",
        "proxy_set_header X-Request-ID $request_id;",
        "proxy_read_timeout 15s;",
        "proxy_connect_timeout 2s;",
        "client_body_timeout 10s;",
        "ssl_protocols TLSv1.2 TLSv1.3;",
    ],
)
def test_nginx_sets(directive: str) -> None:
    assert directive in nginx_directives()


def test_nginx_never_serves_metrics_to_the_outside() -> None:
    assert re.search(r"location = /metrics \{\s*return 404;\s*\}", nginx_directives())


def test_nginx_accepts_the_configuration(tmp_path: Path) -> None:
    nginx = tool("nginx", "apt-get install nginx-light")
    tls = tmp_path / "tls"
    tls.mkdir()
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
         "-keyout", str(tls / "privkey.pem"), "-out", str(tls / "fullchain.pem")],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    nginx_t(nginx, tmp_path, tls)
