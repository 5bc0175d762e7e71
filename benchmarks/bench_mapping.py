"""Time ``map_chart`` on a synthetic ~600 KB / ~550-resource chart.

Run: ``.venv/bin/python benchmarks/bench_mapping.py``. Prints the chart size, the time of
``map_chart`` (selection on the raw JSON, then validation of the selected resources only),
and for comparison the time to validate every resource with fhir.resources.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from fhir_mappings import ChartInput, map_chart
from fhir_mappings.parse import validation_error

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)
PATIENT = {"reference": "Patient/bench-1"}
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
#: EHRs send a generated narrative with most resources; it is most of a chart's bytes.
NARRATIVE = {
    "status": "generated",
    "div": '<div xmlns="http://www.w3.org/1999/xhtml">' + "x" * 700 + "</div>",
}


def _at(hours: float) -> str:
    return (NOW - timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _coding(system: str, code: str) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code}]}


def _bundle(resources: list[dict[str, Any]]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": r} for r in resources]}


def _vitals(n: int) -> list[dict[str, Any]]:
    found = []
    for i in range(n):
        found.append(
            {
                "resourceType": "Observation",
                "id": f"bp-{i}",
                "status": "final",
                "text": NARRATIVE,
                "code": _coding(LOINC, "85354-9"),
                "subject": PATIENT,
                "effectiveDateTime": _at(i * 0.75),
                "component": [
                    {
                        "code": _coding(LOINC, code),
                        "valueQuantity": {"value": v, "unit": "mmHg", "system": UCUM, "code": "mm[Hg]"},
                    }
                    for code, v in (("8480-6", 100 + i % 30), ("8462-4", 60 + i % 15))
                ],
            }
        )
    return found


def _labs(n: int) -> list[dict[str, Any]]:
    kinds = [
        ("2524-7", "mmol/L", 1.4),
        ("2160-0", "mg/dL", 1.1),
        ("1975-2", "mg/dL", 0.8),
        ("777-3", "10*3/uL", 210),
    ]
    found = []
    for i in range(n):
        code, unit, value = kinds[i % len(kinds)]
        found.append(
            {
                "resourceType": "Observation",
                "id": f"lab-{i}",
                "status": "final",
                "text": NARRATIVE,
                "code": _coding(LOINC, code),
                "subject": PATIENT,
                "effectiveDateTime": _at(i * 2),
                "valueQuantity": {"value": value, "unit": unit, "system": UCUM, "code": unit},
            }
        )
    return found


def _conditions(n: int) -> list[dict[str, Any]]:
    codes = ["I34.0", "I50.9", "R06.00", "E11.9", "I10", "N18.3", "J44.9", "K21.9"]
    return [
        {
            "resourceType": "Condition",
            "id": f"cond-{i}",
            "text": NARRATIVE,
            "clinicalStatus": _coding("http://terminology.hl7.org/CodeSystem/condition-clinical", "active"),
            "code": _coding("http://hl7.org/fhir/sid/icd-10-cm", codes[i % len(codes)]),
            "subject": PATIENT,
            "recordedDate": _at(24 * (i + 1)),
        }
        for i in range(n)
    ]


def _medications(n: int) -> list[dict[str, Any]]:
    rx = "http://www.nlm.nih.gov/research/umls/rxnorm"
    codes = ["4603", "29046", "7512", "3616", "197361", "617312"]
    return [
        {
            "resourceType": "MedicationRequest",
            "id": f"med-{i}",
            "status": "active" if i % 3 else "completed",
            "intent": "order",
            "text": NARRATIVE,
            "subject": PATIENT,
            "authoredOn": _at(24 * i),
            "contained": [
                {"resourceType": "Medication", "id": "m", "code": _coding(rx, codes[i % len(codes)])}
            ],
            "medicationReference": {"reference": "#m"},
        }
        for i in range(n)
    ]


def _echoes(n: int) -> list[dict[str, Any]]:
    return [
        {
            "resourceType": "Observation",
            "id": f"echo-{i}",
            "status": "final",
            "text": NARRATIVE,
            "code": _coding("http://snomed.info/sct", "48724000"),
            "subject": PATIENT,
            "effectiveDateTime": _at(24 * 60 * (i + 1)),
            "valueCodeableConcept": _coding("http://snomed.info/sct", "24484000"),
        }
        for i in range(n)
    ]


def build_chart() -> ChartInput:
    prefetch: dict[str, Any] = {
        "conditions": _bundle(_conditions(60)),
        "mr-grade": _bundle(_echoes(5)),
        "vital-signs": _bundle(_vitals(280)),
        "labs": _bundle(_labs(160)),
        "procedures": None,
        "devices": None,
        "device-use-statements": None,
        "medication-requests": _bundle(_medications(45)),
        "medication-administrations": None,
    }
    return ChartInput("bench-1", prefetch)


def _time(fn: Callable[[], object], repeat: int = 20) -> tuple[float, float]:
    fn()  # warm caches (value sets, model classes)
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        runs.append((time.perf_counter() - start) * 1000)
    return statistics.median(runs), max(runs)


def main() -> None:
    chart = build_chart()
    resources = [e["resource"] for v in chart.prefetch.values() if v for e in v["entry"]]
    size_kb = len(json.dumps(chart.prefetch)) / 1024
    print(f"chart: {len(resources)} resources, {size_kb:.0f} KB of JSON")
    median, worst = _time(lambda: map_chart(chart, now=NOW))
    print(
        f"map_chart (select on raw JSON, validate the selected): median {median:.1f} ms, max {worst:.1f} ms"
    )
    median, worst = _time(lambda: [validation_error(r) for r in resources], repeat=5)
    print(f"validating every resource (R4B models): median {median:.1f} ms, max {worst:.1f} ms")
    facts = map_chart(chart, now=NOW)
    print(f"data-quality notes: {len(facts.data_quality)}; hypotension {facts.hypotension.status.value}")


if __name__ == "__main__":
    main()
