"""The process ``mr-cds serve`` becomes: gunicorn with gevent workers.

gevent must patch the standard library before anything imports ``ssl`` or ``socket``
(``requests`` keeps references to the unpatched classes, and an unpatched TLS socket
would block every connection of the worker while it waits on a FHIR server). So
``mr-cds serve`` checks the configuration, then replaces itself with
``python -m cds_service.runtime.server HOST PORT WORKERS``, which patches first.

A gevent worker costs one greenlet per connection, not a thread: clients that send a byte
a second wait on their sockets without holding anything the other callers need (the
gthread worker reads a request with blocking calls, one thread per slow client).
"""

import sys

try:
    from gevent import monkey
except ModuleNotFoundError as missing:  # a broken install: say so in one line
    print(
        f"mr-cds: cannot start: the Python module {missing.name!r} is missing; reinstall "
        "mr-cds-hooks with its dependencies (README, Quick start)",
        file=sys.stderr,
    )
    raise SystemExit(2) from None

monkey.patch_all()

import atexit  # noqa: E402
import os  # noqa: E402
import shutil  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

from cds_service.core import metrics  # noqa: E402
from cds_service.core.errors import ConfigurationError  # noqa: E402
from cds_service.core.settings import Settings  # noqa: E402
from cds_service.runtime.serve_checks import (  # noqa: E402
    GUNICORN_LOGGING,
    database_shown,
    lean_log_records,
    metrics_shown,
)


def options(host: str, port: int, workers: int) -> dict[str, Any]:
    return {
        "bind": f"{_bracket(host)}:{port}",
        "workers": workers,
        "worker_class": "cds_service.runtime.gunicorn_worker.OperationOutcomeWorker",
        "worker_connections": 1000,
        # The app (and its warm-up) is built once in the master; workers fork warm.
        "preload_app": True,
        "timeout": 30,
        "graceful_timeout": 10,
        # With gevent this also bounds the wait for a whole request head: idle connections
        # and clients dribbling their headers are closed after 5 s.
        "keepalive": 5,
        # Bounds on what gunicorn reads before the app sees a request (it answers 400/414/431).
        "limit_request_line": 8190,
        "limit_request_fields": 100,
        "limit_request_field_size": 16 * 1024,
        # The app writes one JSON line per request (cds_service.http.request_log): gunicorn's
        # access log would repeat each of them in another format, and with logconfig_dict
        # set gunicorn would build its access record for every request to log it nowhere.
        "accesslog": None,
        "logger_class": "cds_service.runtime.gunicorn_logger.NoAccessLogger",
        "errorlog": "-",
        "logconfig_dict": GUNICORN_LOGGING,
    }


def _bracket(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def run(host: str, port: int, workers: int) -> None:
    """Serve until stopped. Anything that stops the service is one line on stderr that starts
    with ``mr-cds:`` (gunicorn's own JSON log lines say more)."""
    try:
        _serve(host, port, workers)
    except SystemExit as exc:
        if exc.code not in (0, None) and not _ALREADY_SAID:
            why = (
                _GUNICORN_EXITS.get(exc.code, f"gunicorn exit status {exc.code}")
                if isinstance(exc.code, int)
                else str(exc.code)
            )
            print(f"mr-cds: the service stopped: {why}; the log above says more", file=sys.stderr, flush=True)
        raise
    except ModuleNotFoundError as exc:
        print(f"mr-cds: cannot start: {missing_module(exc)}", file=sys.stderr, flush=True)
        raise SystemExit(2) from None


#: gunicorn's exit statuses (gunicorn.arbiter.Arbiter) in words.
_GUNICORN_EXITS = {3: "a worker failed to start", 4: "the application failed to load"}


def missing_module(exc: ModuleNotFoundError) -> str:
    return (
        f"the Python module {exc.name!r} is missing; reinstall mr-cds-hooks with its dependencies "
        "(README, Quick start)"
    )


#: Set once a reason for stopping has been printed, so that it is said once.
_ALREADY_SAID = False


def _say_once(line: str) -> None:
    global _ALREADY_SAID
    _ALREADY_SAID = True
    print(line, file=sys.stderr, flush=True)


def _serve(host: str, port: int, workers: int) -> None:
    from gunicorn.app.base import BaseApplication

    # Imported here, not by gunicorn: gunicorn would print a missing dependency of the
    # worker (gevent, packaging) as a traceback inside its own error message.
    from cds_service.runtime import gunicorn_worker  # noqa: F401

    settings = Settings.load()
    if settings.metrics:
        metrics.enable_multiprocess(_metrics_directory())
    config = options(host, port, workers)
    if settings.metrics and settings.metrics_port:
        # A second listener for /metrics alone (the app refuses everything else on it).
        config["bind"] = [config["bind"], f"{_bracket(host)}:{settings.metrics_port}"]
    banner = startup_banner(settings, host, port, workers)
    # One byte in a pipe that every worker inherits: the first worker ready to take requests
    # reads it and prints the banner; later workers (and restarted ones) find it empty.
    ready_read, ready_write = os.pipe()
    os.set_blocking(ready_read, False)
    os.write(ready_write, b"!")
    os.close(ready_write)

    def announce_when_ready(worker: Any) -> None:
        try:
            first = os.read(ready_read, 1) == b"!"
        except BlockingIOError:
            first = False
        if first:
            print(banner, file=sys.stderr, flush=True)

    class App(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            for key, value in config.items():
                self.cfg.set(key, value)
            self.cfg.set("post_worker_init", announce_when_ready)
            # gunicorn >= 27 opens a control socket at one fixed path under $HOME: two
            # instances on one machine would fight over it, and nothing here uses it.
            if "control_socket_disable" in self.cfg.settings:
                self.cfg.set("control_socket_disable", True)

        def load(self) -> Any:
            from cds_service.calls.warmup import settle_heap
            from cds_service.http.app import create_app

            try:
                app = create_app(bind_host=host)
            except ConfigurationError as exc:
                # e.g. the database cannot be reached or upgraded: one line, no traceback.
                _say_once(f"mr-cds: {exc.diagnostics}")
                raise SystemExit(2) from None
            settle_heap()  # in the master, before the workers fork
            return app

    lean_log_records()
    App().run()


def startup_banner(settings: Settings, host: str, port: int, workers: int) -> str:
    """What ``mr-cds serve`` says once a worker can answer."""
    return (
        f"mr-cds {_version()}: serving on http://{_bracket(host)}:{port} with {workers} worker(s); "
        f"feedback database {database_shown(settings.database_url)}; "
        f"metrics {metrics_shown(settings, host)}. Press Ctrl-C to stop."
    )


def _version() -> str:
    from importlib import metadata

    try:
        return metadata.version("mr-cds-hooks")
    except metadata.PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown (not installed)"


def _metrics_directory() -> Path:
    """Where the workers' metric files go: ``PROMETHEUS_MULTIPROC_DIR`` if set, else a new folder."""
    given = os.environ.get(metrics.MULTIPROC_ENV)
    if given:
        return Path(given)
    made = Path(tempfile.mkdtemp(prefix="mr-cds-metrics-"))
    # Only the master runs exit handlers (workers leave with os._exit): removed once, at the end.
    atexit.register(shutil.rmtree, made, ignore_errors=True)
    return made


if __name__ == "__main__":
    run(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
