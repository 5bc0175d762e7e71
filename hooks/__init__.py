"""Guideline rules: ``PatientFacts`` -> CDS Hooks cards. Pure: no Flask, no HTTP, no clock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from fhir_mappings.facts import PatientFacts

__all__ = ["evaluate"]


def evaluate(facts: PatientFacts, *, now: datetime, ids: Callable[[], str]) -> list[dict[str, Any]]:
    """Return the CDS Hooks cards for ``facts`` (placeholder until the rules land)."""
    return []
