"""The ``jwt_replay`` table: every accepted ``jti`` until its token expires.

It lives in the service's database (``MRCDS_DATABASE_URL``) so that all workers and
instances share it. Claiming a jti is one INSERT: the primary key makes the database the
arbiter, so two workers can never both accept the same token (a unique violation means
"replayed"). The table is created by the Alembic migrations (``cds_service/db``).
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

from sqlalchemy import Engine, delete
from sqlalchemy.exc import IntegrityError

from cds_service.db.tables import jwt_replay

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
