"""``mr-cds``: run the service under gunicorn, and evaluate hook requests from files."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import Any

from cds_service import db_cli, evaluate_cli
from cds_service.db.engine import make_engine
from cds_service.errors import ConfigurationError
from cds_service.settings import Settings


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="mr-cds", description="Severe mitral regurgitation CDS Hooks service"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the HTTP service under gunicorn")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8080, help="port to bind (default 8080)")
    serve.add_argument("--workers", type=int, default=2, help="gunicorn worker processes (default 2)")
    serve.set_defaults(handler=_serve)
    evaluate_cli.register(sub)
    db_cli.register(sub)
    args = parser.parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    return handler(args)


def _serve(args: argparse.Namespace) -> int:
    try:
        settings = Settings.load()  # fail fast, with the variable's name, before forking workers
        make_engine(settings.database_url).dispose()  # an unusable URL or a missing driver too
    except ConfigurationError as exc:
        print(f"mr-cds: {exc.diagnostics}", file=sys.stderr)
        return 2
    if args.workers < 1 or not 0 < args.port < 65536:
        print("mr-cds: --workers must be >= 1 and --port in 1-65535", file=sys.stderr)
        return 2
    _GunicornApp(
        {
            "bind": f"{_bracket(args.host)}:{args.port}",
            "workers": args.workers,
            "worker_class": "gthread",
            # The app (and its warm-up) is built once in the master; workers fork warm.
            "preload_app": True,
            "threads": 4,
            "timeout": 30,
            "graceful_timeout": 10,
            "accesslog": "-",
            # No query strings in access logs: paths only (no patient data is in paths).
            "access_log_format": '%(h)s "%(m)s %(U)s" %(s)s %(b)s %(M)sms',
            "errorlog": "-",
        }
    ).run()
    return 0


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
