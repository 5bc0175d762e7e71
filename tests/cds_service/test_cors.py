"""CORS: the public sandbox calls from its own origin and needs a 2xx preflight."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.cds_service import jwt_tokens as t
from tests.conftest import SERVICE_URL, all_keys_null, hook_request

SANDBOX = "https://sandbox.cds-hooks.org"
PREFLIGHT = {
    "Origin": SANDBOX,
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "authorization, content-type",
}


@pytest.fixture
def client(make_app: Callable[..., Flask]) -> FlaskClient:
    """Any origin allowed explicitly (what the default is with JWT authentication)."""
    return make_app(cors_origins="*").test_client()


def test_default_without_authentication_allows_no_origin(make_app: Callable[..., Flask]) -> None:
    client = make_app().test_client()
    response = client.options(SERVICE_URL, headers=PREFLIGHT)
    assert "Access-Control-Allow-Origin" not in response.headers


def test_default_with_jwt_authentication_allows_any_origin(
    make_app: Callable[..., Flask], tmp_path: Path
) -> None:
    issuers = tmp_path / "issuers.json"
    issuers.write_text(json.dumps([{"iss": t.ISS, "jwks": t.jwks(t.es384_key())}]))
    client = make_app(auth="jwt", trusted_issuers=str(issuers), public_base_url=t.PUBLIC_BASE).test_client()
    response = client.options(SERVICE_URL, headers=PREFLIGHT)
    assert 200 <= response.status_code < 300
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    # A refused call still carries CORS headers, so the browser app can read the 401.
    refused = client.post(SERVICE_URL, json=hook_request(all_keys_null()), headers={"Origin": SANDBOX})
    assert refused.status_code == 401
    assert refused.headers["Access-Control-Allow-Origin"] == "*"


def test_preflight_on_the_service_allows_authorization_and_content_type(client: FlaskClient) -> None:
    response = client.options(SERVICE_URL, headers=PREFLIGHT)
    assert 200 <= response.status_code < 300
    allowed = {h.strip().lower() for h in response.headers["Access-Control-Allow-Headers"].split(",")}
    assert {"authorization", "content-type"} <= allowed
    assert "POST" in response.headers["Access-Control-Allow-Methods"]


def test_preflight_on_feedback_is_allowed(client: FlaskClient) -> None:
    response = client.options(f"{SERVICE_URL}/feedback", headers=PREFLIGHT)
    assert 200 <= response.status_code < 300
    assert response.headers["Access-Control-Allow-Origin"] == "*"


def test_post_response_carries_the_allow_origin_header(client: FlaskClient) -> None:
    response = client.post(SERVICE_URL, json=hook_request(all_keys_null()), headers={"Origin": SANDBOX})
    assert response.headers["Access-Control-Allow-Origin"] == "*"


def test_configured_origins_echo_only_a_listed_origin(make_app: Callable[..., Flask]) -> None:
    client = make_app(cors_origins=f"{SANDBOX},https://ehr.example.org").test_client()
    listed = client.options(SERVICE_URL, headers=PREFLIGHT)
    assert listed.headers["Access-Control-Allow-Origin"] == SANDBOX
    assert "Origin" in listed.headers["Vary"]
    other = client.options(SERVICE_URL, headers={**PREFLIGHT, "Origin": "https://evil.example.com"})
    assert "Access-Control-Allow-Origin" not in other.headers


def test_request_without_origin_gets_no_cors_headers(client: FlaskClient) -> None:
    response = client.get("/cds-services")
    assert "Access-Control-Allow-Origin" not in response.headers


# --- caches and redirects (issue 17) -------------------------------------------------


@pytest.mark.parametrize("origin", [None, SANDBOX, "https://elsewhere.example.org"])
def test_with_an_origin_list_every_answer_varies_on_origin(
    make_app: Callable[..., Flask], origin: str | None
) -> None:
    client = make_app(cors_origins=SANDBOX).test_client()
    headers = {"Origin": origin} if origin else {}
    response = client.post(SERVICE_URL, json=hook_request(all_keys_null()), headers=headers)
    assert "Origin" in response.vary


def test_hook_and_feedback_answers_are_never_stored_by_caches(client: FlaskClient) -> None:
    answered = client.post(SERVICE_URL, json=hook_request(all_keys_null()))
    refused = client.post(SERVICE_URL, json={"hook": "patient-view"})
    feedback = client.post(f"{SERVICE_URL}/feedback", json={"feedback": []})
    assert [r.status_code for r in (answered, refused, feedback)] == [200, 400, 400]
    for response in (answered, refused, feedback):
        assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("method", ["OPTIONS", "POST", "GET"])
def test_a_doubled_slash_is_a_json_404_not_a_redirect_built_from_host(
    client: FlaskClient, method: str
) -> None:
    response = client.open(f"/{SERVICE_URL}", method=method, headers={"Host": "evil.example.org"})
    assert response.status_code == 404
    assert "Location" not in response.headers
    assert response.get_json()["resourceType"] == "OperationOutcome"


@pytest.mark.parametrize("origin", [None, SANDBOX, "*"])
def test_with_no_origin_allowed_an_answer_gets_no_cors_header_and_no_vary(
    make_app: Callable[..., Flask], origin: str | None
) -> None:
    client = make_app().test_client()
    response = client.get("/cds-services", headers={"Origin": origin} if origin else {})
    assert not [name for name, _value in response.headers if name.startswith("Access-Control-")]
    assert "Vary" not in response.headers
