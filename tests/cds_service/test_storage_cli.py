"""Storage at the command line: `mr-cds evaluate` records nothing, `mr-cds serve` refuses
an unusable database at start-up with one line naming the variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from cds_service.cli import mr_cds as cli
from cds_service.core.settings import Settings
from tests.cds_service.conftest import PATIENTS
from tests.serving import serve_expecting_exit


def test_evaluate_records_no_issued_cards(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    database = tmp_path / "untouched.sqlite3"
    monkeypatch.setenv("MRCDS_DATABASE_URL", f"sqlite:///{database}")
    assert cli.main(["evaluate", str(PATIENTS / "01-acute-mr-after-mi.json"), "--format", "json"]) == 0
    assert '"cards"' in capsys.readouterr().out
    assert not database.exists()


def test_serve_refuses_a_database_it_cannot_reach_in_one_line() -> None:
    # The URL is well formed and its driver installed: only opening it at start-up fails.
    url = "postgresql+psycopg://u:pw@127.0.0.1:1/db"
    done = serve_expecting_exit(
        {"MRCDS_DATABASE_URL": url, "MRCDS_WARM_UP": "false", "PATH": "/usr/bin:/bin"}
    )
    assert done.returncode == 2
    errors = [line for line in done.stderr.splitlines() if line.startswith("mr-cds:")]
    assert errors == [
        "mr-cds: MRCDS_DATABASE_URL: the database cannot be used at start-up (OperationalError)"
    ]
    assert "Traceback" not in done.stderr
    assert ":pw@" not in done.stderr


def test_the_test_suites_postgres_variable_is_not_refused_as_a_misspelt_setting() -> None:
    # .ci/run exports it for the whole test run, in-process apps included.
    settings = Settings.load(environ={"MRCDS_TEST_POSTGRES_URL": "postgresql+psycopg://u@127.0.0.1:1/db"})
    assert settings.database_url != "postgresql+psycopg://u@127.0.0.1:1/db"
