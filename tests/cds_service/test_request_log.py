"""The JSON log line: written by orjson, read key for key as the standard library wrote it,
and unchanged when ``mr-cds serve`` leaves the caller, thread and process out of records
(issue 18)."""

from __future__ import annotations

import io
import json
import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from cds_service.http import request_log
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


# The access line's short way (``request_log.access``): with the service's own JSON handler
# as the only thing that would see the record, the line is written straight to its stream.

FIXED_TIME = 1_765_000_000.1234567


class _Flushes(io.StringIO):
    flushed = 0

    def flush(self) -> None:
        self.flushed += 1
        super().flush()


class _OtherFormatter(JsonFormatter):
    pass


class _Counting(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return True


def _json_handler(stream: io.StringIO) -> logging.StreamHandler[io.StringIO]:
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    return handler


@pytest.fixture
def access_logger(monkeypatch: pytest.MonkeyPatch) -> Iterator[logging.Logger]:
    """``cds_service.access`` not propagating, at a fixed clock; put back as it was afterwards.
    Each test gives it its handlers (pytest adds its capture handlers to a logger that does
    not propagate, after the fixtures ran)."""
    logger = request_log.access_log
    monkeypatch.setattr(logger, "propagate", False)
    monkeypatch.setattr(logger, "handlers", [])
    monkeypatch.setattr(logger, "filters", [])
    monkeypatch.setattr(logger, "level", logging.INFO)
    monkeypatch.setattr(logger, "disabled", False)
    logger.manager._clear_cache()
    monkeypatch.setattr(time, "time", lambda: FIXED_TIME)
    monkeypatch.setattr(time, "time_ns", lambda: int(FIXED_TIME * 1e9))
    yield logger
    logger.manager._clear_cache()


def _variants() -> list[tuple[str, Any]]:
    """Configurations in which logging itself must handle the record: (name, set-up)."""

    def second_handler(logger: logging.Logger, stream: io.StringIO) -> None:
        logger.addHandler(_json_handler(stream))

    def logger_filter(logger: logging.Logger, stream: io.StringIO) -> None:
        logger.addFilter(_Counting())

    def handler_filter(logger: logging.Logger, stream: io.StringIO) -> None:
        logger.handlers[0].addFilter(_Counting())

    def handler_level(logger: logging.Logger, stream: io.StringIO) -> None:
        logger.handlers[0].setLevel(logging.WARNING)

    def logger_level(logger: logging.Logger, stream: io.StringIO) -> None:
        logger.setLevel(logging.WARNING)

    def other_formatter(logger: logging.Logger, stream: io.StringIO) -> None:
        logger.handlers[0].setFormatter(_OtherFormatter())

    def plain_formatter(logger: logging.Logger, stream: io.StringIO) -> None:
        logger.handlers[0].setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))

    def other_handler_class(logger: logging.Logger, stream: io.StringIO) -> None:
        class Mine(logging.StreamHandler):  # type: ignore[type-arg]
            pass

        mine = Mine(stream)
        mine.setFormatter(JsonFormatter())
        logger.handlers[0] = mine

    def disabled(logger: logging.Logger, stream: io.StringIO) -> None:
        logger.disabled = True

    def record_factory(logger: logging.Logger, stream: io.StringIO) -> None:
        base = logging.getLogRecordFactory()
        logging.setLogRecordFactory(lambda *args, **kwargs: base(*args, **kwargs))

    def parent_handler(logger: logging.Logger, stream: io.StringIO) -> None:
        logger.propagate = True  # the root logger has pytest's handlers

    return [
        ("second handler", second_handler),
        ("filter on the logger", logger_filter),
        ("filter on the handler", handler_filter),
        ("handler level", handler_level),
        ("logger level", logger_level),
        ("a formatter subclass", other_formatter),
        ("another formatter", plain_formatter),
        ("a handler subclass", other_handler_class),
        ("logger disabled", disabled),
        ("record factory", record_factory),
        ("a parent's handlers", parent_handler),
    ]


FIELDS = [CASES[0], CASES[1], {"request_id": "r", "note": 'Ünïcødé \u2013 \\ " \n', "big": 2**70}]


@pytest.mark.parametrize("fields", FIELDS)
def test_the_access_line_written_directly_is_the_line_logging_writes(
    access_logger: logging.Logger, fields: dict[str, Any]
) -> None:
    stream = _Flushes()
    access_logger.handlers[:] = [_json_handler(stream)]
    assert request_log.sole_json_handler(access_logger) is access_logger.handlers[0]
    access_logger.info("request", extra={"fields": fields})
    the_long_way = stream.getvalue()
    assert stream.flushed == 1
    stream.seek(0)
    stream.truncate()
    request_log.access(fields)
    assert stream.getvalue() == the_long_way
    assert stream.flushed == 2  # each line is flushed as it is written
    assert the_long_way.endswith("}\n")
    assert the_long_way.count("\n") == 1
    assert json.loads(the_long_way)["time"] == "2025-12-06T05:46:40.123+00:00"


@pytest.mark.parametrize(("name", "set_up"), _variants(), ids=[name for name, _ in _variants()])
def test_any_other_logging_configuration_gets_a_real_record(
    access_logger: logging.Logger, name: str, set_up: Any
) -> None:
    stream = io.StringIO()
    access_logger.handlers[:] = [_json_handler(stream)]
    factory = logging.getLogRecordFactory()
    try:
        set_up(access_logger, stream)
        access_logger.manager._clear_cache()
        assert request_log.sole_json_handler(access_logger) is None, name
        access_logger.info("request", extra={"fields": CASES[0]})
        the_long_way = stream.getvalue()
        stream.seek(0)
        stream.truncate()
        request_log.access(CASES[0])
        assert stream.getvalue() == the_long_way
    finally:
        logging.setLogRecordFactory(factory)


def test_a_write_that_fails_goes_to_the_handlers_error_path_with_the_record(
    access_logger: logging.Logger, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Broken(io.StringIO):
        def write(self, text: str) -> int:
            raise OSError("disk full")

    handler = _json_handler(Broken())
    access_logger.handlers[:] = [handler]
    failed: list[logging.LogRecord] = []
    monkeypatch.setattr(handler, "handleError", failed.append)
    request_log.access(CASES[0])
    (record,) = failed
    assert (record.name, record.levelno, record.getMessage()) == (
        "cds_service.access",
        logging.INFO,
        "request",
    )
    assert record.fields == CASES[0]  # type: ignore[attr-defined]
