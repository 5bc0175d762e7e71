"""Settings: defaults, then MRCDS_* environment, then the mapping; documented in the README."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cds_service.errors import ConfigurationError
from cds_service.settings import Settings, settings_table

README = Path(__file__).resolve().parents[2] / "README.md"


def test_defaults_need_no_configuration() -> None:
    settings = Settings.load(environ={})
    assert settings.auth == ""  # resolved against the bind address (cds_service.auth.mode)
    assert settings.max_body_bytes == 5 * 1024 * 1024
    assert settings.fhir_allowlist == ()
    assert settings.fhir_timeout_s == 3.0
    assert settings.database_url.startswith("sqlite:///")


def test_environment_overrides_defaults() -> None:
    settings = Settings.load(
        environ={"MRCDS_MAX_BODY_BYTES": "1024", "MRCDS_CORS_ORIGINS": "https://a.org, https://b.org"}
    )
    assert settings.max_body_bytes == 1024
    assert settings.cors_origins == ("https://a.org", "https://b.org")


def test_mapping_overrides_environment() -> None:
    settings = Settings.load({"max_body_bytes": 10}, environ={"MRCDS_MAX_BODY_BYTES": "1024"})
    assert settings.max_body_bytes == 10


def test_bad_environment_value_names_the_variable() -> None:
    with pytest.raises(ConfigurationError, match="MRCDS_FHIR_TIMEOUT_S"):
        Settings.load(environ={"MRCDS_FHIR_TIMEOUT_S": "soon"})


def test_auth_other_than_jwt_or_off_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="MRCDS_AUTH"):
        Settings.load(environ={"MRCDS_AUTH": "basic"})


def test_unknown_setting_in_the_mapping_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="no_such_setting"):
        Settings.load({"no_such_setting": 1}, environ={})


def test_readme_settings_table_lists_every_setting_with_its_default() -> None:
    text = README.read_text(encoding="utf-8")
    for variable, default, _doc in settings_table():
        row = re.search(rf"^\| `{variable}` \| (.+?) \|", text, flags=re.M)
        assert row, f"{variable} is missing from the README settings table"
        assert row.group(1).strip() == default, variable
    documented = set(re.findall(r"^\| `(MRCDS_[A-Z_]+)` \|", text, flags=re.M))
    assert documented == {v for v, _, _ in settings_table()}


def test_fhir_allowlist_accepts_https_and_loopback_http() -> None:
    settings = Settings.load(
        environ={"MRCDS_FHIR_ALLOWLIST": "https://ehr.example.org/fhir/r4, http://127.0.0.1:8090/fhir"}
    )
    assert settings.fhir_allowlist == ("https://ehr.example.org/fhir/r4", "http://127.0.0.1:8090/fhir")


@pytest.mark.parametrize(
    "entry",
    [
        "http://ehr.example.org/fhir",  # plain http off loopback
        "ftp://ehr.example.org",
        "ehr.example.org/fhir",
        "https://user:secret@ehr.example.org/fhir",
        "https://ehr.example.org/fhir?x=1",
        "https://ehr.example.org/fhir/../admin",  # the same rule the FHIR client applies
    ],
)
def test_fhir_allowlist_refuses_unsafe_entries_at_start_up(entry: str) -> None:
    with pytest.raises(ConfigurationError, match="MRCDS_FHIR_ALLOWLIST"):
        Settings.load(environ={"MRCDS_FHIR_ALLOWLIST": entry})
