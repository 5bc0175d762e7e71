"""End to end under gunicorn: metrics add up across workers, logs are JSON lines, and
`mr-cds serve` says what it does (or, in one line, why it cannot)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import SERVICE_URL, all_keys_null, hook_request
from tests.serving import Served, free_port, mr_cds_command, serve

pytestmark = pytest.mark.e2e

CALLS = 12


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    tmp = tmp_path_factory.mktemp("watched")
    metrics_dir = tmp / "metrics"
    _leave_counts_of_an_earlier_run(metrics_dir)
    env = {
        "XDG_DATA_HOME": str(tmp / "data"),
        "MRCDS_METRICS": "on",
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
    }
    with serve(tmp, env) as served:
        for _ in range(CALLS):
            # A new connection each time, so that both workers get some of the calls.
            with requests.Session() as fresh:
                fresh.post(f"{served.base}{SERVICE_URL}", json=hook_request(all_keys_null()), timeout=10)
        yield served


def _leave_counts_of_an_earlier_run(directory: Path) -> None:
    """Metric files as a previous start of the service would have left them: 100 calls."""
    script = (
        "import pathlib, sys; from cds_service.core import metrics; "
        "metrics.enable_multiprocess(pathlib.Path(sys.argv[1])); metrics.set_recording(True); "
        "[metrics.request_answered('/cds-services/<service_id>', 200, 0.01) for _ in range(100)]"
    )
    subprocess.run([sys.executable, "-c", script, str(directory)], check=True, timeout=60)
    assert list(directory.glob("*.db"))


def counted(served: Served, name: str, **labels: str) -> float:
    text = requests.get(f"{served.base}/metrics", timeout=5).text
    return sum(
        s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
    )


def test_metrics_count_every_workers_requests(server: Served) -> None:
    route = "/cds-services/<service_id>"
    # Whichever worker answers the scrape, it reports the calls both workers answered, and
    # only those of this run.
    for _ in range(4):
        assert counted(server, "mrcds_http_requests_total", endpoint=route, status="200") == CALLS


def test_readyz_over_http(server: Served) -> None:
    response = requests.get(f"{server.base}/readyz", timeout=5)
    assert response.status_code == 200
    assert response.json()["status"] == "ready"


def test_every_log_line_is_json_and_each_request_is_logged_once(server: Served) -> None:
    lines = server.log().splitlines()
    rest = [line for line in lines if line != _banner(server)]
    assert len(rest) == len(lines) - 1  # the banner is said once, by the first worker ready
    entries = [json.loads(line) for line in rest]  # fails on any line that is not JSON
    calls = [e for e in entries if e["logger"] == "cds_service.access" and e["endpoint"].startswith("/cds")]
    assert len(calls) == CALLS
    assert {e["request_id"] for e in calls} == {hook_request()["hookInstance"]}
    assert not [e for e in entries if e["logger"] == "gunicorn.access"]
    assert all("time" in e for e in entries)


def _banner(server: Served) -> str:
    (banner,) = [line for line in server.log().splitlines() if line.startswith("mr-cds ")]
    return banner


def test_serve_says_where_the_database_is_and_how_to_stop(server: Served) -> None:
    banner = _banner(server)
    assert "feedback database " in banner
    assert "mr-cds.sqlite3" in banner
    assert "Ctrl-C" in banner


def run_cli(
    *args: str, tmp_path: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*mr_cds_command(), *args],
        env={"PATH": "/usr/bin:/bin", "XDG_DATA_HOME": str(tmp_path), **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_banner_comes_once_a_worker_can_answer(server: Served) -> None:
    lines = server.log().splitlines()
    banner_at = lines.index(_banner(server))
    booted = [i for i, line in enumerate(lines) if "Booting worker" in line]
    assert "serving on http://127.0.0.1:" in lines[banner_at]
    assert booted
    assert min(booted) < banner_at


def test_a_missing_dependency_is_one_line_and_no_banner(tmp_path: Path) -> None:
    # A module of that name that cannot be imported: what a plain install without
    # gunicorn's gevent extra looked like (gunicorn's gevent worker imports packaging).
    shadow = tmp_path / "shadow"
    shadow.mkdir()
    (shadow / "packaging.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'packaging'\", name='packaging')\n", encoding="utf-8"
    )
    done = run_cli("serve", "--port", str(free_port()), tmp_path=tmp_path, env={"PYTHONPATH": str(shadow)})
    assert done.returncode == 2
    assert "serving on" not in done.stderr
    (line,) = [line for line in done.stderr.splitlines() if not line.startswith("{")]
    assert line.startswith("mr-cds: cannot start: the Python module 'packaging' is missing")
    assert "Traceback" not in done.stderr


def test_a_port_in_use_is_one_line_suggesting_another_port(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = run_cli("serve", "--port", str(port), tmp_path=tmp_path)
    assert done.returncode == 2
    reason = f"port {port} is already in use; choose another with --port"
    assert done.stderr.splitlines() == [f"mr-cds: cannot listen on 127.0.0.1:{port}: {reason}"]


@pytest.mark.parametrize(("flag", "value"), [("--port", "0"), ("--port", "70000"), ("--workers", "0")])
def test_a_bad_flag_is_named(flag: str, value: str, tmp_path: Path) -> None:
    done = run_cli("serve", flag, value, tmp_path=tmp_path)
    assert done.returncode == 2
    assert f"argument {flag}: must be" in done.stderr.splitlines()[-1]


def test_version(tmp_path: Path) -> None:
    from importlib.metadata import version

    done = run_cli("--version", tmp_path=tmp_path)
    assert done.returncode == 0
    assert done.stdout.strip() == f"mr-cds {version('mr-cds-hooks')}"


def test_an_unknown_host_is_one_line(tmp_path: Path) -> None:
    done = run_cli(
        "serve",
        "--host",
        "no-such-host.invalid",
        "--port",
        str(free_port()),
        tmp_path=tmp_path,
        env={"MRCDS_AUTH": "off", "MRCDS_ALLOW_INSECURE": "1"},  # past the authentication check
    )
    assert done.returncode == 2
    assert len(done.stderr.splitlines()) == 1
    assert "check --host" in done.stderr


def test_the_banner_shows_a_database_url_without_its_password() -> None:
    from cds_service.runtime.serve_checks import database_shown

    shown = database_shown("postgresql+psycopg://mrcds:hunter2@db:5432/mrcds")
    assert "hunter2" not in shown
    assert shown.startswith("postgresql+psycopg://mrcds:")
    assert shown.endswith("@db:5432/mrcds")


def test_an_unusable_metrics_folder_is_one_line(tmp_path: Path) -> None:
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("", encoding="utf-8")
    done = run_cli(
        "serve",
        "--port",
        str(free_port()),
        tmp_path=tmp_path,
        env={
            "MRCDS_AUTH": "off",
            "MRCDS_ALLOW_INSECURE": "1",  # past the authentication check
            "MRCDS_METRICS": "on",
            "PROMETHEUS_MULTIPROC_DIR": str(not_a_folder / "metrics"),
        },
    )
    assert done.returncode == 2
    (line,) = done.stderr.splitlines()
    assert line.startswith("mr-cds: PROMETHEUS_MULTIPROC_DIR: cannot use ")
