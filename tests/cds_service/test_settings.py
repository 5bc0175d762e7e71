"""Settings: defaults, then MRCDS_* environment, then the mapping; documented in the README."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from cds_service.core.errors import ConfigurationError
from cds_service.core.settings import Settings, settings_table
from tests.serving import serve_expecting_exit

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


# --------------------------------------------------------------------------- fail fast

#: One value per README row that must stop start-up. A new setting needs a row here too.
BAD_VALUES = {
    "MRCDS_AUTH": "jwt-please",
    "MRCDS_TRUSTED_ISSUERS": "/no-such-issuers.json",
    "MRCDS_PUBLIC_BASE_URL": "cds.example.org",
    "MRCDS_ALLOW_INSECURE": "sometimes",
    "MRCDS_MAX_RESOURCES": "0",
    "MRCDS_JWT_MAX_EXPIRY_S": "0",
    "MRCDS_MAX_BODY_BYTES": "5MB",
    "MRCDS_BODY_READ_TIMEOUT_S": "0",
    "MRCDS_CORS_ORIGINS": "ehr.example.org",  # no scheme: would never match a browser's Origin
    "MRCDS_DATABASE_URL": "nonsense",
    "MRCDS_DATABASE_URL_FILE": "/no-such-secret-file",
    "MRCDS_DATABASE_LOCK_TIMEOUT_S": "inf",
    "MRCDS_DATABASE_UPGRADE_ON_START": "perhaps",
    "MRCDS_ISSUED_BUFFER_CARDS": "lots",
    "MRCDS_FHIR_ALLOWLIST": "http://ehr.example.org/fhir",
    "MRCDS_FHIR_TIMEOUT_S": "nan",
    "MRCDS_FHIR_MAX_PAGES": "0",
    "MRCDS_FHIR_MAX_WORKERS": "-1",
    "MRCDS_THRESHOLDS_FILE": "/typo.json",
    "MRCDS_VALUESETS_DIR": "/no-such-site-codes",
    "MRCDS_LOG_LEVEL": "LOUD",
    "MRCDS_EXPOSE_OPENAPI": "maybe",
    "MRCDS_METRICS": "sometimes",
    "MRCDS_METRICS_PORT": "99999",
    "MRCDS_WARM_UP": "2",
}


def test_every_readme_setting_has_a_bad_value_case() -> None:
    documented = set(re.findall(r"^\| `(MRCDS_[A-Z_]+)` \|", README.read_text(encoding="utf-8"), flags=re.M))
    assert documented == set(BAD_VALUES), "add a value that must stop start-up to BAD_VALUES"


@pytest.mark.parametrize(("variable", "value"), sorted(BAD_VALUES.items()))
def test_a_bad_setting_stops_serve_with_one_line_naming_the_variable(
    variable: str, value: str, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MRCDS_")}
    env.update({variable: value, "XDG_DATA_HOME": str(tmp_path)})
    done = serve_expecting_exit(env)
    assert done.returncode == 2
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"mr-cds: {variable}: ")
    assert "Traceback" not in done.stdout + done.stderr


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "0", "-1", "soon", ""])
def test_fhir_timeout_must_be_a_positive_finite_number(value: str) -> None:
    with pytest.raises(ConfigurationError, match="MRCDS_FHIR_TIMEOUT_S"):
        Settings.load(environ={"MRCDS_FHIR_TIMEOUT_S": value})


def test_log_level_is_one_of_the_five_names_in_any_case() -> None:
    assert Settings.load(environ={"MRCDS_LOG_LEVEL": "debug"}).log_level == "DEBUG"
    with pytest.raises(ConfigurationError, match="MRCDS_LOG_LEVEL: 'LOUD' is not one of"):
        Settings.load(environ={"MRCDS_LOG_LEVEL": "LOUD"})


def test_thresholds_file_is_read_and_checked_at_start_up(tmp_path: Path) -> None:
    good = tmp_path / "site.json"
    good.write_text(json.dumps({"sbp_below_mmhg": 85}), encoding="utf-8")
    assert Settings.load(environ={"MRCDS_THRESHOLDS_FILE": str(good)}).thresholds_file == str(good)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"sbp_below_mmgh": 85}), encoding="utf-8")
    with pytest.raises(ConfigurationError, match="MRCDS_THRESHOLDS_FILE: unknown threshold 'sbp_below_mmgh'"):
        Settings.load(environ={"MRCDS_THRESHOLDS_FILE": str(bad)})
    with pytest.raises(ConfigurationError, match=r"MRCDS_THRESHOLDS_FILE: .*cannot be read"):
        Settings.load(environ={"MRCDS_THRESHOLDS_FILE": str(tmp_path / "typo.json")})


def test_a_thresholds_file_passed_to_create_app_is_checked_too(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="thresholds_file"):
        Settings.load({"thresholds_file": str(tmp_path / "typo.json")}, environ={})


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("nonsense", "not a database URL"),
        ("mysql://db.example.org/mrcds", "'mysql' is not supported"),
        ("postgresql+nosuchdriver://db.example.org/mrcds", "'postgresql+nosuchdriver' is not installed"),
    ],
)
def test_database_url_is_parsed_and_its_driver_imported_at_start_up(url: str, reason: str) -> None:
    with pytest.raises(ConfigurationError, match=f"MRCDS_DATABASE_URL: .*{re.escape(reason)}"):
        Settings.load(environ={"MRCDS_DATABASE_URL": url})


def test_database_url_errors_never_quote_the_password() -> None:
    with pytest.raises(ConfigurationError) as caught:
        Settings.load(environ={"MRCDS_DATABASE_URL": "postgresql+nosuchdriver://mrcds:hunter2@db/mrcds"})
    assert "hunter2" not in caught.value.diagnostics


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///relative.sqlite3", "sqlite:////var/lib/mrcds/f.db"])
def test_sqlite_urls_are_accepted_without_touching_the_file(url: str) -> None:
    assert Settings.load(environ={"MRCDS_DATABASE_URL": url}).database_url == url


@pytest.mark.parametrize(
    "origins", ["*", "https://ehr.example.org", "https://a.org:8443, http://127.0.0.1:3000"]
)
def test_cors_origins_accept_star_or_scheme_host_port(origins: str) -> None:
    assert Settings.load(environ={"MRCDS_CORS_ORIGINS": origins}).cors_origins


@pytest.mark.parametrize("origins", ["ehr.example.org", "https://ehr.example.org/app", "https://"])
def test_cors_origins_refuse_what_a_browser_never_sends(origins: str) -> None:
    with pytest.raises(ConfigurationError, match="MRCDS_CORS_ORIGINS"):
        Settings.load(environ={"MRCDS_CORS_ORIGINS": origins})


def test_a_misspelt_variable_stops_start_up_and_suggests_the_right_name() -> None:
    expected = "MRCDS_FHIR_TIMEOUT: not a setting of this service; did you mean MRCDS_FHIR_TIMEOUT_S?"
    with pytest.raises(ConfigurationError, match=re.escape(expected)):
        Settings.load(environ={"MRCDS_FHIR_TIMEOUT": "5"})


@pytest.mark.parametrize(("value", "expected"), [("on", True), ("off", False), ("true", True), ("0", False)])
def test_metrics_switch_reads_on_and_off(value: str, expected: bool) -> None:
    assert Settings.load(environ={"MRCDS_METRICS": value}).metrics is expected


def test_a_sqlite_file_under_something_that_is_not_a_folder_stops_start_up(tmp_path: Path) -> None:
    not_a_folder = tmp_path / "a-file"
    not_a_folder.write_text("", encoding="utf-8")
    with pytest.raises(ConfigurationError, match="MRCDS_DATABASE_URL: the SQLite file's folder cannot be"):
        Settings.load(environ={"MRCDS_DATABASE_URL": f"sqlite:///{not_a_folder}/deeper/feedback.sqlite3"})


def test_a_sqlite_file_whose_folder_does_not_exist_yet_is_fine_and_not_created(tmp_path: Path) -> None:
    folder = tmp_path / "not" / "yet"
    Settings.load(environ={"MRCDS_DATABASE_URL": f"sqlite:///{folder}/feedback.sqlite3"})
    assert not (tmp_path / "not").exists()


def test_the_test_suites_own_variables_are_not_settings_and_not_refused() -> None:
    settings = Settings.load(environ={"MRCDS_TEST_POSTGRES_URL": "postgresql+psycopg://ci@127.0.0.1/ci"})
    assert settings == Settings.load(environ={})
