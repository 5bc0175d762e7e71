"""The README's sandbox recipe, without Docker: every demo patient's transaction Bundle
(`mr-cds demo FILE --fhir-transaction`) loaded into one FHIR server, then each patient's
cards obtained through the fetch path (no prefetch, the service's own FHIR client over
loopback HTTP), as the CDS Hooks sandbox does. The Bundles are loaded as the files date
them and the hook is evaluated as of each file's ``asOf``, so that cards that name a date
read as documented.

Patient 11's chart says the EHR could not fetch the medication orders (an OperationOutcome
in its prefetch), which a transaction cannot carry; the FHIR server here models it by
failing that patient's MedicationRequest search.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cds_service.calls.demo import as_of, transaction_bundle
from cds_service.calls.pipeline import run_hook
from cds_service.calls.services import registry
from cds_service.core.settings import Settings
from tests.cds_service.fhir_server import FixtureFhirServer
from tests.conftest import SERVICE_ID
from tests.hooks.cases import DEMO_DIR, DEMOS, Case
from tests.hooks.factories import counter_ids
from tests.hooks.test_scenarios import check

PATIENT_FILES = sorted(DEMO_DIR.glob("*.json"))
MEDICATIONS_UNAVAILABLE = "11-medications-unavailable"


def _failed_searches(body: dict[str, Any]) -> set[str]:
    """The prefetch keys the demo says the EHR failed to fetch."""
    return {
        key
        for key, value in body["prefetch"].items()
        if isinstance(value, dict) and value.get("resourceType") == "OperationOutcome"
    }


def load_all() -> tuple[dict[str, dict[str, Any]], dict[str, Path]]:
    """Every demo's transaction, PUT by PUT into one store ("Type/id" -> resource), and who
    put each; a second PUT of the same url would overwrite another patient's resource."""
    store: dict[str, dict[str, Any]] = {}
    owner: dict[str, Path] = {}
    for path in PATIENT_FILES:
        body = json.loads(path.read_text(encoding="utf-8"))
        for entry in transaction_bundle(body)["entry"]:
            url = entry["request"]["url"]
            assert url not in store, f"{path.name} overwrites {url} of {owner[url].name}"
            store[url] = entry["resource"]
            owner[url] = path
    return store, owner


def test_every_demo_bundle_loads_into_one_fhir_server_without_overwriting_another() -> None:
    store, owner = load_all()
    assert {p.name for p in owner.values()} == {p.name for p in PATIENT_FILES}
    patients = [url for url in store if url.startswith("Patient/")]
    assert len(patients) == len(PATIENT_FILES)  # one Patient each, under its own id


def test_every_demo_file_is_a_documented_case() -> None:
    assert sorted(f"{c.name}.json" for c in DEMOS) == [p.name for p in PATIENT_FILES]


def test_only_patient_11_has_a_failed_search_to_model() -> None:
    failed = {
        p.stem: _failed_searches(json.loads(p.read_text(encoding="utf-8")))
        for p in PATIENT_FILES
        if _failed_searches(json.loads(p.read_text(encoding="utf-8")))
    }
    assert failed == {MEDICATIONS_UNAVAILABLE: {"medication-requests"}}


@pytest.fixture(scope="module")
def fhir() -> Iterator[FixtureFhirServer]:
    store, _ = load_all()
    chart: dict[str, list[dict[str, Any]]] = {}
    for resource in store.values():
        chart.setdefault(resource["resourceType"], []).append(resource)
    patient_11 = next(c.pid for c in DEMOS if c.name == MEDICATIONS_UNAVAILABLE)
    with FixtureFhirServer(
        chart, page_size=50, failing_searches=frozenset({("MedicationRequest", patient_11)})
    ) as server:
        yield server


@pytest.mark.parametrize("case", DEMOS, ids=[c.name for c in DEMOS])
def test_demo_patient_gets_its_documented_cards_from_the_shared_fhir_server(
    case: Case, fhir: FixtureFhirServer
) -> None:
    moment = as_of(json.loads((DEMO_DIR / f"{case.name}.json").read_text(encoding="utf-8")))
    assert moment is not None
    body = {
        "hook": "patient-view",
        "hookInstance": f"sandbox-recipe-{case.name}",
        "fhirServer": fhir.base,
        "context": {"userId": "Practitioner/demo-clinician", "patientId": case.pid},
    }
    settings = Settings.load({"fhir_allowlist": fhir.base}, environ={})
    response = run_hook(registry()[SERVICE_ID], body, settings=settings, now=moment, ids=counter_ids())
    cards = response["cards"]
    check(cards, case.expect())
    therapy = next((c for c in cards if c["source"]["topic"]["code"] == "medical-therapy"), None)
    if case.name == MEDICATIONS_UNAVAILABLE:
        # The same gap as the demo's OperationOutcome, now from the failed search.
        assert therapy is not None
        assert "medications could not be assessed" in therapy["summary"]
