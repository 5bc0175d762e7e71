"""The store on a brand-new database, SQLite and PostgreSQL alike: schema made once by
versioned migrations, feedback all-or-nothing and idempotent, issued cards recorded."""

from __future__ import annotations

import json
import shutil
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from prometheus_client import REGISTRY

from cds_service.calls.schemas import validate_feedback_result
from cds_service.core.errors import ConfigurationError
from cds_service.db import feedback as feedback_module
from cds_service.db import issued as issued_module
from cds_service.db import migrate
from cds_service.db import prune as prune_module
from cds_service.db.engine import make_engine
from cds_service.db.prune import prune
from cds_service.db.store import Store
from cds_service.db.tables import jwt_replay
from cds_service.http.app import create_app
from tests.cds_service.conftest import demo_request, entry, flush_issued, issue_cards
from tests.cds_service.storage_helpers import feedback_rows, issued_rows
from tests.conftest import SERVICE_ID, SERVICE_URL

FEEDBACK_URL = f"{SERVICE_URL}/feedback"
AT = "2026-11-20T10:05:31Z"


def _store(app: Flask) -> Store:
    store: Store = app.extensions["mrcds_store"]
    return store


# --- schema ---------------------------------------------------------------------------


def test_a_new_database_is_migrated_to_the_newest_revision_at_start_up(store_app: Flask) -> None:
    engine = _store(store_app).engine
    assert migrate.current_revision(engine) == migrate.head_revision()
    tables = set(sa.inspect(engine).get_table_names())
    assert {"issued_cards", "feedback", "jwt_replay", "alembic_version"} <= tables


def test_jwt_replay_table_has_the_agreed_columns_and_expiry_index(store_app: Flask) -> None:
    inspector = sa.inspect(_store(store_app).engine)
    columns = {c["name"]: c for c in inspector.get_columns("jwt_replay")}
    assert set(columns) == {"jti", "iss", "expires_at"}
    assert inspector.get_pk_constraint("jwt_replay")["constrained_columns"] == ["iss", "jti"]
    assert not columns["iss"]["nullable"]
    assert not columns["expires_at"]["nullable"]
    assert ["expires_at"] in [ix["column_names"] for ix in inspector.get_indexes("jwt_replay")]


def test_upgrading_again_changes_nothing(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        first = migrate.upgrade(engine)
        again = migrate.upgrade(engine)
    finally:
        engine.dispose()
    assert first == (None, migrate.head_revision())
    assert again == (migrate.head_revision(), migrate.head_revision())


def test_replicas_upgrading_a_new_database_at_once_both_succeed(database_url: str) -> None:
    engines = [make_engine(database_url) for _ in range(3)]
    results: list[tuple[str | None, str]] = []
    errors: list[BaseException] = []
    start = threading.Barrier(len(engines))

    def upgrade(engine: sa.Engine) -> None:
        start.wait()
        try:
            results.append(migrate.upgrade(engine))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=upgrade, args=(e,)) for e in engines]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert errors == []
        assert {after for _, after in results} == {migrate.head_revision()}
        assert migrate.current_revision(engines[0]) == migrate.head_revision()
    finally:
        for e in engines:
            e.dispose()


