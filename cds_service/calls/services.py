"""The registry of CDS services: one data file per service in ``hooks/services/``.

A service file says everything that differs between services: id, hook, title,
description, usage requirements, the prefetch keys it reads (by name, from
``fhir_mappings/prefetch_keys.json``), the context fields its rules read (``draftOrders``)
and its rules (a module of ``hooks`` and the rule ids taken from it). Discovery, the
request's hook check, the prefetch plan, the empty-chart check and the rule set all follow
from it; adding a service is adding a file (and its rules, when they are new).
"""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from functools import cache
from importlib import resources
from typing import Any

from cds_service.calls.schemas import schema
from cds_service.core.errors import ConfigurationError
from cds_service.core.settings import Settings
from fhir_mappings import map_chart
from fhir_mappings.prefetch import ChartInput
from fhir_mappings.requirements import PrefetchKey, prefetch_keys
from fhir_mappings.thresholds import load_thresholds
from hooks import Evaluation, evaluate_detailed
from hooks.engine import Rules
from hooks.guideline import Guideline, guideline

#: Context fields a service may hand to its rules (beyond ``patientId``).
CONTEXT_INPUTS = frozenset({"draftOrders", "selections"})


class ServiceDefinitionError(ConfigurationError):
    """A service data file that cannot be served; the message names the file and the field
    (``mr-cds serve`` stops with that one line, as for a bad setting)."""


@dataclass(frozen=True)
class Service:
    id: str
    hook: str
    title: str
    description: str
    usage_requirements: str
    prefetch_keys: tuple[PrefetchKey, ...]
    #: The module of ``hooks`` whose ``RULES`` hold this service's rules, and their ids in
    #: card order within an indicator (looked up per call, so a test may replace a rule).
    rule_module: str = "hooks.rules"
    rule_ids: tuple[str, ...] = ()
    #: Context fields the rules read (``draftOrders``, ``selections``).
    context_inputs: tuple[str, ...] = ()

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

    @property
    def rules(self) -> Rules:
        table = _module(self.rule_module).RULES
        # Picked again only when the module's table is another object (a test replaced it).
        picked = _PICKED.get((self.rule_module, self.rule_ids))
        if picked is not None and picked[0] is table:
            return picked[1]
        available = dict(table)
        rules = tuple((rule_id, available[rule_id]) for rule_id in self.rule_ids)
        _PICKED[(self.rule_module, self.rule_ids)] = (table, rules)
        return rules

    @property
    def guideline(self) -> Guideline:
        """The card texts of this service's rules: the module's ``GUIDELINE``, else the guideline's."""
        texts: Callable[[], Guideline] = getattr(_module(self.rule_module), "GUIDELINE", guideline)
        return texts()

    def chart_with_context(self, chart: ChartInput, context: Mapping[str, Any]) -> ChartInput:
        """The chart plus the context fields this service's rules read (draft orders)."""
        if "draftOrders" not in self.context_inputs:
            return chart
        selections = context.get("selections") if "selections" in self.context_inputs else None
        return replace(
            chart,
            draft_orders=context.get("draftOrders"),
            selections=tuple(selections) if isinstance(selections, list) else None,
        )

    def answers_empty_chart_without_rules(self) -> bool:
        """A chart with no data has nothing to say, unless the rules read the request itself
        (an order being signed is data even when the chart holds none)."""
        return not self.context_inputs

    def evaluate(
        self, chart: ChartInput, *, now: datetime, ids: Callable[[], str], settings: Settings
    ) -> Evaluation:
        """Facts from the chart, then this service's cards and every rule's decision."""
        facts = map_chart(chart, now=now, thresholds=load_thresholds(settings.thresholds_file or None))
        return evaluate_detailed(facts, now=now, ids=ids, rules=self.rules, g=self.guideline)


#: (module, rule ids) -> (the module's RULES when picked, the service's rules from it).
_PICKED: dict[tuple[str, tuple[str, ...]], tuple[object, Rules]] = {}


def _module(name: str) -> Any:
    """An imported module by name (a dict lookup: asked twice per call)."""
    return sys.modules.get(name) or importlib.import_module(name)


def _rules(where: str, raw: Any) -> tuple[str, tuple[str, ...]]:
    """The rules named by a service file: ``{"module": "hooks.x", "ids": [...]}``."""
    if not isinstance(raw, Mapping) or not isinstance(raw.get("ids"), list) or not raw["ids"]:
        raise ServiceDefinitionError(f"{where}: 'rules' must name a module and a non-empty list of ids")
    module_name = raw.get("module")
    # Rules are pure guideline code: only the hooks package may provide them.
    if not isinstance(module_name, str) or not module_name.startswith("hooks."):
        raise ServiceDefinitionError(f"{where}: rules.module must be a module of the hooks package")
    available = dict(getattr(importlib.import_module(module_name), "RULES", ()))
    unknown = [rule_id for rule_id in raw["ids"] if rule_id not in available]
    if unknown:
        raise ServiceDefinitionError(f"{where}: {module_name} has no rule {unknown[0]!r}")
    return module_name, tuple(raw["ids"])


def _prefetch(where: str, names: Any) -> tuple[PrefetchKey, ...]:
    known = {k.key: k for k in prefetch_keys()}
    if not isinstance(names, list) or not names:
        raise ServiceDefinitionError(f"{where}: 'prefetch' must list prefetch key names")
    unknown = [name for name in names if name not in known]
    if unknown:
        raise ServiceDefinitionError(f"{where}: unknown prefetch key {unknown[0]!r}")
    # The order of prefetch_keys.json, whatever the file's order.
    return tuple(k for k in prefetch_keys() if k.key in names)


def load_service(where: str, doc: Mapping[str, Any]) -> Service:
    """One service from its data file (``where`` names it in errors)."""
    hooks_served = schema("request")["properties"]["hook"]["enum"]
    if doc.get("hook") not in hooks_served:
        raise ServiceDefinitionError(f"{where}: hook must be one of {hooks_served}")
    context = doc.get("context", [])
    if not isinstance(context, list) or not set(context) <= CONTEXT_INPUTS:
        raise ServiceDefinitionError(f"{where}: 'context' may list only {sorted(CONTEXT_INPUTS)}")
    try:
        rule_module, rule_ids = _rules(where, doc.get("rules"))
        return Service(
            id=doc["id"],
            hook=doc["hook"],
            title=doc["title"],
            description=doc["description"],
            usage_requirements=doc["usageRequirements"],
            prefetch_keys=_prefetch(where, doc.get("prefetch")),
            rule_module=rule_module,
            rule_ids=rule_ids,
            context_inputs=tuple(context),
        )
    except KeyError as exc:
        raise ServiceDefinitionError(f"{where}: missing field {exc.args[0]!r}") from None


@cache
def registry() -> Mapping[str, Service]:
    """Every service this server offers, by id, in file-name order (loaded once)."""
    folder = resources.files("hooks").joinpath("services")
    services: dict[str, Service] = {}
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".json"):
            continue
        where = f"hooks/services/{entry.name}"
        service = load_service(where, json.loads(entry.read_text(encoding="utf-8")))
        if f"{service.id}.json" != entry.name:
            raise ServiceDefinitionError(f"{where}: the file must be named after the service id")
        # Every rule needs its card texts; loaded now, not on the first call.
        texts = {rec.id for rec in service.guideline.recommendations}
        untitled = [rule_id for rule_id in service.rule_ids if rule_id not in texts]
        if untitled:
            raise ServiceDefinitionError(f"{where}: rule {untitled[0]!r} has no recommendation texts")
        services[service.id] = service
    return services
