"""The service as the unit: one data file per service in hooks/services/, checked on load."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

import pytest

from cds_service.calls.services import ServiceDefinitionError, load_service, registry
from fhir_mappings.requirements import prefetch_keys
from hooks import order_safety
from hooks import rules as patient_view_rules
from hooks.guideline import guideline

SERVICES = resources.files("hooks").joinpath("services")


def _doc(**changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(
        SERVICES.joinpath("severe-mr-order-sign.json").read_text(encoding="utf-8")
    )
    doc.update(changes)
    return doc


def test_every_service_file_is_served_under_its_own_id() -> None:
    files = sorted(e.name for e in SERVICES.iterdir() if e.name.endswith(".json"))
    assert [f"{service_id}.json" for service_id in registry()] == files


def test_the_patient_view_service_reads_every_prefetch_key_and_runs_every_guideline_rule() -> None:
    service = registry()["severe-mitral-regurgitation"]
    assert [k.key for k in service.prefetch_keys] == [k.key for k in prefetch_keys()]
    assert service.rule_ids == tuple(rule_id for rule_id, _ in patient_view_rules.RULES)
    assert service.context_inputs == ()


def test_the_order_services_run_only_the_order_safety_rules_on_their_own_keys() -> None:
    for service_id in ("severe-mr-order-sign", "severe-mr-order-select"):
        service = registry()[service_id]
        assert service.rule_ids == tuple(rule_id for rule_id, _ in order_safety.RULES)
        assert "medication-requests" not in {k.key for k in service.prefetch_keys}
        assert "draftOrders" in service.context_inputs
        assert {r.id for r in service.guideline.recommendations} == set(service.rule_ids)


def test_a_third_service_is_one_more_data_file() -> None:
    # A patient-view variant reusing existing keys and rules needs nothing but its file.
    doc = _doc(id="severe-mr-stable", hook="patient-view", context=[])
    doc["rules"] = {"module": "hooks.rules", "ids": ["surgical-repair", "medical-therapy"]}
    service = load_service("hooks/services/severe-mr-stable.json", doc)
    assert service.discovery()["hook"] == "patient-view"
    assert service.rule_ids == ("surgical-repair", "medical-therapy")
    assert service.answers_empty_chart_without_rules()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"hook": "encounter-start"}, "hook must be one of"),
        ({"prefetch": ["conditions", "allergies"]}, "unknown prefetch key 'allergies'"),
        ({"prefetch": []}, "'prefetch' must list prefetch key names"),
        ({"context": ["encounterId"]}, "'context' may list only"),
        ({"rules": {"module": "os", "ids": ["path"]}}, "rules.module must be a module of the hooks package"),
        ({"rules": {"module": "hooks.order_safety", "ids": ["no-such-rule"]}}, "has no rule 'no-such-rule'"),
        ({"rules": {"module": "hooks.order_safety", "ids": []}}, "'rules' must name a module"),
    ],
)
def test_a_service_file_that_cannot_be_served_is_refused_naming_the_file_and_field(
    changes: dict[str, Any], message: str
) -> None:
    with pytest.raises(ServiceDefinitionError, match=r"^hooks/services/x\.json: ") as raised:
        load_service("hooks/services/x.json", _doc(**changes))
    assert message in str(raised.value)


def test_a_service_file_without_a_title_is_refused() -> None:
    doc = _doc()
    del doc["title"]
    with pytest.raises(ServiceDefinitionError, match="missing field 'title'"):
        load_service("hooks/services/x.json", doc)


def test_a_rule_without_card_texts_stops_the_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    # The order rules rendered with the patient-view texts: no recommendation for them.
    monkeypatch.setattr(order_safety, "GUIDELINE", guideline)
    with pytest.raises(ServiceDefinitionError, match="rule 'draft-vasodilator-in-hypotension' has no"):
        registry.__wrapped__()


def test_a_replaced_rule_table_is_read_on_the_next_call_and_the_original_after(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    service = registry()["severe-mitral-regurgitation"]
    original = service.rules
    assert service.rules is original  # picked once while the table stays the same object

    def replaced(*_: Any) -> Any:
        raise AssertionError("not run")

    table = tuple(
        (rid, replaced if rid == "surgical-repair" else rule) for rid, rule in patient_view_rules.RULES
    )
    monkeypatch.setattr(patient_view_rules, "RULES", table)
    assert dict(service.rules)["surgical-repair"] is replaced
    monkeypatch.undo()
    assert service.rules == original
    assert dict(service.rules)["surgical-repair"] is patient_view_rules.surgical_repair
