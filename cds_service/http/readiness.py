"""``GET /readyz``: can this process answer hook calls and store feedback right now?

``/healthz`` only says the process answers (liveness); readiness also checks what a request
needs: the value sets, the thresholds and the feedback database. A check reports ``ok`` or a
fixed failure phrase, never an exception's text (it may quote a URL with a password).

The database check asks whether a write would be stored now: the SQLite file is the one
opened at start-up, the schema is this version's, the database is not read-only (a standby
after a failover). It answers within a second even when the database hangs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

from cds_service.calls.services import registry
from cds_service.core.settings import Settings
from fhir_mappings.thresholds import load_thresholds
from fhir_mappings.valuesets import all_value_sets, use_site_codes

log = logging.getLogger(__name__)

OK = "ok"


def check(settings: Settings, database_problem: Callable[[], str | None]) -> Mapping[str, str]:
    """Each check's result: ``ok``, or what is wrong in a few fixed words.
    ``database_problem`` gives ``None`` or such words (``Store.readiness_problem``)."""
    return {
        "valuesets": _run("value sets", lambda: _value_sets(settings)),
        "thresholds": _run("thresholds", lambda: load_thresholds(settings.thresholds_file or None)),
        "database": _database(database_problem),
    }


def _database(problem: Callable[[], str | None]) -> str:
    try:
        found = problem()
    except Exception as exc:
        log.warning("readiness: database not ready (%s)", type(exc).__name__)
        return "database unavailable"
    if found is None:
        return OK
    log.warning("readiness: not ready: %s", found)
    return found


def _value_sets(settings: Settings) -> None:
    use_site_codes(settings.valuesets_dir or None)  # the site's codes, as the hook path uses them
    _require(all_value_sets() and registry())


def _require(loaded: object) -> None:
    if not loaded:
        raise LookupError("nothing loaded")


def _run(name: str, probe: Callable[[], object]) -> str:
    try:
        probe()
    except Exception as exc:
        log.warning("readiness: %s not ready (%s)", name, type(exc).__name__)
        return f"{name} unavailable"
    return OK


def site_codes(settings: Settings) -> list[dict[str, object]]:
    """The site-code files in use (``MRCDS_VALUESETS_DIR``): file, value set, codes added."""
    site = use_site_codes(settings.valuesets_dir or None)
    if site is None:
        return []
    return [{"file": f.name, "valueSet": f.value_set_id, "codesAdded": f.added} for f in site.files]
