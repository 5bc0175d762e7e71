"""End to end: `mr-cds serve` under gunicorn on a free port, spoken to over a real socket."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from cds_service.calls.schemas import validate_response
from tests.conftest import DATA, SERVICE_URL, all_keys_null, hook_request, load_json
from tests.serving import Served, serve

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    tmp = tmp_path_factory.mktemp("serve")
    # Zero configuration: no MRCDS_* at all; only the default SQLite file's folder is moved
    # out of the home directory.
    with serve(tmp, {"XDG_DATA_HOME": str(tmp / "data")}) as served:
        yield served


def _post(server: Served, path: str, body: Any, **headers: str) -> requests.Response:
    return requests.post(
        f"{server.base}{path}",
        data=json.dumps(body),
        headers={"Content-Type": "application/json", **headers},
        timeout=10,
    )


def test_served_by_gunicorn_not_the_flask_development_server(server: Served) -> None:
    assert (
        "gunicorn" in requests.get(f"{server.base}/cds-services", timeout=5).headers.get("Server", "").lower()
    )


def test_discovery_over_http(server: Served) -> None:
    response = requests.get(f"{server.base}/cds-services", timeout=5)
    assert response.status_code == 200
    assert response.json()["services"][0]["id"] == "severe-mitral-regurgitation"


def test_hl7_example_request_over_http_is_412(server: Served) -> None:
    body = load_json(DATA / "hl7" / "Binary-CDSHooksRequestPV.json")
    response = _post(server, SERVICE_URL, body)
    assert response.status_code == 412
    assert response.json()["issue"][0]["expression"] == ["prefetch.conditions"]
    assert "some-opaque-fhir-access-token" not in server.log()


def test_empty_chart_over_http_is_200_without_cards(server: Served) -> None:
    response = _post(server, SERVICE_URL, hook_request(all_keys_null()))
    assert response.status_code == 200
    validate_response(response.json())
    assert response.json() == {"cards": []}


def test_preflight_over_http_allows_no_origin_without_authentication(server: Served) -> None:
    response = requests.options(
        f"{server.base}{SERVICE_URL}",
        headers={
            "Origin": "https://sandbox.cds-hooks.org",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type",
        },
        timeout=5,
    )
    # Zero configuration is authentication off on loopback: no web page may call it.
    assert response.status_code == 200
    assert "Access-Control-Allow-Origin" not in response.headers


def test_oversized_body_over_http_is_413(server: Served) -> None:
    body = hook_request(all_keys_null(), extension={"padding": "x" * (5 * 1024 * 1024)})
    response = _post(server, SERVICE_URL, body)
    assert response.status_code == 413
    assert response.json()["resourceType"] == "OperationOutcome"


def test_feedback_over_http_is_stored(server: Served) -> None:
    item = {
        "card": "4e0a3a1e-3283-4575-ab82-028d55fe2719",
        "outcome": "overridden",
        "overrideReason": {"reason": {"code": "already-addressed", "system": "urn:x"}},
        "outcomeTimestamp": "2026-11-20T10:06:00Z",
    }
    first = _post(server, f"{SERVICE_URL}/feedback", {"feedback": [item]})
    again = _post(server, f"{SERVICE_URL}/feedback", {"feedback": [item]})
    assert first.json() == {"stored": 1, "duplicates": 0, "unknown_cards": 1}
    assert again.json() == {"stored": 0, "duplicates": 1, "unknown_cards": 1}
    assert (server.log_path.parent / "data" / "mr-cds-hooks" / "mr-cds.sqlite3").is_file()
