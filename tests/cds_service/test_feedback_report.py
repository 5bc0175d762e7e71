"""`mr-cds feedback-report`, `feedback-prune` and `db upgrade`: counts per recommendation
after a known sequence of hook calls and feedback, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from cds_service.cli import mr_cds as cli
from cds_service.cli.report_output import REASONS_IN_TEXT, write_plot
from cds_service.db import migrate
from cds_service.db.engine import make_engine
from cds_service.db.feedback import add_feedback
from cds_service.db.issued import record_issued
from cds_service.db.report import FeedbackReport, RecommendationReport
from cds_service.db.tables import issued_cards
from hooks.guideline import guideline
from tests.cds_service.conftest import entry, issue_cards
from tests.cds_service.storage_helpers import feedback_rows, issued_rows
from tests.conftest import SERVICE_ID, SERVICE_URL

FEEDBACK_URL = f"{SERVICE_URL}/feedback"
RECENT = "2026-11-20T10:00:00Z"
OLD = "2026-01-02T09:00:00Z"


def _by_recommendation(cards: list[dict[str, Any]]) -> dict[str, str]:
    return {c["source"]["topic"]["code"]: c["uuid"] for c in cards}


@pytest.fixture
def known_sequence(store_client: FlaskClient, database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Three hook calls, then feedback:

    - acute-mr-after-mi: acute-mr-emergency accepted; grade-severity overridden long ago
    - cardiogenic-shock: surgical-repair overridden (patient declined), medical-therapy
      overridden (already addressed), mechanical-support left alone
    - stable-severe-mr: surgical-repair overridden (patient declined, sent twice),
      medical-therapy accepted
    - one entry for a card this service never issued
    """
    a = _by_recommendation(issue_cards(store_client, "01-acute-mr-after-mi.json", "hook-a"))
    b = _by_recommendation(issue_cards(store_client, "02-cardiogenic-shock.json", "hook-b"))
    c = _by_recommendation(issue_cards(store_client, "04-stable-severe-mr.json", "hook-c"))
    declined_c = entry(c["surgical-repair"], "overridden", RECENT, "patient-declined")
    posts = [
        [entry(a["acute-mr-emergency"], "accepted", RECENT)],
        [entry(a["grade-severity"], "overridden", OLD, "not-appropriate")],
        [
            entry(b["surgical-repair"], "overridden", RECENT, "patient-declined"),
            entry(b["medical-therapy"], "overridden", RECENT, "already-addressed"),
        ],
        [declined_c, entry(c["medical-therapy"], "accepted", RECENT)],
        [declined_c],
        [entry("never-issued", "overridden", RECENT, "patient-declined")],
    ]
    for items in posts:
        assert store_client.post(FEEDBACK_URL, json={"feedback": items}).status_code == 200
    monkeypatch.setenv("MRCDS_DATABASE_URL", database_url)


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = cli.main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def _display(code: str) -> str:
    return next(r.display for r in guideline().override_reasons if r.code == code)


