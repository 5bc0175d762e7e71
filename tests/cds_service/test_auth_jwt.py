"""JWT authentication of CDS clients with real signed tokens (CDS Hooks 2.0 "Trusting
CDS Clients"). ES384 and RS384 keys are generated here; the issuer's JWK Set is served
on loopback and fetched by the service from its configured jku."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from prometheus_client import REGISTRY
from pytest_httpserver import HTTPServer
from sqlalchemy import inspect

from cds_service.auth.issuers import TrustedIssuer, parse_jwks
from cds_service.auth.keys import MIN_REFETCH_S, KeyStore
from cds_service.db.store import Store
from tests.cds_service import jwt_tokens as t
from tests.conftest import SERVICE_URL, all_keys_null, hook_request

ES = t.es384_key("ec-1")
RS = t.rs384_key("rsa-1")
STRANGER = t.es384_key("ec-1")  # same kid as ES, a key the issuer never published
SERVICE_AUD = t.PUBLIC_BASE + SERVICE_URL


@pytest.fixture
def jwks_server(httpserver: HTTPServer) -> HTTPServer:
    httpserver.expect_request("/jwks.json").respond_with_json(t.jwks(ES, RS))
    return httpserver


@pytest.fixture
def issuers_file(tmp_path: Path, jwks_server: HTTPServer) -> Path:
    path = tmp_path / "issuers.json"
    path.write_text(json.dumps([{"iss": t.ISS, "jku": jwks_server.url_for("/jwks.json")}]))
    return path


@pytest.fixture
def jwt_client(make_app: Callable[..., Flask], issuers_file: Path) -> FlaskClient:
    app = make_app(auth="jwt", trusted_issuers=str(issuers_file), public_base_url=t.PUBLIC_BASE)
    return app.test_client()


def _call(client: FlaskClient, token: str | None, path: str = SERVICE_URL) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return client.post(path, json=hook_request(all_keys_null()), headers=headers)


def _rejections(reason: str) -> float:
    value = REGISTRY.get_sample_value("mrcds_jwt_rejections_total", {"reason": reason})
    return value or 0.0


def _refused_for(reason: str, send: Callable[[], Any]) -> None:
    """``send()`` gets a bare 401, counted under ``reason`` (the metric and the log's word)."""
    before = _rejections(reason)
    _assert_bare_401(send())
    assert _rejections(reason) == before + 1, f"not refused for {reason}"


def _assert_bare_401(response: Any) -> None:
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    issue = response.get_json()["issue"][0]
    assert issue["code"] == "login"
    assert issue["diagnostics"] == "authentication required"


@pytest.mark.parametrize("key", [ES, RS], ids=["ES384", "RS384"])
def test_valid_token_gets_200(jwt_client: FlaskClient, key: t.SigningKey) -> None:
    response = _call(jwt_client, t.sign(key, t.claims(SERVICE_AUD)))
    assert response.status_code == 200
    assert response.get_json() == {"cards": []}


def test_valid_token_with_the_configured_jku_gets_200(
    jwt_client: FlaskClient, jwks_server: HTTPServer
) -> None:
    token = t.sign(ES, t.claims(SERVICE_AUD), jku=jwks_server.url_for("/jwks.json"))
    assert _call(jwt_client, token).status_code == 200


def test_replayed_jti_is_401(jwt_client: FlaskClient) -> None:
    token = t.sign(ES, t.claims(SERVICE_AUD))
    assert _call(jwt_client, token).status_code == 200
    _refused_for("replayed", lambda: _call(jwt_client, token))


def test_same_jti_in_a_new_token_is_401(jwt_client: FlaskClient) -> None:
    first = t.claims(SERVICE_AUD)
    assert _call(jwt_client, t.sign(ES, first)).status_code == 200
    _refused_for("replayed", lambda: _call(jwt_client, t.sign(RS, t.claims(SERVICE_AUD, jti=first["jti"]))))


@pytest.mark.parametrize(
    ("claim", "reason"),
    [
        ("jti", "missing_claim"),
        ("exp", "missing_claim"),
        ("iat", "missing_claim"),
        ("aud", "missing_claim"),
        ("iss", "untrusted_issuer"),  # no issuer to look the key up for
    ],
)
def test_missing_required_claim_is_401(jwt_client: FlaskClient, claim: str, reason: str) -> None:
    _refused_for(reason, lambda: _call(jwt_client, t.sign(ES, t.claims(SERVICE_AUD, **{claim: None}))))


def test_untrusted_issuer_is_401(jwt_client: FlaskClient) -> None:
    _refused_for(
        "untrusted_issuer",
        lambda: _call(jwt_client, t.sign(ES, t.claims(SERVICE_AUD, iss="https://evil.example.com"))),
    )


@pytest.mark.parametrize(
    "aud",
    [
        t.PUBLIC_BASE + "/cds-services",  # discovery's URL, sent to the service
        "http://localhost" + SERVICE_URL,  # the Host the request arrived on, not the public URL
        SERVICE_AUD + "/",
    ],
)
def test_wrong_audience_is_401(jwt_client: FlaskClient, aud: str) -> None:
    _refused_for("wrong_audience", lambda: _call(jwt_client, t.sign(ES, t.claims(SERVICE_AUD, aud=aud))))


def test_audience_as_a_list_holding_the_url_is_accepted(jwt_client: FlaskClient) -> None:
    token = t.sign(ES, t.claims(SERVICE_AUD, aud=["https://other.example.org", SERVICE_AUD]))
    assert _call(jwt_client, token).status_code == 200


def test_expired_token_is_401(jwt_client: FlaskClient) -> None:
    now = int(time.time())
    _refused_for(
        "expired", lambda: _call(jwt_client, t.sign(ES, t.claims(SERVICE_AUD, iat=now - 900, exp=now - 600)))
    )


def test_token_not_yet_valid_is_401(jwt_client: FlaskClient) -> None:
    now = int(time.time())
    _refused_for(
        "not_yet_valid",
        lambda: _call(jwt_client, t.sign(ES, t.claims(SERVICE_AUD, nbf=now + 600, exp=now + 900))),
    )


def test_token_issued_in_the_future_is_401(jwt_client: FlaskClient) -> None:
    now = int(time.time())
    _refused_for(
        "not_yet_valid",
        lambda: _call(jwt_client, t.sign(ES, t.claims(SERVICE_AUD, iat=now + 600, exp=now + 900))),
    )


def test_small_clock_skew_is_tolerated(jwt_client: FlaskClient) -> None:
    now = int(time.time())
    token = t.sign(ES, t.claims(SERVICE_AUD, iat=now + 20, nbf=now + 20, exp=now + 300))
    assert _call(jwt_client, token).status_code == 200


def test_unknown_kid_is_401(jwt_client: FlaskClient) -> None:
    _refused_for(
        "unknown_kid",
        lambda: _call(jwt_client, t.sign(t.es384_key("never-published"), t.claims(SERVICE_AUD))),
    )


def test_key_not_in_the_jwks_is_401(jwt_client: FlaskClient) -> None:
    _refused_for("bad_signature", lambda: _call(jwt_client, t.sign(STRANGER, t.claims(SERVICE_AUD))))


def test_alg_none_is_401(jwt_client: FlaskClient) -> None:
    _refused_for("algorithm", lambda: _call(jwt_client, t.unsigned(t.claims(SERVICE_AUD), ES.kid)))


@pytest.mark.parametrize("key", [ES, RS], ids=["ES384-key", "RS384-key"])
def test_hs384_signed_with_the_public_key_is_401(jwt_client: FlaskClient, key: t.SigningKey) -> None:
    _refused_for("algorithm", lambda: _call(jwt_client, t.hs384_with_public_key(key, t.claims(SERVICE_AUD))))


def test_jku_other_than_the_configured_one_is_401(jwt_client: FlaskClient, jwks_server: HTTPServer) -> None:
    token = t.sign(ES, t.claims(SERVICE_AUD), jku=jwks_server.url_for("/other-jwks.json"))
    _refused_for("jku_mismatch", lambda: _call(jwt_client, token))


def test_tampered_payload_is_401(jwt_client: FlaskClient) -> None:
    token = t.sign(ES, t.claims(SERVICE_AUD, aud=t.PUBLIC_BASE + "/cds-services"))
    _refused_for("bad_signature", lambda: _call(jwt_client, t.tampered(token, aud=SERVICE_AUD)))


def test_es_key_used_for_an_rs_header_is_401(jwt_client: FlaskClient) -> None:
    token = t.sign(ES, t.claims(SERVICE_AUD))
    head = t._b64(json.dumps({"alg": "RS384", "typ": "JWT", "kid": ES.kid}).encode())
    _refused_for("algorithm", lambda: _call(jwt_client, head + token[token.index(".") :]))


@pytest.mark.parametrize(
    "header",
    [{"typ": "at+jwt"}, {"kid": ""}],
    ids=["typ-not-JWT", "empty-kid"],
)
def test_header_without_typ_jwt_or_kid_is_401(jwt_client: FlaskClient, header: dict[str, str]) -> None:
    _refused_for("bad_header", lambda: _call(jwt_client, t.sign(ES, t.claims(SERVICE_AUD), **header)))


@pytest.mark.parametrize(
    ("authorization", "reason"),
    [
        ("", "missing"),
        ("Basic dXNlcjpwYXNz", "missing"),
        ("Bearer", "missing"),
        ("Bearer not-a-jwt", "malformed"),
    ],
)
def test_missing_or_malformed_authorization_is_401(
    jwt_client: FlaskClient, authorization: str, reason: str
) -> None:
    headers = {"Authorization": authorization}
    _refused_for(
        reason, lambda: jwt_client.post(SERVICE_URL, json=hook_request(all_keys_null()), headers=headers)
    )


def test_no_authorization_header_is_401(jwt_client: FlaskClient) -> None:
    _refused_for("missing", lambda: _call(jwt_client, None))


def test_discovery_needs_a_token_for_its_own_url(jwt_client: FlaskClient) -> None:
    _assert_bare_401(jwt_client.get("/cds-services"))
    service_token = t.sign(ES, t.claims(SERVICE_AUD))
    _assert_bare_401(jwt_client.get("/cds-services", headers={"Authorization": f"Bearer {service_token}"}))
    token = t.sign(ES, t.claims(t.PUBLIC_BASE + "/cds-services"))
    assert jwt_client.get("/cds-services", headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_feedback_needs_a_token_for_its_own_url(jwt_client: FlaskClient) -> None:
    body = {
        "feedback": [
            {
                "card": "9368d37b-283f-44a0-93ea-547cebab93ed",
                "outcome": "accepted",
                "acceptedSuggestions": [{"id": "e56e1945-20b3-4393-8503-a1a20fd73152"}],
                "outcomeTimestamp": "2026-11-30T10:00:00Z",
            }
        ]
    }
    path = f"{SERVICE_URL}/feedback"
    _assert_bare_401(jwt_client.post(path, json=body))
    token = t.sign(ES, t.claims(t.PUBLIC_BASE + path))
    assert jwt_client.post(path, json=body, headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_unknown_service_is_401_before_404(jwt_client: FlaskClient) -> None:
    _assert_bare_401(_call(jwt_client, None, "/cds-services/no-such-service"))


def test_health_and_preflight_need_no_token(jwt_client: FlaskClient) -> None:
    assert jwt_client.get("/healthz").status_code == 200
    preflight = jwt_client.options(
        SERVICE_URL,
        headers={"Origin": "https://sandbox.cds-hooks.org", "Access-Control-Request-Method": "POST"},
    )
    assert 200 <= preflight.status_code < 300


def test_rejection_reason_is_logged_never_the_token(
    jwt_client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    token = t.sign(ES, t.claims(SERVICE_AUD, iss="https://evil.example.com"))
    with caplog.at_level(logging.INFO):
        _call(jwt_client, token)
    assert "untrusted_issuer" in caplog.text
    assert token not in caplog.text
    assert token.split(".")[2] not in caplog.text


def test_inline_jwks_issuer_is_trusted_without_any_fetch(
    make_app: Callable[..., Flask], tmp_path: Path
) -> None:
    path = tmp_path / "inline.json"
    path.write_text(json.dumps([{"iss": t.ISS, "jwks": t.jwks(RS), "algorithms": ["RS384"]}]))
    client = make_app(auth="jwt", trusted_issuers=str(path), public_base_url=t.PUBLIC_BASE).test_client()
    assert _call(client, t.sign(RS, t.claims(SERVICE_AUD))).status_code == 200
    # ES384 is not among this issuer's algorithms, and a jku is never fetched for it.
    _assert_bare_401(_call(client, t.sign(ES, t.claims(SERVICE_AUD))))
    _assert_bare_401(_call(client, t.sign(RS, t.claims(SERVICE_AUD), jku="https://keys.example.org/jwks")))


def test_fhir_authorization_patient_must_be_the_context_patient(jwt_client: FlaskClient) -> None:
    body = hook_request(
        all_keys_null(),
        fhirServer="https://fhir.example.org",
        fhirAuthorization={
            "access_token": "opaque",
            "token_type": "Bearer",
            "expires_in": 300,
            "scope": "patient/*.read",
            "subject": "cds-service",
            "patient": "some-other-patient",
        },
    )
    token = t.sign(ES, t.claims(SERVICE_AUD))
    response = jwt_client.post(SERVICE_URL, json=body, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 400
    issue = response.get_json()["issue"][0]
    assert issue["expression"] == ["fhirAuthorization.patient"]
    assert "some-other-patient" not in response.get_data(as_text=True)


def test_unknown_kid_refetches_at_most_once_a_minute(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/jwks.json").respond_with_json(t.jwks(ES))
    now = [1000.0]
    issuer = TrustedIssuer(t.ISS, jku=httpserver.url_for("/jwks.json"))
    store = KeyStore({t.ISS: issuer}, clock=lambda: now[0])
    assert store.key(t.ISS, ES.kid) is not None
    for _ in range(20):
        assert store.key(t.ISS, "rotated-kid") is None
    assert len(httpserver.log) == 1  # made-up kids cost no fetch within the minute
    now[0] += MIN_REFETCH_S
    for _ in range(20):
        store.key(t.ISS, "rotated-kid")
    assert len(httpserver.log) == 2


def test_rotated_key_is_found_after_the_refetch(httpserver: HTTPServer) -> None:
    httpserver.expect_ordered_request("/jwks.json").respond_with_json(t.jwks(ES))
    httpserver.expect_ordered_request("/jwks.json").respond_with_json(t.jwks(ES, RS))
    now = [0.0]
    issuer = TrustedIssuer(t.ISS, jku=httpserver.url_for("/jwks.json"))
    store = KeyStore({t.ISS: issuer}, clock=lambda: now[0])
    assert store.key(t.ISS, ES.kid) is not None
    now[0] += MIN_REFETCH_S
    assert store.key(t.ISS, RS.kid) is not None


def test_private_and_encryption_keys_are_never_trusted() -> None:
    keys = parse_jwks({"keys": [ES.private_jwk(), {**RS.public_jwk(), "use": "enc"}]})
    assert keys == {}


def test_the_store_creates_the_replay_table(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'x.sqlite3'}", upgrade=True)
    table = {c["name"]: c for c in inspect(store.engine).get_columns("jwt_replay")}
    assert set(table) == {"jti", "iss", "expires_at"}
    store.dispose()


@pytest.mark.parametrize(
    "answer",
    ["status-500", "not-json", "no-usable-key", "too-large"],
)
def test_an_unusable_key_set_is_401_keys_unavailable(
    make_app: Callable[..., Flask], tmp_path: Path, httpserver: HTTPServer, answer: str
) -> None:
    handler = httpserver.expect_request("/jwks.json")
    if answer == "status-500":
        handler.respond_with_data("down", status=500)
    elif answer == "not-json":
        handler.respond_with_data("<html>", content_type="text/html")
    elif answer == "no-usable-key":
        handler.respond_with_json({"keys": [{"kty": "oct", "kid": ES.kid, "k": "c2VjcmV0"}]})
    else:
        handler.respond_with_json({"keys": [ES.public_jwk()], "padding": "x" * (300 * 1024)})
    path = tmp_path / "issuers.json"
    path.write_text(json.dumps([{"iss": t.ISS, "jku": httpserver.url_for("/jwks.json")}]))
    client = make_app(auth="jwt", trusted_issuers=str(path), public_base_url=t.PUBLIC_BASE).test_client()
    _refused_for("keys_unavailable", lambda: _call(client, t.sign(ES, t.claims(SERVICE_AUD))))


def test_a_refused_token_is_counted_by_reason_in_the_metrics(
    make_app: Callable[..., Flask], issuers_file: Path
) -> None:
    from prometheus_client import REGISTRY

    def expired() -> float:
        return REGISTRY.get_sample_value("mrcds_jwt_rejections_total", {"reason": "expired"}) or 0.0

    app = make_app(auth="jwt", trusted_issuers=str(issuers_file), public_base_url=t.PUBLIC_BASE)
    before = expired()
    now = int(time.time())
    _call(app.test_client(), t.sign(ES, t.claims(SERVICE_AUD, iat=now - 900, exp=now - 600)))
    assert expired() == before + 1


# --- hostile tokens that gave a 500 (issue 17) --------------------------------------


def _inline_client(make_app: Callable[..., Flask], tmp_path: Path, *keys: t.SigningKey) -> FlaskClient:
    path = tmp_path / "inline-keys.json"
    algorithms = sorted({k.alg for k in keys} | {"ES384"})
    path.write_text(json.dumps([{"iss": t.ISS, "jwks": t.jwks(*keys), "algorithms": algorithms}]))
    return make_app(auth="jwt", trusted_issuers=str(path), public_base_url=t.PUBLIC_BASE).test_client()


def test_es384_token_naming_a_p256_key_with_a_junk_signature_is_401(
    make_app: Callable[..., Flask], tmp_path: Path
) -> None:
    # PyJWT raised InvalidKeyError (not an InvalidTokenError) on this pair: a 500 every time.
    p256 = t.es256_key("p256")
    client = _inline_client(make_app, tmp_path, p256)
    signed = t.sign(p256, t.claims(SERVICE_AUD))
    head, payload, _ = signed.split(".")
    header = json.loads(t.b64decode(head))
    header["alg"] = "ES384"
    forged = f"{t.b64(json.dumps(header).encode())}.{payload}.{t.b64(b'junk' * 24)}"
    _refused_for("algorithm", lambda: _call(client, forged))


def test_es384_token_signed_with_a_p256_key_is_401(make_app: Callable[..., Flask], tmp_path: Path) -> None:
    p256 = t.es256_key("p256")
    client = _inline_client(make_app, tmp_path, p256)
    _refused_for("algorithm", lambda: _call(client, t.sign(p256, t.claims(SERVICE_AUD), alg="ES384")))


@pytest.mark.parametrize("exp", [253402300800, 10**15, 2**63], ids=["year-10000", "1e15", "2^63"])
def test_exp_beyond_any_date_is_401(jwt_client: FlaskClient, exp: int) -> None:
    _refused_for("expiry_too_far", lambda: _call(jwt_client, t.sign(ES, t.claims(SERVICE_AUD, exp=exp))))


def test_exp_further_ahead_than_the_cap_is_401(jwt_client: FlaskClient) -> None:
    two_hours = int(time.time()) + 7200
    _refused_for(
        "expiry_too_far", lambda: _call(jwt_client, t.sign(ES, t.claims(SERVICE_AUD, exp=two_hours)))
    )


def test_exp_cap_is_configurable(make_app: Callable[..., Flask], issuers_file: Path) -> None:
    app = make_app(
        auth="jwt", trusted_issuers=str(issuers_file), public_base_url=t.PUBLIC_BASE, jwt_max_expiry_s="60"
    )
    client = app.test_client()
    in_five_minutes = t.sign(ES, t.claims(SERVICE_AUD))  # exp = now + 300
    _refused_for("expiry_too_far", lambda: _call(client, in_five_minutes))
    in_a_minute = t.sign(ES, t.claims(SERVICE_AUD, exp=int(time.time()) + 50))
    assert _call(client, in_a_minute).status_code == 200


@pytest.mark.parametrize(
    "jti",
    ["\ud800-lone-surrogate", "nul\x00inside", "line\nbreak", "x" * 256, ""],
    ids=["surrogate", "nul", "newline", "too-long", "empty"],
)
def test_unstorable_jti_is_401_every_time(jwt_client: FlaskClient, jti: str) -> None:
    token = t.sign(ES, t.claims(SERVICE_AUD, jti=jti))
    for _ in range(2):  # it is never stored, so the same token must fail the same way again
        _refused_for("invalid_claim", lambda: _call(jwt_client, token))


def test_one_issuer_cannot_block_another_issuers_jti(make_app: Callable[..., Flask], tmp_path: Path) -> None:
    other_iss = "https://other-ehr.example.org"
    path = tmp_path / "two-issuers.json"
    path.write_text(json.dumps([{"iss": t.ISS, "jwks": t.jwks(ES)}, {"iss": other_iss, "jwks": t.jwks(RS)}]))
    client = make_app(auth="jwt", trusted_issuers=str(path), public_base_url=t.PUBLIC_BASE).test_client()
    shared = "the-same-jti"
    assert _call(client, t.sign(RS, t.claims(SERVICE_AUD, iss=other_iss, jti=shared))).status_code == 200
    assert _call(client, t.sign(ES, t.claims(SERVICE_AUD, jti=shared))).status_code == 200
    _refused_for("replayed", lambda: _call(client, t.sign(ES, t.claims(SERVICE_AUD, jti=shared))))
