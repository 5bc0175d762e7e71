"""Storage at the command line: `mr-cds evaluate` records nothing, `mr-cds serve` refuses
an unusable database at start-up with one line naming the variable."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from cds_service import cli
from cds_service.settings import Settings
from tests.cds_service.conftest import PATIENTS
from tests.serving import free_port, mr_cds_command


def test_evaluate_records_no_issued_cards(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    database = tmp_path / "untouched.sqlite3"
    monkeypatch.setenv("MRCDS_DATABASE_URL", f"sqlite:///{database}")
    assert cli.main(["evaluate", str(PATIENTS / "01-acute-mr-after-mi.json"), "--format", "json"]) == 0
    assert '"cards"' in capsys.readouterr().out
    assert not database.exists()


@pytest.mark.parametrize(
    "url",
    [
        pytest.param("mysql://u:pw@localhost/db", id="unsupported-backend"),
        pytest.param("postgresql+pg8000://u:pw@localhost/db", id="driver-not-installed"),
        pytest.param("postgresql+psycopg://u:pw@127.0.0.1:1/db", id="unreachable"),
    ],
)
def test_serve_refuses_an_unusable_database_in_one_line(tmp_path: Path, url: str) -> None:
    env = {"MRCDS_DATABASE_URL": url, "MRCDS_WARM_UP": "false", "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [*mr_cds_command(), "serve", "--port", str(free_port())],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    lines = [line for line in done.stderr.splitlines() if line.startswith("mr-cds:")]
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("mr-cds: MRCDS_DATABASE_URL: ")
    assert "Traceback" not in done.stderr
    assert ":pw@" not in done.stderr


def test_the_test_suites_postgres_variable_is_not_refused_as_a_misspelt_setting() -> None:
    # .ci/run exports it for the whole test run, in-process apps included.
    settings = Settings.load(environ={"MRCDS_TEST_POSTGRES_URL": "postgresql+psycopg://u@127.0.0.1:1/db"})
    assert settings.database_url != "postgresql+psycopg://u@127.0.0.1:1/db"
