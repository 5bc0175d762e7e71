"""The ``jwt_replay`` table: every accepted ``jti`` until its token expires.

It lives in the service's database (``MRCDS_DATABASE_URL``) so that all workers and
instances share it. Claiming a jti is one INSERT: the primary key makes the database the
arbiter, so two workers can never both accept the same token (a unique violation means
"replayed"). The table is declared on the storage ``metadata`` and is created with it.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

from sqlalchemy import Column, DateTime, Engine, String, Table, delete
from sqlalchemy.exc import IntegrityError

from cds_service.storage import metadata

jwt_replay = Table(
    "jwt_replay",
    metadata,
    Column("jti", String(255), primary_key=True),
    Column("iss", String(255), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False, index=True),
)

PURGE_EVERY_S = 300.0


class ReplayStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._lock = threading.Lock()
        self._purged_at = time.monotonic()

    def claim(self, jti: str, iss: str, expires_at: datetime) -> bool:
        """Record ``jti``; ``False`` if it was already recorded (a replay)."""
        self._purge_expired()
        try:
            with self._engine.begin() as conn:
                conn.execute(jwt_replay.insert().values(jti=jti, iss=iss, expires_at=expires_at))
        except IntegrityError:
            return False
        return True

    def _purge_expired(self) -> None:
        # A jti whose token has expired can no longer be replayed (its exp check fails).
        with self._lock:
            if time.monotonic() - self._purged_at < PURGE_EVERY_S:
                return
            self._purged_at = time.monotonic()
        with self._engine.begin() as conn:
            conn.execute(delete(jwt_replay).where(jwt_replay.c.expires_at < datetime.now(UTC)))
