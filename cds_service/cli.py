"""``mr-cds``: run the service under gunicorn, and evaluate hook requests from files."""

from __future__ import annotations

import argparse
import atexit
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from cds_service import db_cli, evaluate_cli, metrics
from cds_service.errors import ConfigurationError
from cds_service.serve_checks import GUNICORN_LOGGING, database_shown, port_problem
from cds_service.settings import Settings


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="mr-cds", description="Severe mitral regurgitation CDS Hooks service"
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the HTTP service under gunicorn")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=_port, default=8080, help="port to bind, 1-65535 (default 8080)")
    serve.add_argument(
        "--workers", type=_workers, default=2, help="gunicorn worker processes, at least 1 (default 2)"
    )
    serve.set_defaults(handler=_serve)
    evaluate_cli.register(sub)
    db_cli.register(sub)
    args = parser.parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    return handler(args)


def _version() -> str:
    try:
        return metadata.version("mr-cds-hooks")
    except metadata.PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown (not installed)"


def _port(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"must be a whole number from 1 to 65535, not {text!r}")
    return int(text)


def _workers(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, not {text!r}")
    return int(text)


def _serve(args: argparse.Namespace) -> int:
    try:
        settings = Settings.load()  # fail fast, with the variable's name, before forking workers
    except ConfigurationError as exc:
        print(f"mr-cds: {' '.join(exc.diagnostics.split())}", file=sys.stderr)
        return 2
    bind = f"{_bracket(args.host)}:{args.port}"
    problem = port_problem(args.host, args.port)
    if problem:
        print(f"mr-cds: cannot listen on {bind}: {problem}", file=sys.stderr)
        return 2
    if settings.metrics:
        metrics.enable_multiprocess(_metrics_directory())
    print(
        f"mr-cds {_version()}: serving on http://{bind} with {args.workers} worker(s); "
        f"feedback database {database_shown(settings.database_url)}; "
        f"metrics {'at /metrics' if settings.metrics else 'off'}. Press Ctrl-C to stop.",
        file=sys.stderr,
        flush=True,
    )
    _GunicornApp(
        {
            "bind": bind,
            "workers": args.workers,
            "worker_class": "gthread",
            # The app (and its warm-up) is built once in the master; workers fork warm.
            "preload_app": True,
            "threads": 4,
            "timeout": 30,
            "graceful_timeout": 10,
            # The app writes one JSON line per request (cds_service.request_log): gunicorn's
            # access log would repeat each of them in another format.
            "accesslog": None,
            "errorlog": "-",
            "logconfig_dict": GUNICORN_LOGGING,
        }
    ).run()
    return 0


def _metrics_directory() -> Path:
    """Where the workers' metric files go: ``PROMETHEUS_MULTIPROC_DIR`` if set, else a new folder."""
    given = os.environ.get(metrics.MULTIPROC_ENV)
    if given:
        return Path(given)
    made = Path(tempfile.mkdtemp(prefix="mr-cds-metrics-"))
    # Only the master runs exit handlers (workers leave with os._exit): removed once, at the end.
    atexit.register(shutil.rmtree, made, ignore_errors=True)
    return made


def _bracket(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


class _GunicornApp:
    """A gunicorn application built in code (never the Flask development server)."""

    def __init__(self, options: dict[str, Any]) -> None:
        from gunicorn.app.base import BaseApplication

        outer_options = options

        class App(BaseApplication):  # type: ignore[misc]
            def load_config(self) -> None:
                for key, value in outer_options.items():
                    self.cfg.set(key, value)
                # gunicorn >= 27 opens a control socket at one fixed path under $HOME: two
                # instances on one machine would fight over it, and nothing here uses it.
                if "control_socket_disable" in self.cfg.settings:
                    self.cfg.set("control_socket_disable", True)

            def load(self) -> Any:
                from cds_service.app import create_app
                from cds_service.warmup import settle_heap

                try:
                    app = create_app()
                except ConfigurationError as exc:
                    # e.g. the database cannot be reached or upgraded: one line, no traceback.
                    print(f"mr-cds: {exc.diagnostics}", file=sys.stderr)
                    raise SystemExit(2) from None
                settle_heap()  # in the master, before the workers fork
                return app

        self._app = App()

    def run(self) -> None:
        self._app.run()


if __name__ == "__main__":
    raise SystemExit(main())
