"""MRCDS_METRICS_PORT: /metrics on a port of its own, which answers nothing else, so that a
NetworkPolicy or firewall can keep metrics inside while the service's port is public."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
import requests
from flask import Flask

from tests.conftest import SERVICE_URL, all_keys_null, hook_request
from tests.serving import free_port, mr_cds_command, serve

METRICS_PORT = 9464


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Flask:
    return make_app(metrics="on", metrics_port=str(METRICS_PORT), warm_up=False)


def test_metrics_are_served_on_the_metrics_port(app: Flask) -> None:
    response = app.test_client().get("/metrics", base_url=f"http://localhost:{METRICS_PORT}")
    assert response.status_code == 200
    assert "mrcds_http_requests_total" in response.get_data(as_text=True)


def test_the_service_port_refuses_metrics(app: Flask) -> None:
    response = app.test_client().get("/metrics", base_url="http://localhost:8080")
    assert response.status_code == 404
    assert response.get_json()["resourceType"] == "OperationOutcome"


@pytest.mark.parametrize("path", ["/cds-services", "/healthz", "/readyz", "/openapi.yaml"])
def test_the_metrics_port_serves_nothing_else(app: Flask, path: str) -> None:
    assert app.test_client().get(path, base_url=f"http://localhost:{METRICS_PORT}").status_code == 404
    assert app.test_client().get(path, base_url="http://localhost:8080").status_code == 200


@pytest.mark.e2e
def test_under_gunicorn_each_listener_answers_its_own_paths(tmp_path: Path) -> None:
    metrics_port = free_port()
    env = {
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "MRCDS_METRICS": "on",
        "MRCDS_METRICS_PORT": str(metrics_port),
    }
    with serve(tmp_path, env, workers=1) as served:
        metrics_base = f"http://127.0.0.1:{metrics_port}"
        assert requests.post(f"{served.base}{SERVICE_URL}", json=hook_request(all_keys_null()), timeout=10).ok
        assert requests.get(f"{served.base}/metrics", timeout=5).status_code == 404
        scraped = requests.get(f"{metrics_base}/metrics", timeout=5)
        assert scraped.status_code == 200
        assert (
            'mrcds_http_requests_total{endpoint="/cds-services/<service_id>",status="200"} 1.0'
            in scraped.text
        )
        assert requests.get(f"{metrics_base}/cds-services", timeout=5).status_code == 404


def test_serve_refuses_a_metrics_port_equal_to_its_own(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MRCDS_")}
    env.update({"XDG_DATA_HOME": str(tmp_path), "MRCDS_METRICS": "on", "MRCDS_METRICS_PORT": str(port)})
    done = subprocess.run(
        [*mr_cds_command(), "serve", "--port", str(port)],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        f"mr-cds: MRCDS_METRICS_PORT: must differ from the service's port {port}"
    ]
