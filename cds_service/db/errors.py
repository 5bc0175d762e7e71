"""Database failures that mean "not now", turned into ``StorageBusy`` (HTTP 503, Retry-After).

Each has a reason in fixed words, logged with the 503 (the driver's message is not: it may
quote the statement's parameters or the URL's password):

* ``busy``: a lock not granted in time, a deadlock or serialization failure;
* ``unreachable``: the database cannot be reached, or went away mid-call;
* ``too slow``: a statement ran past PostgreSQL's ``statement_timeout``;
* ``read-only``: a SQLite file that cannot be written, or a PostgreSQL standby (failover);
* ``schema missing``: its tables are gone (dropped, or a new empty database behind the URL);
* ``file removed or replaced``: the SQLite file is not the one opened at start-up.

Whatever the reason, nothing was stored, so a client's retry is safe. Anything else (a bad
statement, a constraint the code should have honoured) is a bug and stays a 500.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from cds_service.core.errors import StorageBusy

log = logging.getLogger(__name__)

BUSY = "busy"
UNREACHABLE = "unreachable"
TOO_SLOW = "too slow"
READ_ONLY = "read-only"
SCHEMA_MISSING = "schema missing"
REPLACED = "file removed or replaced"

# PostgreSQL SQLSTATEs (appendix A of its manual): 08xxx connection exceptions, 57P01-57P03
# shutting down or starting, 40001 serialization failure, 40P01 deadlock, 55P03 lock not
# available, 57014 query canceled (statement_timeout), 25006 read-only transaction (a hot
# standby), 42P01 undefined table, 3F000 invalid schema name.
_SQLSTATE_REASONS = (
    (("08", "57P01", "57P02", "57P03"), UNREACHABLE),
    (("40001", "40P01", "55P03"), BUSY),
    (("57014",), TOO_SLOW),
    (("25006",), READ_ONLY),
    (("42P01", "3F000"), SCHEMA_MISSING),
)
# SQLite's messages (its C API has only coarse result codes; the text is stable).
_SQLITE_REASONS = (
    (("readonly", "read-only"), READ_ONLY),
    (("no such table",), SCHEMA_MISSING),
    (("locked", "busy"), BUSY),
    (("unable to open database", "disk i/o error", "no such file"), UNREACHABLE),
)


class StoreGone(Exception):
    """Raised by the store itself before writing: ``reason`` says why the write would be lost."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def unavailable_reason(exc: BaseException) -> str | None:
    """Why the database cannot take a write right now, or ``None`` for a bug."""
    if isinstance(exc, StoreGone):
        return exc.reason
    if isinstance(exc, PoolTimeout):
        return BUSY  # every pooled connection is in use past the pool timeout
    if not isinstance(exc, DBAPIError):
        return None
    if exc.connection_invalidated:
        return UNREACHABLE
    orig = exc.orig
    sqlstate = getattr(orig, "sqlstate", None)
    if isinstance(sqlstate, str):
        return next((reason for prefixes, reason in _SQLSTATE_REASONS if sqlstate.startswith(prefixes)), None)
    if type(orig).__module__.startswith("sqlite3"):
        message = str(orig).lower()
        return next((reason for words, reason in _SQLITE_REASONS if any(w in message for w in words)), None)
    # psycopg raises OperationalError without a SQLSTATE when it cannot connect at all.
    return UNREACHABLE if type(orig).__name__ == "OperationalError" else None


def is_transient(exc: DBAPIError) -> bool:
    return unavailable_reason(exc) is not None


@contextmanager
def busy_means_503(what: str) -> Iterator[None]:
    """The database cannot take the write now: the transaction rolled back, say 503."""
    try:
        yield
    except (DBAPIError, PoolTimeout, StoreGone) as exc:
        reason = unavailable_reason(exc)
        if reason is None:
            raise
        detail = type(exc.orig).__name__ if isinstance(exc, DBAPIError) else type(exc).__name__
        log.warning("%s store unavailable (%s): %s", what, reason, detail)
        raise StorageBusy(
            f"the {what} store is unavailable ({reason}); nothing was stored, retry later"
        ) from None
