"""GET /cds-services: the registry as data, templates inside the 2.0 query subset."""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import parse_qsl

import pytest
from flask import Flask
from flask.testing import FlaskClient

from cds_service.calls.services import registry
from fhir_mappings.requirements import prefetch_keys
from tests.conftest import DATA, SERVICE_ID, load_json

# CDS Hooks 2.0 #prefetch-query-restrictions, narrowed to what this service needs.
ALLOWED_PARAMS = {"patient", "code", "type", "status", "_count", "_sort"}
TOKEN = re.compile(r"^[^\s|,]+\|[^\s|,]+$")


def _service(client: FlaskClient) -> dict[str, object]:
    """The patient-view service as discovery lists it."""
    services = client.get("/cds-services").get_json()["services"]
    (service,) = [s for s in services if s["id"] == SERVICE_ID]
    return service  # type: ignore[no-any-return]


def test_discovery_lists_the_patient_view_and_the_order_services(client: FlaskClient) -> None:
    services = client.get("/cds-services").get_json()["services"]
    assert [(s["id"], s["hook"]) for s in services] == [
        (SERVICE_ID, "patient-view"),
        ("severe-mr-order-select", "order-select"),
        ("severe-mr-order-sign", "order-sign"),
    ]


def test_discovery_lists_the_severe_mr_service_on_patient_view(client: FlaskClient) -> None:
    service = _service(client)
    assert service["hook"] == "patient-view"
    for field in ("title", "description", "usageRequirements"):
        assert service[field], field


def test_discovery_serves_exactly_the_registry(client: FlaskClient) -> None:
    served = client.get("/cds-services").get_json()
    assert served == {"services": [s.discovery() for s in registry().values()]}


def test_usage_requirements_name_the_required_conditions_key(client: FlaskClient) -> None:
    assert "'conditions'" in str(_service(client)["usageRequirements"])


def test_discovery_has_the_fields_of_the_hl7_example(client: FlaskClient) -> None:
    example = load_json(DATA / "hl7" / "Binary-CDSHookServices.json")["services"][0]
    assert set(example) <= set(_service(client))


def test_prefetch_covers_every_key_the_mapping_reads(client: FlaskClient) -> None:
    assert set(_service(client)["prefetch"]) == {k.key for k in prefetch_keys()}  # type: ignore[arg-type]


@pytest.mark.parametrize("key", [k.key for k in prefetch_keys()])
def test_prefetch_template_stays_inside_the_query_subset(client: FlaskClient, key: str) -> None:
    template = _service(client)["prefetch"][key]  # type: ignore[index]
    if "?" not in template:
        assert re.fullmatch(r"[A-Z][A-Za-z]+/\{\{context\.patientId\}\}", template)
        return
    resource, query = template.split("?", 1)
    assert re.fullmatch(r"[A-Z][A-Za-z]+", resource)
    params = parse_qsl(query, keep_blank_values=True)
    assert {name for name, _ in params} <= ALLOWED_PARAMS
    assert ("patient", "{{context.patientId}}") in params
    for name, value in params:
        if name in {"code", "type"}:
            assert all(TOKEN.match(token) for token in value.split(","))
        assert not re.search(r"\d{4}-\d{2}-\d{2}|today|now", value)  # no relative or fixed dates


def test_medication_requests_are_filtered_by_status_only(client: FlaskClient) -> None:
    template = _service(client)["prefetch"]["medication-requests"]  # type: ignore[index]
    assert template == "MedicationRequest?patient={{context.patientId}}&status=active"


def test_discovery_answers_preflight_for_the_sandbox(make_app: Callable[..., Flask]) -> None:
    client = make_app(cors_origins="*").test_client()  # the default with JWT authentication
    response = client.options(
        "/cds-services",
        headers={"Origin": "https://sandbox.cds-hooks.org", "Access-Control-Request-Method": "GET"},
    )
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "*"
