"""The shipped trust file for the public CDS Hooks sandbox, and the jku rule it relies on."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from flask import Flask

from cds_service.auth import resolve_auth
from cds_service.core.settings import Settings
from tests.cds_service import jwt_tokens as t
from tests.conftest import SERVICE_URL, all_keys_null, hook_request

ROOT = Path(__file__).resolve().parents[2]
SANDBOX_FILE = ROOT / "examples" / "issuers-cds-hooks-sandbox.json"
SANDBOX_ISS = "https://sandbox.cds-hooks.org"
SANDBOX_JKU = "https://sandbox.cds-hooks.org/.well-known/jwks.json"
SANDBOX_KID = "44823f3d-0b01-4a6c-a80e-b9d3e8a7226f"


def test_sandbox_file_trusts_its_es384_key_inline() -> None:
    settings = Settings.load(
        {"trusted_issuers": str(SANDBOX_FILE), "public_base_url": "http://localhost:8080"}, environ={}
    )
    config = resolve_auth(settings, "127.0.0.1")
    issuer = config.issuers[SANDBOX_ISS]
    assert config.mode == "jwt"
    assert issuer.algorithms == ("ES384",)
    assert issuer.jku == SANDBOX_JKU
    assert issuer.inline_keys is not None
    assert set(issuer.inline_keys) == {SANDBOX_KID}


def test_sandbox_file_says_it_is_for_testing_only() -> None:
    (entry,) = json.loads(SANDBOX_FILE.read_text(encoding="utf-8"))
    assert entry["comment"].startswith("TESTING ONLY")
    assert "PRIVATE key is published" in entry["comment"]


def test_readme_says_trusting_the_sandbox_is_for_testing_only() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Trying it in the CDS Hooks sandbox", 1)[1].split("\n## ", 1)[0]
    assert "examples/issuers-cds-hooks-sandbox.json" in section
    assert "testing only" in section.lower()


def test_inline_keys_with_a_jku_accept_that_jku_and_never_another(
    make_app: Callable[..., Flask], tmp_path: Path
) -> None:
    # The sandbox's shape: keys inline, and a jku header that must be the configured one.
    key = t.es384_key("sandbox-like")
    jku = "https://keys.example.org/.well-known/jwks.json"
    path = tmp_path / "issuers.json"
    path.write_text(json.dumps([{"iss": t.ISS, "jku": jku, "jwks": t.jwks(key), "algorithms": ["ES384"]}]))
    client = make_app(auth="jwt", trusted_issuers=str(path), public_base_url=t.PUBLIC_BASE).test_client()
    aud = t.PUBLIC_BASE + SERVICE_URL

    def call(token: str) -> int:
        headers = {"Authorization": f"Bearer {token}"}
        return client.post(SERVICE_URL, json=hook_request(all_keys_null()), headers=headers).status_code

    assert call(t.sign(key, t.claims(aud), jku=jku)) == 200
    assert call(t.sign(key, t.claims(aud))) == 200
    assert call(t.sign(key, t.claims(aud), jku="https://keys.example.org/other.json")) == 401
