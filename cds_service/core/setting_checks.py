"""Start-up checks for settings whose value names something outside the process: a database,
a thresholds file and a folder of site codes. Each takes the variable's text and returns the value to keep, or
raises ValueError with a one-line reason (``Settings.load`` adds the variable's name).

They run before gunicorn starts, so a typo stops start-up instead of failing every request.
"""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from fhir_mappings.thresholds import load_thresholds
from fhir_mappings.valuesets import load_site_codes

#: The stores the service is built and tested for.
SUPPORTED_DATABASES = ("sqlite", "postgresql")


def database_url(value: str) -> str:
    """A SQLAlchemy URL of a supported database whose driver can be imported."""
    # The URL may carry a password: no message here quotes it.
    try:
        url = make_url(value.strip())
    except ArgumentError:
        raise ValueError(
            "not a database URL (e.g. sqlite:////var/lib/mrcds/mr-cds.sqlite3 or "
            "postgresql+psycopg://user@host/mrcds)"
        ) from None
    if url.get_backend_name() not in SUPPORTED_DATABASES:
        raise ValueError(
            f"database {url.get_backend_name()!r} is not supported; use {' or '.join(SUPPORTED_DATABASES)}"
        )
    try:
        dialect = url.get_dialect()
        dialect.import_dbapi()
    except (NoSuchModuleError, ImportError):
        hint = " (use postgresql+psycopg:// with the postgres extra: pip install 'mr-cds-hooks[postgres]')"
        extra = hint if url.get_backend_name() == "postgresql" else ""
        raise ValueError(f"the database driver {url.drivername!r} is not installed{extra}") from None
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        _check_sqlite_folder(Path(url.database).expanduser())
    return value.strip()


def _check_sqlite_folder(file: Path) -> None:
    """The SQLite file's folder exists or can be made, and can be written (nothing is created
    here: the store makes the folder on first use)."""
    existing = file.parent
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise ValueError(f"the SQLite file's folder cannot be created ({existing} is not a folder)")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ValueError(f"the SQLite file's folder cannot be written ({existing} is not writable)")


def thresholds_file(value: str) -> str:
    """Empty (built-in defaults), or a thresholds override file that reads and validates."""
    path = value.strip()
    if path:
        load_thresholds(path)  # ValueError names what is wrong; the result is cached per path
    return path


def valuesets_dir(value: str) -> str:
    """Empty (shipped codes only), or a folder of site codes that reads and validates."""
    path = value.strip()
    if path:
        load_site_codes(path)  # ValueError names the file and what is wrong with it
    return path
