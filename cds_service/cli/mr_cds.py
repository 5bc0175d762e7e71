"""``mr-cds``: run the service under gunicorn (``cds_service.runtime.server``), and evaluate hook
requests from files."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from importlib import metadata

from cds_service.auth import resolve_auth
from cds_service.cli import db as db_cli
from cds_service.cli import evaluate as evaluate_cli
from cds_service.core.errors import ConfigurationError
from cds_service.core.settings import Settings
from cds_service.runtime.serve_checks import metrics_dir_problem, port_problem


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
        return _refuse(exc)
    bind = f"{_bracket(args.host)}:{args.port}"
    problem = port_problem(args.host, args.port)
    if problem:
        print(f"mr-cds: cannot listen on {bind}: {problem}", file=sys.stderr)
        return 2
    if settings.metrics and settings.metrics_port:
        if settings.metrics_port == args.port:
            print(
                f"mr-cds: MRCDS_METRICS_PORT: must differ from the service's port {args.port}",
                file=sys.stderr,
            )
            return 2
        problem = port_problem(args.host, settings.metrics_port)
        if problem:
            print(
                f"mr-cds: MRCDS_METRICS_PORT: cannot listen on port {settings.metrics_port}: {problem}",
                file=sys.stderr,
            )
            return 2
    try:
        resolve_auth(settings, args.host, warn=False)  # the mode depends on the address
    except ConfigurationError as exc:
        return _refuse(exc)
    problem = metrics_dir_problem(settings.metrics)
    if problem:
        print(f"mr-cds: {problem}", file=sys.stderr)
        return 2
    # gevent must patch the standard library before ssl is imported: start afresh.
    command = [
        sys.executable,
        "-m",
        "cds_service.runtime.server",
        args.host,
        str(args.port),
        str(args.workers),
    ]
    sys.stdout.flush()
    os.execv(sys.executable, command)  # noqa: S606 (our own module, no shell)
    return 0  # pragma: no cover (execv does not return)


def _refuse(exc: ConfigurationError) -> int:
    print(f"mr-cds: {' '.join(exc.diagnostics.split())}", file=sys.stderr)
    return 2


def _bracket(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


if __name__ == "__main__":
    raise SystemExit(main())
