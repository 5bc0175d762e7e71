"""MRCDS_AUTH: its default follows the bind address and the issuers; `mr-cds serve`
refuses an unsafe or incomplete configuration with one line and exit status 2."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from cds_service.auth import resolve_auth
from cds_service.cli.mr_cds import main
from cds_service.core.errors import ConfigurationError
from cds_service.core.settings import Settings
from tests.cds_service import jwt_tokens as t


@pytest.fixture
def issuers_file(tmp_path: Path) -> Path:
    path = tmp_path / "issuers.json"
    path.write_text(json.dumps([{"iss": t.ISS, "jwks": t.jwks(t.es384_key())}]))
    return path


def _settings(**values: object) -> Settings:
    return Settings.load(values, environ={})


def test_default_on_loopback_without_issuers_is_off_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        assert resolve_auth(_settings(), "127.0.0.1").mode == "off"
    assert "authentication is OFF" in caplog.text


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "localhost", "[::1]"])
def test_loopback_addresses_count_as_loopback(host: str) -> None:
    assert resolve_auth(_settings(), host).mode == "off"


def test_default_with_issuers_is_jwt(issuers_file: Path) -> None:
    config = resolve_auth(
        _settings(trusted_issuers=str(issuers_file), public_base_url=t.PUBLIC_BASE), "127.0.0.1"
    )
    assert config.mode == "jwt"
    assert set(config.issuers) == {t.ISS}


def test_default_on_a_public_address_is_jwt_and_needs_issuers() -> None:
    with pytest.raises(ConfigurationError, match=r"^MRCDS_TRUSTED_ISSUERS: required"):
        resolve_auth(_settings(), "0.0.0.0")


def test_off_on_a_public_address_is_refused() -> None:
    with pytest.raises(ConfigurationError, match=r"^MRCDS_AUTH: authentication is off"):
        resolve_auth(_settings(auth="off"), "10.1.2.3")


def test_off_on_a_public_address_is_allowed_when_insecure_is_explicit() -> None:
    assert resolve_auth(_settings(auth="off", allow_insecure=True), "0.0.0.0").mode == "off"


def test_jwt_needs_the_public_base_url(issuers_file: Path) -> None:
    with pytest.raises(ConfigurationError, match=r"^MRCDS_PUBLIC_BASE_URL: required"):
        resolve_auth(_settings(auth="jwt", trusted_issuers=str(issuers_file)), "127.0.0.1")


@pytest.mark.parametrize(
    ("content", "why"),
    [
        ("not json", "not UTF-8 JSON"),
        ("[]", "non-empty JSON list"),
        ('[{"iss": "https://a.org"}]', "give 'jku'"),
        ('[{"iss": "https://a.org", "jku": "http://keys.example.org/jwks"}]', "https"),
        ('[{"iss": "https://a.org", "jku": "https://k.org/j", "algorithms": ["HS384"]}]', "HS384"),
        ('[{"iss": "https://a.org", "jku": "https://k.org/j", "algorithms": ["none"]}]', "none"),
        ('[{"iss": "https://a.org", "jwks": {"keys": []}}]', "no usable signature key"),
        ('[{"iss": "https://a.org", "jku": "https://k.org/j", "extra": 1}]', "unknown field"),
    ],
)
def test_bad_issuers_file_stops_start_up_naming_the_variable(tmp_path: Path, content: str, why: str) -> None:
    path = tmp_path / "issuers.json"
    path.write_text(content)
    with pytest.raises(ConfigurationError, match=r"^MRCDS_TRUSTED_ISSUERS: ") as caught:
        resolve_auth(_settings(trusted_issuers=str(path), public_base_url=t.PUBLIC_BASE), "127.0.0.1")
    assert why in caught.value.diagnostics


def test_missing_issuers_file_stops_start_up(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match=r"^MRCDS_TRUSTED_ISSUERS: cannot read"):
        resolve_auth(
            _settings(trusted_issuers=str(tmp_path / "absent.json"), public_base_url=t.PUBLIC_BASE), None
        )


@pytest.mark.parametrize("url", ["cds.example.org", "ftp://cds.example.org", "https://cds.example.org/?a=1"])
def test_bad_public_base_url_names_the_variable(url: str) -> None:
    with pytest.raises(ConfigurationError, match="MRCDS_PUBLIC_BASE_URL"):
        Settings.load(environ={"MRCDS_PUBLIC_BASE_URL": url})


def _clear_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("MRCDS_"):
            monkeypatch.delenv(name)


@pytest.mark.parametrize(
    ("argv", "env", "variable"),
    [
        (["--host", "0.0.0.0"], {}, "MRCDS_TRUSTED_ISSUERS"),
        (["--host", "0.0.0.0"], {"MRCDS_AUTH": "off"}, "MRCDS_AUTH"),
        ([], {"MRCDS_AUTH": "jwt"}, "MRCDS_TRUSTED_ISSUERS"),
    ],
    ids=["public-default", "off-on-public", "jwt-without-issuers"],
)
def test_serve_refuses_with_one_line_and_exit_2(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    env: dict[str, str],
    variable: str,
) -> None:
    _clear_env(monkeypatch)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert main(["serve", *argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith(f"mr-cds: {variable}:")
