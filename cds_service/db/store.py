"""The service's handle on its database: one engine per process, schema made at start-up.

``Store.open`` runs in ``create_app``, which gunicorn runs once in its master before forking
(``preload_app``): the schema is upgraded there, never per request. A forked worker must not
reuse the master's pooled connections, so the first use in a new process drops them (without
closing what belongs to the parent) and opens its own.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from cds_service.db import feedback as feedback_store
from cds_service.db import issued, migrate
from cds_service.db.engine import make_engine, ping


class Store:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._pid = os.getpid()
        self._lock = threading.Lock()

    @classmethod
    def open(cls, database_url: str, *, lock_timeout_s: float = 5.0, upgrade: bool = False) -> Store:
        engine = make_engine(database_url, lock_timeout_s=lock_timeout_s)
        if upgrade:
            try:
                migrate.upgrade(engine)
            finally:
                engine.dispose()  # nothing pooled is left to cross a fork, or to leak
        return cls(engine)

    @property
    def engine(self) -> Engine:
        if self._pid != os.getpid():
            with self._lock:
                if self._pid != os.getpid():
                    self._engine.dispose(close=False)
                    self._pid = os.getpid()
        return self._engine

    def is_reachable(self) -> bool:
        return ping(self.engine)

    def add_feedback(
        self, service_id: str, items: Sequence[Mapping[str, Any]], *, received_at: datetime
    ) -> feedback_store.StoreResult:
        return feedback_store.add_feedback(self.engine, service_id, items, received_at=received_at)

    def record_issued(
        self, service_id: str, hook_instance: str, cards: Sequence[Mapping[str, Any]], *, issued_at: datetime
    ) -> int:
        return issued.record_issued(self.engine, service_id, hook_instance, cards, issued_at=issued_at)

    def dispose(self) -> None:
        self._engine.dispose()
