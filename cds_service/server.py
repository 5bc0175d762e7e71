"""The process ``mr-cds serve`` becomes: gunicorn with gevent workers.

gevent must patch the standard library before anything imports ``ssl`` or ``socket``
(``requests`` keeps references to the unpatched classes, and an unpatched TLS socket
would block every connection of the worker while it waits on a FHIR server). So
``mr-cds serve`` checks the configuration, then replaces itself with
``python -m cds_service.server HOST PORT WORKERS``, which patches first.

A gevent worker costs one greenlet per connection, not a thread: clients that send a byte
a second wait on their sockets without holding anything the other callers need (the
gthread worker reads a request with blocking calls, one thread per slow client).
"""

from gevent import monkey

monkey.patch_all()

import atexit  # noqa: E402
import os  # noqa: E402
import shutil  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

from cds_service import metrics  # noqa: E402
from cds_service.errors import ConfigurationError  # noqa: E402
from cds_service.serve_checks import GUNICORN_LOGGING  # noqa: E402
from cds_service.settings import Settings  # noqa: E402


def options(host: str, port: int, workers: int) -> dict[str, Any]:
    return {
        "bind": f"{_bracket(host)}:{port}",
        "workers": workers,
        "worker_class": "cds_service.gunicorn_worker.OperationOutcomeWorker",
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
        # The app writes one JSON line per request (cds_service.request_log): gunicorn's
        # access log would repeat each of them in another format.
        "accesslog": None,
        "errorlog": "-",
        "logconfig_dict": GUNICORN_LOGGING,
    }


def _bracket(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def run(host: str, port: int, workers: int) -> None:
    from gunicorn.app.base import BaseApplication

    service_settings = Settings.load()
    if service_settings.metrics:
        metrics.enable_multiprocess(_metrics_directory())
    settings = options(host, port, workers)
    if service_settings.metrics and service_settings.metrics_port:
        # A second listener for /metrics alone (the app refuses everything else on it).
        settings["bind"] = [settings["bind"], f"{_bracket(host)}:{service_settings.metrics_port}"]

    class App(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            for key, value in settings.items():
                self.cfg.set(key, value)
            # gunicorn >= 27 opens a control socket at one fixed path under $HOME: two
            # instances on one machine would fight over it, and nothing here uses it.
            if "control_socket_disable" in self.cfg.settings:
                self.cfg.set("control_socket_disable", True)

        def load(self) -> Any:
            from cds_service.app import create_app
            from cds_service.warmup import settle_heap

            try:
                app = create_app(bind_host=host)
            except ConfigurationError as exc:
                # e.g. the database cannot be reached or upgraded: one line, no traceback.
                print(f"mr-cds: {exc.diagnostics}", file=sys.stderr)
                raise SystemExit(2) from None
            settle_heap()  # in the master, before the workers fork
            return app

    App().run()


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
