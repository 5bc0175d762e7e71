"""Database failures the client can retry, turned into ``StorageBusy`` (HTTP 503).

Transient means: a lock not granted in time, a deadlock or serialization failure, or a
database that cannot be reached. Anything else (a missing table, a bad statement) is a bug
and stays a 500.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.exc import DBAPIError

from cds_service.errors import StorageBusy

log = logging.getLogger(__name__)

# PostgreSQL SQLSTATEs: 08xxx connection exceptions, 40001 serialization failure,
# 40P01 deadlock, 55P03 lock not available, 57P01-57P03 server shutting down or starting.
_TRANSIENT_SQLSTATE_PREFIXES = ("08", "40001", "40P01", "55P03", "57P01", "57P02", "57P03")
# SQLite reports a busy timeout as "database is locked" (or "database table is locked").
_SQLITE_TRANSIENT = ("locked", "busy", "unable to open database")


def is_transient(exc: DBAPIError) -> bool:
    if exc.connection_invalidated:
        return True
    orig = exc.orig
    sqlstate = getattr(orig, "sqlstate", None)
    if isinstance(sqlstate, str):
        return sqlstate.startswith(_TRANSIENT_SQLSTATE_PREFIXES)
    if type(orig).__module__.startswith("sqlite3"):
        return any(word in str(orig).lower() for word in _SQLITE_TRANSIENT)
    # psycopg raises OperationalError without a SQLSTATE when it cannot connect at all.
    return type(orig).__name__ == "OperationalError"


@contextmanager
def busy_means_503(what: str) -> Iterator[None]:
    """Locked past the timeout, or unreachable: the transaction rolled back, say 503.

    The driver's message is not logged: it may quote the statement's parameters.
    """
    try:
        yield
    except DBAPIError as exc:
        if not is_transient(exc):
            raise
        log.warning("%s store busy or unreachable: %s", what, type(exc.orig).__name__)
        raise StorageBusy(
            f"the {what} store is busy or unreachable; nothing was stored, retry later"
        ) from None
