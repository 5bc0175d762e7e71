"""What ``mr-cds serve`` checks and says before gunicorn takes over, and how it logs.

gunicorn retries a busy port for several seconds and prints a line per try; one line that
says what to change is more use to someone starting the service for the first time.
"""

from __future__ import annotations

import errno
import logging
import os
import socket
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from cds_service.core.metrics import MULTIPROC_ENV
from cds_service.core.settings import Settings

#: gunicorn's logging as dictConfig: its own messages and the app's, one JSON object per line
#: on stderr; its access log stays silent because the app logs each request itself.
GUNICORN_LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "root": {"level": "INFO", "handlers": ["json"]},
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": [], "propagate": True},
        "gunicorn.access": {"level": "CRITICAL", "handlers": [], "propagate": False},
    },
    "handlers": {
        "json": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}
    },
    "formatters": {"json": {"()": "cds_service.http.request_log.JsonFormatter"}},
}


def lean_log_records() -> None:
    """Log records without what no formatter of the service reads (issue 18).

    Every line the served process writes goes through ``JsonFormatter`` (``GUNICORN_LOGGING``),
    which reads a record's time, level, logger name, message, fields and exception. Python's
    logging would also look up the caller's file and line (a walk up the stack) and the
    thread, process and multiprocessing names on every record: the logging documentation's
    "Optimization" section lists these switches. They are process-wide, so only ``mr-cds
    serve`` sets them (``cds_service.runtime.server``, in the master before the workers
    fork), never an import: an application that embeds ``create_app`` keeps its logging.
    """
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    if hasattr(logging, "logAsyncioTasks"):  # Python 3.12+
        logging.logAsyncioTasks = False


def port_problem(host: str, port: int) -> str | None:
    """Why the service could not listen on ``host:port``, or None if it can."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror:
        return f"{host!r} is not an address of this machine; check --host"
    family, kind, proto, _name, address = infos[0]
    with socket.socket(family, kind, proto) as sock:
        # As gunicorn does: a port left in TIME_WAIT by a previous run is free.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return f"port {port} is already in use; choose another with --port"
            if exc.errno == errno.EACCES:
                return f"no permission to use port {port}; choose one above 1023 with --port"
            if exc.errno == errno.EADDRNOTAVAIL:
                return f"{host!r} is not an address of this machine; check --host"
            return f"{exc.strerror or type(exc).__name__}; check --host and --port"
    return None


def database_shown(database_url: str) -> str:
    """The feedback database for the start-up message: a SQLite file's path, else the URL
    without its password."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        return url.database if url.database and url.database != ":memory:" else "in memory (SQLite)"
    return url.render_as_string(hide_password=True)


def metrics_shown(settings: Settings, host: str) -> str:
    """Where metrics are served, for the start-up message."""
    if not settings.metrics:
        return "off"
    if settings.metrics_port:
        bracketed = f"[{host}]" if ":" in host and not host.startswith("[") else host
        return f"at http://{bracketed}:{settings.metrics_port}/metrics only"
    return "at /metrics"


def metrics_dir_problem(metrics_on: bool) -> str | None:
    """Why the workers could not share metrics through ``PROMETHEUS_MULTIPROC_DIR``, or None.

    Without the variable the server makes a temporary folder of its own.
    """
    given = os.environ.get(MULTIPROC_ENV)
    if not metrics_on or not given:
        return None
    folder = Path(given)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return f"{MULTIPROC_ENV}: cannot use {folder}: {exc.strerror or type(exc).__name__}"
    if not os.access(folder, os.W_OK | os.X_OK):
        return f"{MULTIPROC_ENV}: cannot use {folder}: not writable"
    return None