def test_a_schema_from_a_newer_version_stops_start_up_in_one_line(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        migrate.upgrade(engine)
        with engine.begin() as conn:
            conn.execute(sa.text("UPDATE alembic_version SET version_num = 'f00d'"))
    finally:
        engine.dispose()
    with pytest.raises(ConfigurationError, match="revision f00d, which this version does not know"):
        create_app({"database_url": database_url, "warm_up": False})


def test_a_dropped_schema_is_503_for_feedback_and_readiness_and_no_request_creates_it(
    store_app: Flask, store_client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    # The schema exists before the first request; a request that finds it missing says 503
    # (it was a 500) and creates nothing.
    engine = _store(store_app).engine
    with engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE feedback"))
        conn.execute(sa.text("DROP TABLE alembic_version"))
    response = store_client.post(FEEDBACK_URL, json={"feedback": [entry("c-1", "overridden", AT)]})
    _assert_503_retry(response)
    assert "feedback" not in sa.inspect(engine).get_table_names()
    ready = store_client.get("/readyz")
    assert ready.status_code == 503
    assert "schema" in ready.get_json()["issue"][0]["diagnostics"]
    assert "schema missing" in caplog.text


def _assert_503_retry(response: Any) -> None:
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"
    assert response.get_json()["issue"][0]["code"] == "transient"


def test_feedback_to_a_removed_sqlite_folder_is_503_and_not_ready(
    tmp_path: Any, migrated_sqlite: Any, caplog: pytest.LogCaptureFixture
) -> None:
    # SQLite writes on into the unlinked file: it answered 200 "stored", and /readyz 200.
    folder = tmp_path / "data"
    folder.mkdir()
    shutil.copyfile(migrated_sqlite, folder / "feedback.sqlite3")
    app = create_app({"database_url": f"sqlite:///{folder / 'feedback.sqlite3'}", "warm_up": False})
    client = app.test_client()
    try:
        assert (
            client.post(FEEDBACK_URL, json={"feedback": [entry("c-1", "overridden", AT)]}).status_code == 200
        )
        shutil.rmtree(folder)
        _assert_503_retry(client.post(FEEDBACK_URL, json={"feedback": [entry("c-2", "overridden", AT)]}))
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert "removed or replaced" in ready.get_json()["issue"][0]["diagnostics"]
        assert "file removed or replaced" in caplog.text
    finally:
        _store(app).dispose()


def test_feedback_to_a_replaced_sqlite_file_is_503(tmp_path: Any, migrated_sqlite: Any) -> None:
    path = tmp_path / "feedback.sqlite3"
    shutil.copyfile(migrated_sqlite, path)
    app = create_app({"database_url": f"sqlite:///{path}", "warm_up": False})
    try:
        shutil.copyfile(migrated_sqlite, tmp_path / "restored.sqlite3")
        (tmp_path / "restored.sqlite3").replace(path)  # a restore behind the service's back
        client = app.test_client()
        _assert_503_retry(client.post(FEEDBACK_URL, json={"feedback": [entry("c-1", "overridden", AT)]}))
        assert client.get("/readyz").status_code == 503
    finally:
        _store(app).dispose()


def test_a_read_only_postgresql_is_503_for_feedback_and_not_ready(
    store_app: Flask, store_client: FlaskClient, database_url: str
) -> None:
    # What a failover to a hot standby looks like to the service: every write refused.
    if not database_url.startswith("postgresql"):
        pytest.skip("a read-only database cannot be made for root on SQLite")
    engine = _store(store_app).engine
    name = engine.url.database
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on'))
    engine.dispose()  # new sessions pick the setting up
    _assert_503_retry(store_client.post(FEEDBACK_URL, json={"feedback": [entry("c-1", "overridden", AT)]}))
    ready = store_client.get("/readyz")
    assert ready.status_code == 503
    assert "read-only" in ready.get_json()["issue"][0]["diagnostics"]


def test_start_up_refuses_an_old_schema_when_upgrading_is_off(database_url: str) -> None:
    with pytest.raises(ConfigurationError, match="mr-cds db upgrade"):
        create_app({"database_url": database_url, "warm_up": False, "database_upgrade_on_start": False})


def test_a_database_from_before_migrations_keeps_its_feedback(database_url: str) -> None:
    legacy = sa.MetaData()
    table = sa.Table(
        "feedback",
        legacy,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("service_id", sa.String(200), nullable=False),
        sa.Column("card_uuid", sa.String(128), nullable=False),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("outcome_timestamp", sa.String(40), nullable=False),
        sa.Column("accepted_suggestions", sa.Text, nullable=True),
        sa.Column("override_system", sa.String(500), nullable=True),
        sa.Column("override_code", sa.String(200), nullable=True),
        sa.Column("user_comment", sa.Text, nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint(
            "service_id", "card_uuid", "outcome", "outcome_timestamp", name="uq_feedback_once"
        ),
    )
    engine = make_engine(database_url)
    try:
        legacy.create_all(engine)
        with engine.begin() as conn:
            conn.execute(
                table.insert(),
                {
                    "service_id": SERVICE_ID,
                    "card_uuid": "old-card",
                    "outcome": "overridden",
                    "outcome_timestamp": "2026-11-20T11:05:31+01:00",
                    "override_system": "urn:x",
                    "override_code": "patient-declined",
                    "received_at": datetime(2026, 11, 20, 10, 6, tzinfo=UTC),
                },
            )
        migrate.upgrade(engine)
        (row,) = feedback_rows(engine)
    finally:
        engine.dispose()
    assert row["card_uuid"] == "old-card"
    assert row["outcome_timestamp"] == datetime(2026, 11, 20, 10, 5, 31, tzinfo=UTC)
    assert row["unknown_card"] is True
    assert row["override_code"] == "patient-declined"


# --- engine -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url", ["not a url", "mysql://user@host/db", "postgresql+nosuchdriver://u@localhost/db"]
)
def test_an_unusable_database_url_names_the_variable(url: str) -> None:
    with pytest.raises(ConfigurationError, match=r"^MRCDS_DATABASE_URL: "):
        make_engine(url)


def test_a_missing_driver_names_the_variable_and_the_driver() -> None:
    # pg8000 is a real SQLAlchemy dialect whose driver this project does not install.
    with pytest.raises(ConfigurationError, match=r"MRCDS_DATABASE_URL: database driver 'pg8000'"):
        make_engine("postgresql+pg8000://u:secret@localhost/db")


def test_the_url_password_is_never_in_the_error() -> None:
    with pytest.raises(ConfigurationError) as raised:
        make_engine("postgresql+pg8000://u:s3cr3t@localhost/db")
    assert "s3cr3t" not in raised.value.diagnostics


def test_sqlite_waits_for_a_writer_before_switching_to_wal(tmp_path: Any) -> None:
    # A new file is in rollback-journal mode; switching it to WAL needs a lock. With the busy
    # timeout set after the switch, this connection failed at once with "database is locked".
    path = tmp_path / "locked.sqlite3"
    holder = sa.create_engine(f"sqlite:///{path}", isolation_level="AUTOCOMMIT")
    conn = holder.connect()
    conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
    conn.exec_driver_sql("BEGIN EXCLUSIVE")
    release = threading.Timer(0.3, lambda: conn.exec_driver_sql("COMMIT"))
    release.start()
    engine = make_engine(f"sqlite:///{path}", lock_timeout_s=10)
    try:
        with engine.connect() as waiting:
            mode = waiting.exec_driver_sql("PRAGMA journal_mode").scalar()
    finally:
        release.join()
        conn.close()
        holder.dispose()
        engine.dispose()
    assert mode == "wal"


def test_ping_tells_whether_the_database_answers(store_app: Flask, tmp_path: Any) -> None:
    assert _store(store_app).is_reachable()
    unreachable = Store(make_engine("postgresql+psycopg://u@127.0.0.1:1/db"))
    assert not unreachable.is_reachable()


# --- feedback -----------------------------------------------------------------------


def test_answer_counts_stored_duplicates_and_unknown_cards(store_client: FlaskClient) -> None:
    response = store_client.post(FEEDBACK_URL, json={"feedback": [entry("c-1", "overridden", AT)]})
    assert response.status_code == 200
    validate_feedback_result(response.get_json())
    assert response.get_json() == {"stored": 1, "duplicates": 0, "unknown_cards": 1}


def test_feedback_for_a_card_never_issued_is_stored_and_flagged(
    store_app: Flask, store_client: FlaskClient
) -> None:
    store_client.post(FEEDBACK_URL, json={"feedback": [entry("never-issued", "overridden", AT)]})
    (row,) = feedback_rows(_store(store_app).engine)
    assert row["unknown_card"] is True
    assert row["recommendation_id"] is None


def test_feedback_for_an_issued_card_carries_its_recommendation(
    store_app: Flask, store_client: FlaskClient
) -> None:
    card = issue_cards(store_client, "06-mr-needs-echo.json", "hook-1")[0]
    response = store_client.post(FEEDBACK_URL, json={"feedback": [entry(card["uuid"], "accepted", AT)]})
    assert response.get_json() == {"stored": 1, "duplicates": 0, "unknown_cards": 0}
    (row,) = feedback_rows(_store(store_app).engine)
    assert row["unknown_card"] is False
    assert row["recommendation_id"] == card["source"]["topic"]["code"]


def test_the_same_entry_resent_is_stored_once(store_app: Flask, store_client: FlaskClient) -> None:
    item = entry("c-1", "overridden", AT, "patient-declined")
    store_client.post(FEEDBACK_URL, json={"feedback": [item]})
    again = store_client.post(FEEDBACK_URL, json={"feedback": [item, entry("c-2", "overridden", AT)]})
    assert again.get_json() == {"stored": 1, "duplicates": 1, "unknown_cards": 2}
    assert len(feedback_rows(_store(store_app).engine)) == 2


def test_the_same_instant_written_another_way_is_a_duplicate(store_client: FlaskClient) -> None:
    store_client.post(FEEDBACK_URL, json={"feedback": [entry("c-1", "overridden", "2026-11-20T10:05:31Z")]})
    again = store_client.post(
        FEEDBACK_URL, json={"feedback": [entry("c-1", "overridden", "2026-11-20T11:05:31+01:00")]}
    )
    assert again.get_json()["duplicates"] == 1


def test_a_repeated_entry_within_one_request_is_stored_once(
    store_app: Flask, store_client: FlaskClient
) -> None:
    item = entry("c-1", "overridden", AT)
    response = store_client.post(FEEDBACK_URL, json={"feedback": [item, item]})
    assert response.get_json() == {"stored": 1, "duplicates": 1, "unknown_cards": 2}
    assert len(feedback_rows(_store(store_app).engine)) == 1


def test_one_bad_entry_stores_nothing(store_app: Flask, store_client: FlaskClient) -> None:
    # February 30th matches the timestamp's pattern but is no date.
    items = [entry("c-1", "overridden", AT), entry("c-2", "overridden", "2026-02-30T10:00:00Z")]
    response = store_client.post(FEEDBACK_URL, json={"feedback": items})
    assert response.status_code == 400
    assert response.get_json()["issue"][0]["expression"] == ["feedback.1.outcomeTimestamp"]
    assert feedback_rows(_store(store_app).engine) == []


def test_a_failure_after_the_first_insert_rolls_back_the_whole_request(
    store_app: Flask, store_client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_row = feedback_module._row
    calls = []

    def failing_second_row(*args: Any) -> dict[str, Any]:
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("disk gone")
        return real_row(*args)

    monkeypatch.setattr(feedback_module, "_row", failing_second_row)
    items = [entry("c-1", "overridden", AT), entry("c-2", "overridden", AT)]
    response = store_client.post(FEEDBACK_URL, json={"feedback": items})
    assert response.status_code == 500
    assert len(calls) == 2
    assert feedback_rows(_store(store_app).engine) == []


def _hold_write_lock(app: Flask) -> sa.Connection:
    """Another connection that holds the database's (SQLite) or table's (PostgreSQL) write lock."""
    engine = _store(app).engine
    other = sa.create_engine(engine.url, isolation_level="AUTOCOMMIT")
    conn = other.connect()
    if engine.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        conn.exec_driver_sql("BEGIN")
        conn.exec_driver_sql("LOCK TABLE feedback, issued_cards IN EXCLUSIVE MODE")
    return conn


def test_a_lock_held_past_the_timeout_is_a_clean_503_with_nothing_stored(
    store_app: Flask, store_client: FlaskClient
) -> None:
    conn = _hold_write_lock(store_app)
    try:
        items = [entry("c-1", "overridden", AT), entry("c-2", "accepted", AT)]
        response = store_client.post(FEEDBACK_URL, json={"feedback": items})
    finally:
        conn.exec_driver_sql("ROLLBACK")
        conn.close()
        conn.engine.dispose()
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"
    outcome = response.get_json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert outcome["issue"][0]["code"] == "transient"
    assert feedback_rows(_store(store_app).engine) == []
    # Released, the same request goes through.
    assert store_client.post(FEEDBACK_URL, json={"feedback": items}).get_json()["stored"] == 2


# --- issued cards -------------------------------------------------------------------


def test_each_card_of_a_response_is_recorded_with_its_recommendation(
    store_app: Flask, store_client: FlaskClient
) -> None:
    cards = issue_cards(store_client, "01-acute-mr-after-mi.json", "hook-41")
    rows = {r["card_uuid"]: r for r in issued_rows(_store(store_app).engine)}
    assert set(rows) == {c["uuid"] for c in cards}
    for card in cards:
        row = rows[card["uuid"]]
        assert row["recommendation_id"] == card["source"]["topic"]["code"]
        assert row["indicator"] == card["indicator"]
        assert json.loads(row["suggestion_uuids"]) == [s["uuid"] for s in card.get("suggestions", [])]
        assert row["service_id"] == SERVICE_ID
        assert row["hook_instance"] == "hook-41"
        assert datetime.now(UTC) - row["issued_at"] < timedelta(minutes=5)
    assert any(json.loads(r["suggestion_uuids"]) for r in rows.values())


def test_issued_card_records_hold_no_patient_id_and_no_text(
    store_app: Flask, store_client: FlaskClient
) -> None:
    body = demo_request("01-acute-mr-after-mi.json", hook_instance="hook-42")
    cards = store_client.post(SERVICE_URL, json=body).get_json()["cards"]
    assert flush_issued(store_app)
    assert issued_rows(_store(store_app).engine)
    stored = json.dumps(issued_rows(_store(store_app).engine), default=str)
    assert body["context"]["patientId"] not in stored
    for card in cards:
        assert card["summary"] not in stored
        assert card["source"]["topic"]["display"] not in stored


def test_cards_issued_while_the_database_is_locked_are_answered_and_recorded_once_it_is_free(
    store_app: Flask, store_client: FlaskClient
) -> None:
    # The hook call never waits for the write: it answers while the lock is held, and the
    # background writer retries until the database takes the records.
    conn = _hold_write_lock(store_app)
    try:
        response = store_client.post(
            SERVICE_URL, json=demo_request("06-mr-needs-echo.json", hook_instance="hook-46")
        )
        cards = response.get_json()["cards"]
        assert cards
        assert not flush_issued(store_app, timeout=0.5)  # still locked: nothing written yet
        assert issued_rows(_store(store_app).engine) == []
    finally:
        conn.exec_driver_sql("ROLLBACK")
        conn.close()
        conn.engine.dispose()
    assert flush_issued(store_app)
    assert {r["card_uuid"] for r in issued_rows(_store(store_app).engine)} == {c["uuid"] for c in cards}


def test_a_retried_batch_never_stores_a_card_twice(store_app: Flask) -> None:
    store = _store(store_app)
    rows = issued_module.issued_rows(
        SERVICE_ID,
        "hook-47",
        [{"uuid": "card-1", "indicator": "info", "source": {"topic": {"code": "rec-1"}}}],
        datetime.now(UTC),
    )
    store.write_issued(rows)
    store.write_issued(rows)  # as after a commit whose answer was lost with the connection
    assert [r["card_uuid"] for r in issued_rows(store.engine)] == ["card-1"]


def test_issued_cards_past_the_buffer_are_dropped_counted_and_logged(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(
        {"database_url": database_url, "warm_up": False, "issued_buffer_cards": 2, "metrics": "on"}
    )
    try:
        before = _dropped("buffer full")
        cards = (
            app.test_client()
            .post(SERVICE_URL, json=demo_request("02-cardiogenic-shock.json", hook_instance="hook-48"))
            .get_json()["cards"]
        )
        assert len(cards) > 2
        assert _dropped("buffer full") == before + len(cards)
        assert "NOT recorded (buffer full" in caplog.text
        assert "hookInstance hook-48" in caplog.text
    finally:
        _store(app).dispose()


def _dropped(reason: str) -> float:
    value = REGISTRY.get_sample_value("mrcds_issued_cards_dropped_total", {"reason": reason})
    return value or 0.0


def test_a_response_without_cards_records_nothing(store_app: Flask, store_client: FlaskClient) -> None:
    issue_cards(store_client, "08-moderate-mr-no-card.json", "hook-43")
    assert issued_rows(_store(store_app).engine) == []


# --- retention ----------------------------------------------------------------------


def test_prune_deletes_what_is_older_and_expired_jwt_ids_only(
    store_app: Flask, store_client: FlaskClient
) -> None:
    engine = _store(store_app).engine
    card = issue_cards(store_client, "06-mr-needs-echo.json", "hook-45")[0]
    store_client.post(FEEDBACK_URL, json={"feedback": [entry(card["uuid"], "accepted", AT)]})
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(
            jwt_replay.insert(),
            [
                {"jti": "expired", "iss": "ehr", "expires_at": now - timedelta(minutes=1)},
                {"jti": "live", "iss": "ehr", "expires_at": now + timedelta(minutes=5)},
            ],
        )
    kept = prune(engine, before=now - timedelta(days=1), now=now)
    assert (kept.issued_cards, kept.feedback, kept.jwt_replay) == (0, 0, 1)
    gone = prune(engine, before=now + timedelta(seconds=1), now=now)
    assert (gone.issued_cards, gone.feedback) == (1, 1)
    with engine.connect() as conn:
        assert conn.execute(sa.select(jwt_replay.c.jti)).scalars().all() == ["live"]


def test_prune_deletes_in_small_batches_until_nothing_old_is_left(
    store_app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One transaction per batch: the service's writers wait for one batch, not the whole prune.
    monkeypatch.setattr(prune_module, "BATCH_ROWS", 2)
    engine = _store(store_app).engine
    now = datetime.now(UTC)
    old = now - timedelta(days=3)
    with engine.begin() as conn:
        conn.execute(
            jwt_replay.insert(),
            [{"jti": f"j{i}", "iss": "ehr", "expires_at": old} for i in range(5)]
            + [{"jti": "live", "iss": "ehr", "expires_at": now + timedelta(minutes=5)}],
        )
    store = _store(store_app)
    store.write_issued(
        [
            row._replace(card_uuid=f"card-{i}")
            for i, row in enumerate(
                issued_module.issued_rows(
                    SERVICE_ID,
                    "hook-49",
                    [{"uuid": "x", "indicator": "info", "source": {"topic": {"code": "rec-1"}}}] * 5,
                    old,
                )
            )
        ]
    )
    result = prune(engine, before=now - timedelta(days=1), now=now)
    assert (result.issued_cards, result.jwt_replay) == (5, 5)
    assert issued_rows(engine) == []
