"""The store as the app opens it at start-up, from the settings."""

from __future__ import annotations

from sqlalchemy.exc import SQLAlchemyError

from cds_service.core.errors import ConfigurationError
from cds_service.core.settings import Settings
from cds_service.db import migrate
from cds_service.db.store import Store


def open_store(settings: Settings) -> Store:
    """Upgrade the schema now (``database_upgrade_on_start``), or refuse to start on a
    schema this version cannot use: never discover it on a clinician's request."""
    try:
        store = Store.open(
            settings.database_url,
            lock_timeout_s=settings.database_lock_timeout_s,
            upgrade=settings.database_upgrade_on_start,
            issued_buffer=settings.issued_buffer_cards,
        )
        try:
            current = migrate.current_revision(store.engine)
            # The SQLite file now exists: a later one at the same path is another file.
            store.pin_identity()
        finally:
            store.engine.dispose()
    except (SQLAlchemyError, OSError) as exc:
        # The driver's message may hold the URL with its password: name the error only.
        raise ConfigurationError(
            f"MRCDS_DATABASE_URL: the database cannot be used at start-up ({type(exc).__name__})"
        ) from None
    if not settings.database_upgrade_on_start and current != migrate.head_revision():
        raise ConfigurationError(
            f"MRCDS_DATABASE_UPGRADE_ON_START is false and the database schema is at "
            f"{current or 'no revision'}, not {migrate.head_revision()}: run `mr-cds db upgrade`"
        )
    return store