@pytest.mark.usefixtures("known_sequence")
def test_json_report_counts_each_recommendation(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = _run(capsys, "feedback-report", "--format", "json")
    assert status == 0
    report = json.loads(out)
    assert report["total_feedback"] == 7
    assert report["unattributed_feedback"] == 1
    recs = {r["recommendation"]: r for r in report["recommendations"]}
    assert set(recs) == {
        "acute-mr-emergency",
        "grade-severity",
        "mechanical-support",
        "medical-therapy",
        "surgical-repair",
    }
    counts = {k: (r["issued"], r["accepted"], r["overridden"], r["acceptance_rate"]) for k, r in recs.items()}
    assert counts == {
        "acute-mr-emergency": (1, 1, 0, 1.0),
        "grade-severity": (1, 0, 1, 0.0),
        "mechanical-support": (1, 0, 0, None),
        "medical-therapy": (2, 1, 1, 0.5),
        "surgical-repair": (2, 0, 2, 0.0),
    }
    titles = {r.id: r.title for r in guideline().recommendations}
    assert all(r["title"] == titles[k] for k, r in recs.items())
    (declined,) = recs["surgical-repair"]["override_reasons"]
    assert (declined["code"], declined["count"]) == ("patient-declined", 2)
    assert declined["display"] == _display("patient-declined")
    assert [r["code"] for r in recs["medical-therapy"]["override_reasons"]] == ["already-addressed"]
    assert recs["mechanical-support"]["override_reasons"] == []


@pytest.mark.usefixtures("known_sequence")
def test_since_leaves_out_feedback_with_an_older_outcome_timestamp(
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, out, _ = _run(capsys, "feedback-report", "--since", "2026-06-01", "--format", "json")
    report = json.loads(out)
    assert report["total_feedback"] == 6
    grade = next(r for r in report["recommendations"] if r["recommendation"] == "grade-severity")
    assert (grade["issued"], grade["overridden"], grade["override_reasons"]) == (1, 0, [])


@pytest.mark.usefixtures("known_sequence")
def test_csv_report_has_one_row_per_recommendation(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = _run(capsys, "feedback-report", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    surgical = next(r for r in rows if r["recommendation"] == "surgical-repair")
    assert (surgical["issued"], surgical["accepted"], surgical["overridden"]) == ("2", "0", "2")
    assert surgical["override_reasons"] == f"{_display('patient-declined')} (patient-declined): 2"
    assert len(rows) == 5


@pytest.mark.usefixtures("known_sequence")
def test_text_report_names_the_top_override_reason(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = _run(capsys, "feedback-report")
    surgical = next(line for line in out.splitlines() if line.startswith("surgical-repair"))
    assert surgical.split() == ["surgical-repair", "2", "0", "2", "0%"]
    assert f"overridden because {_display('patient-declined')} (patient-declined): 2" in out
    assert "Feedback entries: 7 (1 for cards this service never issued)" in out


@pytest.mark.usefixtures("known_sequence")
def test_plot_is_written_as_a_png(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    target = tmp_path / "feedback.png"
    status, _, err = _run(capsys, "feedback-report", "--plot", str(target))
    assert status == 0
    assert target.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert target.stat().st_size > 10_000
    assert str(target) in err


def test_report_on_an_empty_database_says_so(
    capsys: pytest.CaptureFixture[str], store_app: Flask, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MRCDS_DATABASE_URL", database_url)
    status, out, _ = _run(capsys, "feedback-report")
    assert status == 0
    assert "No cards issued" in out


def test_bad_since_is_an_argument_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["feedback-report", "--since", "last tuesday"])
    assert exited.value.code == 2
    assert "YYYY-MM-DD" in capsys.readouterr().err


def test_db_upgrade_creates_then_reports_the_schema_revision(
    capsys: pytest.CaptureFixture[str], database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MRCDS_DATABASE_URL", database_url)
    status, out, _ = _run(capsys, "db", "upgrade")
    assert status == 0
    assert out.strip() == f"database schema upgraded from empty to revision {migrate.head_revision()}"
    _, again, _ = _run(capsys, "db", "upgrade")
    assert again.strip() == f"database schema already at revision {migrate.head_revision()}"


def test_db_upgrade_with_a_bad_url_is_one_line_naming_the_variable(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MRCDS_DATABASE_URL", "mysql://u:pw@localhost/db")
    status, _, err = _run(capsys, "db", "upgrade")
    assert status == 2
    assert err.startswith("mr-cds: MRCDS_DATABASE_URL: ")
    assert len(err.strip().splitlines()) == 1


def test_an_unreachable_database_is_exit_3_without_the_password(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MRCDS_DATABASE_URL", "postgresql+psycopg://u:s3cr3t@127.0.0.1:1/db")
    status, _, err = _run(capsys, "feedback-report")
    assert status == 3
    assert "s3cr3t" not in err


@pytest.mark.usefixtures("known_sequence")
def test_prune_keeps_recent_records(capsys: pytest.CaptureFixture[str], database_url: str) -> None:
    status, out, _ = _run(capsys, "feedback-prune", "--older-than", "30")
    assert status == 0
    assert out.startswith("deleted 0 issued-card record(s), 0 feedback entries older than 30 day(s)")
    engine = make_engine(database_url)
    try:
        assert len(issued_rows(engine)) == 7
        assert len(feedback_rows(engine)) == 7
    finally:
        engine.dispose()


@pytest.mark.parametrize("days", ["0", "-3", "soon"])
def test_prune_needs_a_positive_number_of_days(capsys: pytest.CaptureFixture[str], days: str) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["feedback-prune", "--older-than", days])
    assert exited.value.code == 2
    assert "days > 0" in capsys.readouterr().err


# ----------------------------------------------------------------- attribution at report time


def _report_json(capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    status, out, _ = _run(capsys, "feedback-report", "--format", "json")
    assert status == 0
    report: dict[str, Any] = json.loads(out)
    return report


def test_feedback_that_arrives_before_its_card_record_is_attributed_when_reported(
    capsys: pytest.CaptureFixture[str], store_app: Flask, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = store_app.extensions["mrcds_store"].engine
    card = {"uuid": "card-early", "indicator": "info", "source": {"topic": {"code": "surgical-repair"}}}
    now = datetime.now(UTC)
    # The EHR's feedback is stored before the issued-card record is written (that happens
    # once the answer has been sent): at insert time the card is unknown.
    stored = add_feedback(engine, SERVICE_ID, [entry("card-early", "accepted", RECENT)], received_at=now)
    assert stored.unknown_cards == 1
    record_issued(engine, SERVICE_ID, "hook-early", [card], issued_at=now)
    monkeypatch.setenv("MRCDS_DATABASE_URL", database_url)
    report = _report_json(capsys)
    assert (report["total_feedback"], report["unattributed_feedback"]) == (1, 0)
    (surgical,) = report["recommendations"]
    assert (surgical["recommendation"], surgical["issued"], surgical["accepted"]) == ("surgical-repair", 1, 1)


def test_feedback_for_a_pruned_card_keeps_the_recommendation_it_arrived_with(
    capsys: pytest.CaptureFixture[str], store_app: Flask, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = store_app.extensions["mrcds_store"].engine
    card = {"uuid": "card-old", "indicator": "info", "source": {"topic": {"code": "medical-therapy"}}}
    long_ago = datetime.now(UTC) - timedelta(days=400)
    record_issued(engine, SERVICE_ID, "hook-old", [card], issued_at=long_ago)
    add_feedback(engine, SERVICE_ID, [entry("card-old", "accepted", RECENT)], received_at=datetime.now(UTC))
    with engine.begin() as conn:
        conn.execute(issued_cards.delete())  # what feedback-prune does to old issued cards
    monkeypatch.setenv("MRCDS_DATABASE_URL", database_url)
    report = _report_json(capsys)
    assert report["unattributed_feedback"] == 0
    (therapy,) = report["recommendations"]
    assert (therapy["recommendation"], therapy["issued"], therapy["accepted"]) == ("medical-therapy", 0, 1)


# ----------------------------------------------------------------- text and plot


def test_text_report_lists_every_override_reason_or_how_many_more(
    capsys: pytest.CaptureFixture[str], store_app: Flask, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = store_app.extensions["mrcds_store"].engine
    now = datetime.now(UTC)
    cards = [
        {"uuid": f"card-{i}", "indicator": "info", "source": {"topic": {"code": "surgical-repair"}}}
        for i in range(REASONS_IN_TEXT + 2)
    ]
    record_issued(engine, SERVICE_ID, "hook-many", cards, issued_at=now)
    items = [entry(c["uuid"], "overridden", RECENT, f"reason-{i}") for i, c in enumerate(cards)]
    add_feedback(engine, SERVICE_ID, items, received_at=now)
    monkeypatch.setenv("MRCDS_DATABASE_URL", database_url)
    _, out, _ = _run(capsys, "feedback-report")
    listed = [line for line in out.splitlines() if "overridden because" in line]
    assert len(listed) == REASONS_IN_TEXT
    assert "+2 more reason(s) (2 card(s)): --format json or csv lists them all" in out


@pytest.mark.usefixtures("known_sequence")
def test_plot_to_an_unwritable_path_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    target = tmp_path / "no-such-folder" / "feedback.png"
    status, out, err = _run(capsys, "feedback-report", "--plot", str(target))
    assert status == 2
    assert out == ""  # no report printed as if all went well
    (line,) = err.splitlines()
    assert line.startswith(f"mr-cds: --plot: cannot write {target}: ")


def test_plot_of_an_empty_database_says_there_is_no_feedback_yet(
    capsys: pytest.CaptureFixture[str],
    store_app: Flask,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("MRCDS_DATABASE_URL", database_url)
    target = tmp_path / "empty.png"
    status, _, _ = _run(capsys, "feedback-report", "--plot", str(target))
    assert status == 0
    assert target.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_plot_bars_differ_in_greyscale_and_name_the_acceptance_rate(tmp_path: Path) -> None:
    from matplotlib import pyplot as plt

    report = FeedbackReport(
        since=None,
        total_feedback=3,
        unattributed_feedback=0,
        recommendations=(RecommendationReport("surgical-repair", "Prioritize surgical repair", 4, 2, 1, ()),),
    )
    figures: list[Any] = []
    original = plt.subplots

    def keep(*args: Any, **kwargs: Any) -> Any:
        fig, ax = original(*args, **kwargs)
        figures.append((fig, ax))
        return fig, ax

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(plt, "subplots", keep)
        write_plot(report, tmp_path / "one.png")
    ((_, ax),) = figures
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels == ["Prioritize surgical repair\n4 issued, acceptance 67%"]
    accepted, overridden = ax.patches[0], ax.patches[1]

    def grey(patch: Any) -> float:
        r, g, b, _ = patch.get_facecolor()
        return 0.299 * r + 0.587 * g + 0.114 * b

    assert abs(grey(accepted) - grey(overridden)) > 0.4  # apart in greyscale
    assert overridden.get_hatch()  # and patterned, not told apart by colour alone
