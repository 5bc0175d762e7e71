"""The JSON log line: written by orjson, read key for key as the standard library wrote it,
and unchanged when ``mr-cds serve`` leaves the caller, thread and process out of records
(issue 18)."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from cds_service.http.request_log import JsonFormatter
from cds_service.runtime import serve_checks


def _the_long_way(record: logging.LogRecord) -> str:
    """What the formatter wrote before issue 18: ``json.dumps`` of the same entry."""
    entry: dict[str, Any] = {
        "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
        "level": record.levelname,
        "logger": record.name,
        "message": record.getMessage(),
    }
    entry.update(getattr(record, "fields", {}))
    if record.exc_info:
        entry["exception"] = logging.Formatter().formatException(record.exc_info)
    return json.dumps(entry, default=str)


class _Keep(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def _logged(fields: dict[str, Any] | None = None, *, failing: bool = False) -> logging.LogRecord:
    logger = logging.getLogger("tests.request_log")
    logger.propagate = False
    keep = _Keep()
    logger.addHandler(keep)
    logger.setLevel(logging.INFO)
    try:
        if failing:
            try:
                raise KeyError("boom")
            except KeyError:
                logger.exception("error %s on %s", "id-1", "POST")
        else:
            logger.info("request", extra={"fields": fields} if fields is not None else None)
    finally:
        logger.removeHandler(keep)
    (record,) = keep.records
    return record


CASES = [
    {
        "request_id": "8caed8d9-1ee6-59fa-8b7c-d7c1e0ab8c95",
        "method": "POST",
        "endpoint": "/cds-services/<service_id>",
        "status": 200,
        "ms": 0.7,
        "cards": ["medical-therapy", "on-mechanical-support"],
    },
    {"request_id": "x", "status": 404, "endpoint": "unmatched", "ms": 12.0},
    {"status": 200},
    {"note": 'Ünïcødé, naïve \u201cquotes\u201d \u2013 \\ " \n\t', "when": datetime(2026, 1, 2, tzinfo=UTC)},
    {"amount": Decimal("1.50"), "nested": {"a": [1, 2.5, None, True]}, "big": 2**70},
    {},
]


@pytest.mark.parametrize("fields", CASES)
def test_the_json_line_reads_key_for_key_as_the_standard_library_wrote_it(fields: dict[str, Any]) -> None:
    record = _logged(fields)
    written = JsonFormatter().format(record)
    assert "\n" not in written
    assert list(json.loads(written).items()) == list(json.loads(_the_long_way(record)).items())


def test_a_record_without_fields_and_one_with_an_exception_read_as_before() -> None:
    for record in (_logged(None), _logged(failing=True)):
        written = JsonFormatter().format(record)
        assert list(json.loads(written).items()) == list(json.loads(_the_long_way(record)).items())


def test_lean_records_for_mr_cds_serve_change_no_json_line(monkeypatch: pytest.MonkeyPatch) -> None:
    # The switches are process-wide: monkeypatch puts them back after the test.
    for name in ("_srcfile", "logThreads", "logProcesses", "logMultiprocessing", "logAsyncioTasks"):
        if hasattr(logging, name):
            monkeypatch.setattr(logging, name, getattr(logging, name))
    full = [_logged(fields) for fields in CASES] + [_logged(failing=True)]
    serve_checks.lean_log_records()
    lean = [_logged(fields) for fields in CASES] + [_logged(failing=True)]
    # The switches took: no caller lookup, no thread or process.
    assert (lean[0].funcName, lean[0].lineno) == ("(unknown function)", 0)
    assert (lean[0].thread, lean[0].process, lean[0].processName) == (None, None, None)
    assert full[0].funcName == "_logged"
    assert full[0].thread is not None
    formatter = JsonFormatter()
    for before, after in zip(full, lean, strict=True):
        after.created = before.created
        assert formatter.format(after) == formatter.format(before)


def test_every_formatter_mr_cds_serve_configures_is_the_json_formatter() -> None:
    formatters = serve_checks.GUNICORN_LOGGING["formatters"]
    assert [spec["()"] for spec in formatters.values()] == ["cds_service.http.request_log.JsonFormatter"]
    handlers = serve_checks.GUNICORN_LOGGING["handlers"]
    assert {handler["formatter"] for handler in handlers.values()} == set(formatters)
