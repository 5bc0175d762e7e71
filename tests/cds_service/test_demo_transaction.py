"""`mr-cds demo --fhir-transaction`: a demo patient as a FHIR transaction for a FHIR server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cds_service.calls.demo import transaction_bundle
from cds_service.cli.mr_cds import main

PATIENTS = sorted((Path(__file__).resolve().parents[2] / "examples" / "patients").glob("*.json"))


def _prefetch_resources(body: dict[str, object]) -> set[str]:
    found: set[str] = set()
    for value in (body.get("prefetch") or {}).values():  # type: ignore[attr-defined]
        if not isinstance(value, dict) or value["resourceType"] == "OperationOutcome":
            continue
        is_bundle = value["resourceType"] == "Bundle"
        entries = [e["resource"] for e in value.get("entry", [])] if is_bundle else [value]
        found |= {f"{r['resourceType']}/{r['id']}" for r in entries}
    return found


@pytest.mark.parametrize("path", PATIENTS, ids=lambda p: p.stem)
def test_every_prefetched_resource_is_put_under_its_own_id(path: Path) -> None:
    body = json.loads(path.read_text(encoding="utf-8"))
    bundle = transaction_bundle(body)
    assert bundle["type"] == "transaction"
    urls = [e["request"]["url"] for e in bundle["entry"]]
    assert {e["request"]["method"] for e in bundle["entry"]} == {"PUT"}
    assert set(urls) == _prefetch_resources(body)
    for entry in bundle["entry"]:
        resource = entry["resource"]
        assert entry["request"]["url"] == f"{resource['resourceType']}/{resource['id']}"


def test_cli_prints_the_shifted_transaction(capsys: pytest.CaptureFixture[str]) -> None:
    path = PATIENTS[0]
    assert main(["demo", str(path), "--now", "2027-01-15T10:30:00Z", "--fhir-transaction"]) == 0
    bundle = json.loads(capsys.readouterr().out)
    assert bundle["resourceType"] == "Bundle"
    assert "2027-01" in json.dumps(bundle)
