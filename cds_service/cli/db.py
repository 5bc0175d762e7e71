"""``mr-cds db upgrade``, ``mr-cds feedback-report`` and ``mr-cds feedback-prune``.

They use the database of ``MRCDS_DATABASE_URL``, as the service does. Exit status: 0 success,
2 bad argument or setting (one line on stderr), 3 database unusable (locked or unreachable).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from alembic.util import CommandError
from sqlalchemy.exc import SQLAlchemyError

from cds_service.calls.services import registry
from cds_service.cli.report_output import REPORT_FORMATS, render_report, write_plot
from cds_service.core.errors import ConfigurationError
from cds_service.core.settings import Settings
from cds_service.db import migrate, prune
from cds_service.db.engine import make_engine
from cds_service.db.report import feedback_report
from hooks.guideline import guideline


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    db = subparsers.add_parser("db", help="manage the database schema")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    upgrade = db_sub.add_parser(
        "upgrade",
        help="create the schema, or bring it to this version's revision (safe to run again)",
    )
    upgrade.set_defaults(handler=_upgrade)

    report = subparsers.add_parser(
        "feedback-report",
        help="per recommendation: cards issued, accepted, overridden, and why",
        description="Per recommendation: cards issued, accepted and overridden, the acceptance rate "
        "accepted / (accepted + overridden), and the override reasons by count.",
    )
    report.add_argument(
        "--since",
        metavar="DATE",
        type=_instant,
        help="only feedback whose outcomeTimestamp (and cards issued) is on or after DATE "
        "(YYYY-MM-DD, UTC, or an ISO-8601 date-time)",
    )
    report.add_argument("--format", choices=REPORT_FORMATS, default="text", help="output format")
    report.add_argument(
        "--plot",
        metavar="FILE.png",
        type=Path,
        help="also draw accepted and overridden counts (needs [plot])",
    )
    report.set_defaults(handler=_report)

    prune_cmd = subparsers.add_parser(
        "feedback-prune",
        help="delete issued-card records and feedback older than DAYS, and expired JWT ids",
    )
    prune_cmd.add_argument(
        "--older-than", metavar="DAYS", type=_days, required=True, help="age in days (> 0)"
    )
    prune_cmd.set_defaults(handler=_prune)


def _instant(value: str) -> datetime:
    try:
        if len(value) == 10:
            return datetime.combine(date.fromisoformat(value), datetime.min.time(), tzinfo=UTC)
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError("expected YYYY-MM-DD or an ISO-8601 date-time") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _days(value: str) -> int:
    try:
        days = int(value)
    except ValueError:
        days = 0
    if days <= 0:
        raise argparse.ArgumentTypeError("expected a whole number of days > 0")
    return days


def _upgrade(_args: argparse.Namespace) -> int:
    def run(settings: Settings) -> None:
        engine = make_engine(settings.database_url, lock_timeout_s=settings.database_lock_timeout_s)
        try:
            before, after = migrate.upgrade(engine)
        finally:
            engine.dispose()
        if before == after:
            print(f"database schema already at revision {after}")
        else:
            print(f"database schema upgraded from {before or 'empty'} to revision {after}")

    return _guarded(run)


def _report(args: argparse.Namespace) -> int:
    def run(settings: Settings) -> None:
        engine = make_engine(settings.database_url, lock_timeout_s=settings.database_lock_timeout_s)
        try:
            g = guideline()
            report = feedback_report(
                engine,
                since=args.since,
                # The sandbox sends override reasons back without their display.
                reason_displays={(g.override_reason_system, r.code): r.display for r in g.override_reasons},
                # Every service's recommendations (order safety included), by id.
                titles={r.id: r.title for s in registry().values() for r in s.guideline.recommendations},
            )
        finally:
            engine.dispose()
        if args.plot is not None:  # first: a plot that cannot be written prints no report
            write_plot(report, args.plot)
        print(render_report(report, args.format), end="")
        if args.plot is not None:
            print(f"plot written to {args.plot}", file=sys.stderr)

    return _guarded(run)


def _prune(args: argparse.Namespace) -> int:
    def run(settings: Settings) -> None:
        now = datetime.now(UTC)
        engine = make_engine(settings.database_url, lock_timeout_s=settings.database_lock_timeout_s)
        try:
            result = prune.prune(engine, before=now - timedelta(days=args.older_than), now=now)
        finally:
            engine.dispose()
        print(
            f"deleted {result.issued_cards} issued-card record(s), {result.feedback} feedback entr"
            f"{'y' if result.feedback == 1 else 'ies'} older than {args.older_than} day(s), "
            f"and {result.jwt_replay} expired JWT id(s)"
        )

    return _guarded(run)


def _guarded(run: Callable[[Settings], None]) -> int:
    try:
        run(Settings.load())
    except ConfigurationError as exc:
        print(f"mr-cds: {exc.diagnostics}", file=sys.stderr)
        return 2
    except CommandError as exc:
        # e.g. the database was upgraded by a newer version of this service.
        print(f"mr-cds: database schema: {exc}", file=sys.stderr)
        return 2
    except SQLAlchemyError as exc:
        # The driver's message can quote the URL (with its password): name the error only.
        print(f"mr-cds: the database cannot be used ({type(exc).__name__})", file=sys.stderr)
        return 3
    return 0
