"""One JSON log line per request, and JSON for every other log line.

The request line is the service's access log (gunicorn's own is off, so nothing is logged
twice): time, request id, method, endpoint, status, milliseconds and, on hook calls, the
topics of the cards returned. It carries no patient data: the endpoint is the route's
rule (``/cds-services/<service_id>``), never the path as sent, and the request id is the
call's hookInstance (CDS Hooks: a UUID the EHR makes per call) or one made here.

The line is a record of the ``cds_service.access`` logger at INFO. Where the service's own
JSON handler is the only thing that would see that record (as ``mr-cds serve`` configures
logging), ``access`` writes the handler's line to its stream itself; any other logging
configuration gets the record (``sole_json_handler`` says which).
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from flask import Flask, Request, Response, g, request

from cds_service.core import metrics
from cds_service.core.json_codec import dumps

access_log = logging.getLogger("cds_service.access")

#: What a request id may look like when it comes from the client (a UUID or similar token).
_SAFE_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
UNMATCHED = "unmatched"


class JsonFormatter(logging.Formatter):
    """A log record as one JSON object on one line.

    It reads the record's time, level, logger name, message, ``fields`` and exception only:
    ``mr-cds serve`` switches off what else a record would gather (the caller's file and
    line, thread and process; ``cds_service.runtime.server``). Written compact by
    ``json_codec.dumps`` (orjson): 0.4 µs where ``json.dumps`` took 3.9 (issue 18).
    """

    def format(self, record: logging.LogRecord) -> str:
        exception = self.formatException(record.exc_info) if record.exc_info else None
        return json_line(
            record.created,
            record.levelname,
            record.name,
            record.getMessage(),
            getattr(record, "fields", None),
            exception,
        )


def json_line(
    created: float,
    level: str,
    logger: str,
    message: str,
    fields: dict[str, Any] | None,
    exception: str | None = None,
) -> str:
    """The JSON object ``JsonFormatter`` writes for a record with these attributes."""
    entry: dict[str, Any] = {
        "time": datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds"),
        "level": level,
        "logger": logger,
        "message": message,
    }
    if fields:
        entry.update(fields)
    if exception is not None:
        entry["exception"] = exception
    return dumps(entry, default=str).decode()


def sole_json_handler(logger: logging.Logger) -> logging.StreamHandler[Any] | None:
    """The handler an INFO record of ``logger`` would reach, when it is the only thing that
    would see that record: a plain ``StreamHandler`` with a ``JsonFormatter`` (what ``mr-cds
    serve`` and ``create_app`` configure), the only handler on the way up, no filter on
    the logger or the handler, and logging's own logger class and record factory. Else
    None: any other configuration sees a real record (``access``).
    """
    if (
        type(logger) is not logging.Logger
        or logger.filters
        or not logger.isEnabledFor(logging.INFO)
        or logging.getLogRecordFactory() is not logging.LogRecord
    ):
        return None
    found: logging.Handler | None = None
    current: logging.Logger | None = logger
    while current is not None:
        for handler in current.handlers:
            if found is not None:
                return None
            found = handler
        current = current.parent if current.propagate else None
    if (
        type(found) is not logging.StreamHandler
        or type(found.formatter) is not JsonFormatter
        or found.filters
        or found.level > logging.INFO
    ):
        return None
    return found


def access(fields: dict[str, Any]) -> None:
    """Log a request's line: ``access_log.info("request", extra={"fields": fields})``.

    When the service's own JSON handler is the only thing that would see the record
    (``sole_json_handler``), the line is written to its stream as that handler would
    write it, under its lock, without building the record and going through logging's
    dispatch (issue 18: 26 us of a served call's HTTP side went there, ~10 us here).
    """
    handler = sole_json_handler(access_log)
    if handler is None:
        access_log.info("request", extra={"fields": fields})
        return
    created = time.time()
    handler.acquire()
    try:
        line = json_line(created, "INFO", access_log.name, "request", fields)
        stream = handler.stream
        stream.write(line + handler.terminator)
        if stream and hasattr(stream, "flush"):
            stream.flush()
    except RecursionError:  # as logging.StreamHandler.emit
        raise
    except Exception:
        record = access_log.makeRecord(
            access_log.name, logging.INFO, "(unknown file)", 0, "request", (), None, extra={"fields": fields}
        )
        handler.handleError(record)
    finally:
        handler.release()


def set_request_id(candidate: object) -> None:
    """Use ``candidate`` (the hookInstance) as this request's id if it looks like an id."""
    if isinstance(candidate, str) and _SAFE_ID.fullmatch(candidate):
        g.request_id = candidate


def set_card_topics(cards: list[dict[str, Any]]) -> None:
    g.card_topics = [metrics.card_topic(card) for card in cards]


def install(app: Flask) -> None:
    """Time every request; log it and count it once it has an answer."""

    @app.before_request
    def _start() -> None:
        g.request_started = time.perf_counter()

    @app.after_request
    def _done(response: Response) -> Response:
        # The request and g behind their proxies, looked up once (each proxy access looks
        # up the context again: 4 us of 13 here, issue 18).
        req: Request = unproxied(request)
        ctx_g = unproxied(g)
        started = ctx_g.get("request_started")
        seconds = time.perf_counter() - started if started is not None else 0.0
        rule = req.url_rule
        endpoint = rule.rule if rule is not None else UNMATCHED
        status = response.status_code
        metrics.request_answered(endpoint, status, seconds)
        fields: dict[str, Any] = {
            "request_id": ctx_g.get("request_id") or _header_id(req) or str(uuid.uuid4()),
            "method": req.method,
            "endpoint": endpoint,
            "status": status,
            "ms": round(seconds * 1000, 1),
        }
        topics = ctx_g.get("card_topics")
        if topics is not None:
            fields["cards"] = topics
        access(fields)
        return response


def unproxied(proxy: Any) -> Any:
    """The object behind a Flask context proxy (``request``, ``g``, ``current_app``): each
    use of a proxy looks the context up again (issue 18: read it once per hook call)."""
    return proxy._get_current_object()


def _header_id(req: Request) -> str | None:
    # A proxy's id (nginx: X-Request-ID) ties its log to ours.
    value = req.headers.get("X-Request-ID", "")
    return value if _SAFE_ID.fullmatch(value) else None
