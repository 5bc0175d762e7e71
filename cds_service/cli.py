"""``mr-cds``: run the service under gunicorn (``cds_service.server``), and evaluate hook
requests from files."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence

from cds_service import evaluate_cli
from cds_service.auth import resolve_auth
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
    args = parser.parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    return handler(args)


def _serve(args: argparse.Namespace) -> int:
    try:
        # Fail fast, with the variable's name, before forking workers.
        resolve_auth(Settings.load(), args.host, warn=False)
    except ConfigurationError as exc:
        print(f"mr-cds: {exc.diagnostics}", file=sys.stderr)
        return 2
    if args.workers < 1 or not 0 < args.port < 65536:
        print("mr-cds: --workers must be >= 1 and --port in 1-65535", file=sys.stderr)
        return 2
    # gevent must patch the standard library before ssl is imported: start afresh.
    command = [sys.executable, "-m", "cds_service.server", args.host, str(args.port), str(args.workers)]
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, command)  # noqa: S606 (our own module, no shell)
    return 0  # pragma: no cover (execv does not return)


if __name__ == "__main__":
    raise SystemExit(main())
