"""Build a ChartInput from FHIR JSON fixture files and map it at a fixed ``now``."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fhir_mappings import ChartInput, PatientFacts, map_chart
from fhir_mappings.facts import Fact
from fhir_mappings.parse import KEY_LABELS
from fhir_mappings.thresholds import Thresholds

DATA = Path(__file__).parent / "data"
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
PATIENT = "pat-1"


def load(name: str) -> Any:
    return json.loads((DATA / name).read_text(encoding="utf-8"))


def chart(unavailable: dict[str, str] | None = None, **keys: str | list[str] | None) -> ChartInput:
    """Every key searched and empty (null) unless given: a fixture file, or several merged."""
    prefetch: dict[str, Any] = {key: None for key in KEY_LABELS}
    for name, files in keys.items():
        key = name.replace("_", "-")
        if files is None or isinstance(files, str):
            prefetch[key] = None if files is None else load(files)
        else:
            bundles = [load(f) for f in files]
            prefetch[key] = {**bundles[0], "entry": [e for b in bundles for e in b.get("entry", [])]}
    for key in unavailable or {}:
        prefetch.pop(key, None)
    return ChartInput(PATIENT, prefetch, unavailable or {})


def facts(
    unavailable: dict[str, str] | None = None,
    thresholds: Thresholds | None = None,
    **keys: str | list[str] | None,
) -> PatientFacts:
    return map_chart(chart(unavailable, **keys), now=NOW, thresholds=thresholds)


def reasons(result: PatientFacts) -> dict[str, list[str]]:
    """Data-quality reasons by ``Type/id``."""
    found: dict[str, list[str]] = {}
    for note in result.data_quality:
        found.setdefault(f"{note.resource_type}/{note.resource_id}", []).append(note.reason)
    return found


def references(fact: Fact) -> list[str]:
    return [e.reference for e in fact.evidence]
