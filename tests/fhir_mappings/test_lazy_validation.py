"""Selection and lazy validation never change an answer.

The service validates only the resources that decide a fact or are shown, newest first,
and stops once one decides. The reference validates every resource of the chart first
(``map_chart(..., validate_all=True)``). On generated charts (fixture resources of every
kind, long series of pressures and creatinines in any order, some resources made invalid)
both give the same facts and byte-identical cards; the reference may only add notes
about invalid resources the answer never needed.
"""

from __future__ import annotations

import copy
import json
from dataclasses import fields, is_dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fhir_mappings import ChartInput, PatientFacts, map_chart
from fhir_mappings.elements import codings
from fhir_mappings.facts import Evidence
from fhir_mappings.parse import KEY_LABELS, validation_error
from fhir_mappings.series import NO_TIME
from fhir_mappings.valuesets import value_set
from hooks import evaluate
from tests.fhir_mappings.charts import DATA, NOW, PATIENT

_KEY_OF_TYPE = {
    "Condition": "conditions",
    "Procedure": "procedures",
    "Device": "devices",
    "DeviceUseStatement": "device-use-statements",
    "MedicationRequest": "medication-requests",
    "Medication": "medication-requests",
    "MedicationAdministration": "medication-administrations",
}


def _key(resource: dict[str, Any]) -> str | None:
    if resource.get("resourceType") != "Observation":
        return _KEY_OF_TYPE.get(str(resource.get("resourceType")))
    found = codings(resource.get("code"))
    if value_set("echo-mr-grade").match(found) is not None:
        return "mr-grade"
    vitals = value_set("systolic-bp").match(found) or value_set("mean-arterial-pressure").match(found)
    return "vital-signs" if vitals is not None else "labs"


def _fixture_resources() -> list[dict[str, Any]]:
    found = []
    for path in sorted(DATA.rglob("*.json")):
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
        entries = doc.get("entry", []) if doc.get("resourceType") == "Bundle" else [{"resource": doc}]
        for entry in entries:
            resource = entry.get("resource") if isinstance(entry, dict) else None
            if isinstance(resource, dict) and _key(resource) is not None:
                found.append(resource)
    return found


FIXTURES = _fixture_resources()
VALID_FIXTURES = [r for r in FIXTURES if validation_error(r) is None]
UCUM = "http://unitsofmeasure.org"
SERIES = {
    # value-set code, unit, plausible values
    "sbp": ("8480-6", "mm[Hg]", (70.0, 160.0)),
    "creatinine": ("2160-0", "mg/dL", (0.5, 4.0)),
    "lactate": ("2524-7", "mmol/L", (0.5, 6.0)),
}


@st.composite
def series_observation(draw: st.DrawFn, n: int) -> dict[str, Any]:
    kind = draw(st.sampled_from(sorted(SERIES)))
    code, unit, (low, high) = SERIES[kind]
    hours = draw(st.floats(0.1, 24 * 40))
    return {
        "resourceType": "Observation",
        "id": f"gen-{kind}-{n}",
        "status": draw(st.sampled_from(["final", "final", "final", "amended", "preliminary"])),
        "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
        "subject": {"reference": f"Patient/{PATIENT}"},
        "effectiveDateTime": (NOW - timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "valueQuantity": {
            "value": round(draw(st.floats(low, high)), 1),
            "unit": unit,
            "system": UCUM,
            "code": draw(st.sampled_from([unit, unit, unit, "furlong"])),
        },
    }


@st.composite
def charts(draw: st.DrawFn, *, all_valid: bool = False) -> ChartInput:
    picked = draw(st.lists(st.sampled_from(VALID_FIXTURES if all_valid else FIXTURES), max_size=25))
    generated = [draw(series_observation(i)) for i in range(draw(st.integers(0, 60)))]
    resources = [copy.deepcopy(r) for r in picked] + generated
    resources = draw(st.permutations(resources))  # searches may come in any order
    for resource in resources:
        if not all_valid and draw(st.integers(0, 5)) == 0:
            # Fails R4B validation: in an element no fact reads (the resource still counts,
            # noted) or in one a fact reads (left out); the raw JSON reads alike otherwise.
            if draw(st.booleans()):
                resource["unknownElement"] = True
            else:
                resource["meta"] = {"lastUpdated": "not an instant"}
    prefetch: dict[str, Any] = {key: None for key in KEY_LABELS}
    for resource in resources:
        key = _key(resource)
        assert key is not None
        bundle = prefetch[key] or {"resourceType": "Bundle", "type": "searchset", "entry": []}
        bundle["entry"].append({"resource": resource})
        prefetch[key] = bundle
    return ChartInput(PATIENT, prefetch)


def _cards(facts: PatientFacts) -> str:
    counter = iter(range(1_000_000))
    cards = evaluate(facts, now=NOW, ids=lambda: f"00000000-0000-4000-8000-{next(counter):012d}")
    return json.dumps(cards, sort_keys=False)


def _failed_validation(note: Any) -> bool:
    """A note of validation: failed, or used with elements no fact reads."""
    return bool(note.kept) or str(note.reason).startswith("failed validation")


def _evidence(value: Any) -> set[tuple[str, str | None]]:
    """Every resource the facts cite, as (type, id), wherever the evidence sits."""
    if isinstance(value, Evidence):
        # A reading without a time of day is only named ("recorded without a time: not
        # used"), never read for its value, so neither path validates it (fhir_mappings/vitals.py).
        return set() if value.status == NO_TIME else {(value.resource_type, value.resource_id)}
    if is_dataclass(value) and not isinstance(value, type):
        return set().union(*(_evidence(getattr(value, f.name)) for f in fields(value)))
    if isinstance(value, dict):
        return set().union(*(_evidence(v) for v in value.values()))
    if isinstance(value, list | tuple):
        return set().union(*(_evidence(v) for v in value))
    return set()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(chart=charts())
def test_lazy_validation_gives_the_facts_and_cards_of_full_validation(chart: ChartInput) -> None:
    lazy = map_chart(chart, now=NOW)
    full = map_chart(chart, now=NOW, validate_all=True)
    # Every note of the answer is in the reference; the reference adds only validation
    # failures of resources the answer never needed.
    assert set(lazy.data_quality) <= set(full.data_quality)
    only_full = set(full.data_quality) - set(lazy.data_quality)
    assert all(_failed_validation(n) for n in only_full)
    assert not {(n.resource_type, n.resource_id) for n in only_full} & _evidence(lazy)
    assert replace(full, data_quality=lazy.data_quality) == lazy
    if full.data_quality == lazy.data_quality:
        assert _cards(full) == _cards(lazy)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(chart=charts(all_valid=True))
def test_cards_are_byte_identical_when_every_resource_is_valid(chart: ChartInput) -> None:
    lazy = map_chart(chart, now=NOW)
    full = map_chart(chart, now=NOW, validate_all=True)
    assert full == lazy
    assert _cards(full) == _cards(lazy)
