"""Secrets from files: MRCDS_DATABASE_URL_FILE names a file (a mounted Kubernetes or Docker
secret) holding the database URL, so that the password is not in the environment."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cds_service.core.errors import ConfigurationError
from cds_service.core.settings import Settings
from tests.serving import serve_expecting_exit

SECRET_URL = "postgresql+psycopg://mrcds:hunter2@db.example.org:5432/mrcds?connect_timeout=3"


def secret(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "database_url"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_database_url_is_read_from_the_file_without_its_final_line_break(tmp_path: Path) -> None:
    path = secret(tmp_path, SECRET_URL + "\n")
    assert Settings.load(environ={"MRCDS_DATABASE_URL_FILE": str(path)}).database_url == SECRET_URL


def test_the_file_is_checked_like_the_variable_and_named_in_the_error(tmp_path: Path) -> None:
    path = secret(tmp_path, "mysql://mrcds:hunter2@db/mrcds\n")
    with pytest.raises(ConfigurationError) as caught:
        Settings.load(environ={"MRCDS_DATABASE_URL_FILE": str(path)})
    assert caught.value.diagnostics.startswith("MRCDS_DATABASE_URL_FILE: database 'mysql' is not supported")
    assert "hunter2" not in caught.value.diagnostics


def test_both_the_variable_and_its_file_are_refused(tmp_path: Path) -> None:
    path = secret(tmp_path, SECRET_URL)
    with pytest.raises(ConfigurationError, match="MRCDS_DATABASE_URL_FILE: set either MRCDS_DATABASE_URL or"):
        Settings.load(environ={"MRCDS_DATABASE_URL_FILE": str(path), "MRCDS_DATABASE_URL": SECRET_URL})


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda tmp: tmp / "missing", "(No such file or directory)"),
        # What Docker leaves when a bind-mounted file was missing on the host: a folder.
        (
            lambda tmp: tmp,
            "is a folder, not a file (a container mount of a file missing on the host leaves a folder in its "
            "place)",
        ),
        (lambda tmp: secret(tmp, "\n"), "is empty"),
    ],
)
def test_an_unusable_file_is_refused(tmp_path: Path, make: object, reason: str) -> None:
    path = make(tmp_path)  # type: ignore[operator]
    with pytest.raises(ConfigurationError) as caught:
        Settings.load(environ={"MRCDS_DATABASE_URL_FILE": str(path)})
    assert caught.value.diagnostics.startswith(f"MRCDS_DATABASE_URL_FILE: {str(path)!r}") or (
        caught.value.diagnostics.startswith(f"MRCDS_DATABASE_URL_FILE: cannot read {str(path)!r}")
    )
    assert caught.value.diagnostics.endswith(reason)


def test_only_secret_settings_have_a_file_variant(tmp_path: Path) -> None:
    path = secret(tmp_path, "DEBUG")
    with pytest.raises(ConfigurationError, match="MRCDS_LOG_LEVEL_FILE: not a setting of this service"):
        Settings.load(environ={"MRCDS_LOG_LEVEL_FILE": str(path)})


def test_serve_reads_the_file_and_says_the_database_without_the_password(tmp_path: Path) -> None:
    # A driver that is not installed stops start-up after the file is read: the one line
    # names the file's variable and never the password it holds.
    path = secret(tmp_path, "postgresql+nosuchdriver://mrcds:hunter2@db/mrcds\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MRCDS_")}
    env.update({"MRCDS_DATABASE_URL_FILE": str(path), "XDG_DATA_HOME": str(tmp_path)})
    done = serve_expecting_exit(env)
    assert done.returncode == 2
    (line,) = done.stderr.splitlines()
    assert line.startswith("mr-cds: MRCDS_DATABASE_URL_FILE: the database driver 'postgresql+nosuchdriver'")
    assert "hunter2" not in done.stderr


def test_an_issuers_file_mounted_as_a_folder_says_so_in_one_line(tmp_path: Path) -> None:
    # What Docker leaves at a bind mount's target when the host file was missing.
    folder = tmp_path / "issuers.json"
    folder.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MRCDS_")}
    env.update(
        {
            "MRCDS_TRUSTED_ISSUERS": str(folder),
            "MRCDS_PUBLIC_BASE_URL": "https://cds.example.org",
            "XDG_DATA_HOME": str(tmp_path),
        }
    )
    done = serve_expecting_exit(env)
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        f"mr-cds: MRCDS_TRUSTED_ISSUERS: {str(folder)!r} is a folder, not a file (a container mount of a "
        "file missing on the host leaves a folder in its place)"
    ]
