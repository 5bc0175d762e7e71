"""Claiming a token's ``jti`` once, in the shared ``jwt_replay`` table.

The table (``cds_service.db.tables``) lives in the service's database, so all workers and
instances share it; ``mr-cds feedback-prune`` empties it of expired rows. Claiming is one
INSERT: the primary key makes the database the arbiter, so two workers can never both
accept the same token (a unique violation means "replayed"). A database locked past its
timeout is a 503 (``StorageBusy``), never an accepted token. The claim runs off the event
loop (``offload``); a token's ``jti`` is unique per issuer, so the key is (``iss``, ``jti``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError

from cds_service.db.engine import retry_once, writer
from cds_service.db.errors import busy_means_503
from cds_service.db.offload import run_blocking
from cds_service.db.tables import jwt_replay


class ReplayStore:
    def __init__(self, engine: Callable[[], Engine]) -> None:
        """``engine()`` gives this process's engine; it is asked on the database thread,
        where every use of the engine happens (``offload``)."""
        self._engine = engine

    def claim(self, jti: str, iss: str, expires_at: datetime) -> bool:
        """Record ``jti``; ``False`` if it was already recorded (a replay)."""

        def insert() -> None:
            with writer(self._engine()).begin() as conn:
                conn.execute(jwt_replay.insert().values(jti=jti, iss=iss, expires_at=expires_at))

        try:
            with busy_means_503("jwt replay"):
                run_blocking(lambda: retry_once(insert))
        except IntegrityError:
            return False
        return True
