"""Database failures the client can retry, turned into ``StorageBusy`` (HTTP 503)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.exc import InterfaceError, OperationalError

from cds_service.errors import StorageBusy

log = logging.getLogger(__name__)


@contextmanager
def busy_means_503(what: str) -> Iterator[None]:
    """Locked past the timeout, or unreachable: the transaction rolled back, say 503.

    The driver's message is not logged: it may quote the statement's parameters.
    """
    try:
        yield
    except (OperationalError, InterfaceError) as exc:
        log.warning("%s store busy or unreachable: %s", what, type(exc.orig).__name__)
        raise StorageBusy(
            f"the {what} store is busy or unreachable; nothing was stored, retry later"
        ) from None
