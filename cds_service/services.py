"""The registry of CDS services: definition data from ``hooks`` (id, hook, title,
description, usage requirements) with the prefetch templates from ``fhir_mappings``."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from importlib import resources
from typing import Any

from cds_service.settings import Settings
from fhir_mappings import map_chart
from fhir_mappings.prefetch import ChartInput
from fhir_mappings.requirements import PrefetchKey, prefetch_keys
from fhir_mappings.thresholds import load_thresholds
from hooks import Evaluation, evaluate_detailed


@dataclass(frozen=True)
class Service:
    id: str
    hook: str
    title: str
    description: str
    usage_requirements: str
    prefetch_keys: tuple[PrefetchKey, ...]

    def discovery(self) -> dict[str, Any]:
        """The service as listed by ``GET /cds-services``."""
        return {
            "hook": self.hook,
            "title": self.title,
            "description": self.description,
            "id": self.id,
            "prefetch": {k.key: k.template for k in self.prefetch_keys},
            "usageRequirements": self.usage_requirements,
        }

    def evaluate(
        self, chart: ChartInput, *, now: datetime, ids: Callable[[], str], settings: Settings
    ) -> Evaluation:
        """Facts from the chart, then the cards and every rule's decision."""
        facts = map_chart(chart, now=now, thresholds=load_thresholds(settings.thresholds_file or None))
        return evaluate_detailed(facts, now=now, ids=ids)


@cache
def registry() -> Mapping[str, Service]:
    """Every service this server offers, by id (loaded once)."""
    doc = json.loads(resources.files("hooks").joinpath("service.json").read_text(encoding="utf-8"))
    service = Service(
        id=doc["id"],
        hook=doc["hook"],
        title=doc["title"],
        description=doc["description"],
        usage_requirements=doc["usageRequirements"],
        prefetch_keys=prefetch_keys(),
    )
    return {service.id: service}
