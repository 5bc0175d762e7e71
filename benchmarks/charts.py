"""Benchmark charts: two demo patients, and a severe-MR demo padded with what our own searches return.

``demo 05 (5)`` is ``examples/patients/05-severe-mr-on-iabp.json`` as it is (5 resources,
3 KiB: issue 18's "demo chart"). The demo ``examples/patients/02-cardiogenic-shock.json``
(9 resources) is shown as it is and padded with the
resources the ``vital-signs``, ``labs`` and ``conditions`` searches bring back on a long
stay: systolic blood pressures and creatinines spread over 30 days (newest first, as the
searches sort them), and heart-failure Conditions recorded over the past years. Every
padded resource is older than the demo's own, so the cards stay those of the demo; the
padding is what the service must read and set aside. Proportions follow issue 12's
~450-resource chart: 300 pressures, 100 creatinines and 41 Conditions per 441 padded.
"""

from __future__ import annotations

import copy
import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from cds_service.calls.demo import as_of

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "examples" / "patients" / "02-cardiogenic-shock.json"
SMALL_DEMO = ROOT / "examples" / "patients" / "05-severe-mr-on-iabp.json"
#: Chart name -> total resources in its prefetch (the demo's own included).
SIZES = {"demo 02 (9)": 9, "50": 50, "450": 450, "4,400": 4400}
_SHARE = {"vital-signs": 300 / 441, "labs": 100 / 441}  # the rest: heart-failure Conditions
WINDOW = timedelta(days=30)
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
ICD10 = "http://hl7.org/fhir/sid/icd-10-cm"


def demo_body(path: Path = DEMO) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return body


def resource_count(body: dict[str, Any]) -> int:
    count = 0
    for value in body["prefetch"].values():
        if isinstance(value, dict) and value.get("resourceType") == "Bundle":
            count += len(value.get("entry", []))
        elif value is not None:
            count += 1
    return count


def padded(total: int) -> dict[str, Any]:
    """The demo request padded to ``total`` resources (the demo itself when ``total`` <= 9)."""
    body = demo_body()
    pad = total - resource_count(body)
    if pad <= 0:
        return body
    when = as_of(body)
    assert when is not None, "the benchmark demo must carry its evaluation instant"
    patient = body["context"]["patientId"]
    pressures = round(pad * _SHARE["vital-signs"])
    creatinines = round(pad * _SHARE["labs"])
    conditions = pad - pressures - creatinines
    sbp = [_pressure(patient, t, i) for i, t in _times(body, "vital-signs", pressures)]
    _extend(body, "vital-signs", sbp)
    _extend(body, "labs", [_creatinine(patient, t, i) for i, t in _times(body, "labs", creatinines)])
    recorded = [when - timedelta(days=30 + 9 * i) for i in range(conditions)]
    _extend(body, "conditions", [_heart_failure(patient, t, i) for i, t in enumerate(recorded)])
    return body


def _times(body: dict[str, Any], key: str, n: int) -> list[tuple[int, datetime]]:
    """``n`` instants, newest first, older than the demo's own entries, spanning 30 days."""
    when = as_of(body)
    assert when is not None
    own = [
        datetime.fromisoformat(e["resource"]["effectiveDateTime"])
        for e in (body["prefetch"].get(key) or {}).get("entry", [])
    ]
    start = min([when, *own]) - timedelta(minutes=30)
    step = WINDOW / max(n, 1)
    return [(i, start - step * i) for i in range(n)]


def _extend(body: dict[str, Any], key: str, resources: list[dict[str, Any]]) -> None:
    bundle = body["prefetch"].get(key) or {"resourceType": "Bundle", "type": "searchset", "entry": []}
    bundle = copy.deepcopy(bundle)
    bundle.setdefault("entry", []).extend(
        {"fullUrl": f"urn:uuid:{r['id']}", "resource": r, "search": {"mode": "match"}} for r in resources
    )
    bundle["total"] = len(bundle["entry"])
    body["prefetch"][key] = bundle


def _instant(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _observation(
    patient: str, rid: str, moment: datetime, category: str, code: str, display: str
) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": rid,
        "meta": {"versionId": "1", "lastUpdated": _instant(moment)},
        "status": "final",
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                        "code": category,
                    }
                ]
            }
        ],
        "code": {"coding": [{"system": LOINC, "code": code, "display": display}], "text": display},
        "subject": {"reference": f"Patient/{patient}"},
        "effectiveDateTime": _instant(moment),
        "issued": _instant(moment + timedelta(minutes=5)),
    }


def _pressure(patient: str, moment: datetime, i: int) -> dict[str, Any]:
    found = _observation(patient, f"pad-sbp-{i}", moment, "vital-signs", "8480-6", "Systolic blood pressure")
    found["valueQuantity"] = {"value": 100 + i % 35, "unit": "mm[Hg]", "system": UCUM, "code": "mm[Hg]"}
    return found


def _creatinine(patient: str, moment: datetime, i: int) -> dict[str, Any]:
    display = "Creatinine [Mass/volume] in Serum or Plasma"
    found = _observation(patient, f"pad-creat-{i}", moment, "laboratory", "2160-0", display)
    found["valueQuantity"] = {"value": 0.8 + (i % 7) / 10, "unit": "mg/dL", "system": UCUM, "code": "mg/dL"}
    return found


def _heart_failure(patient: str, moment: datetime, i: int) -> dict[str, Any]:
    display = "Heart failure, unspecified"
    return {
        "resourceType": "Condition",
        "id": f"pad-hf-{i}",
        "meta": {"versionId": "1", "lastUpdated": _instant(moment)},
        "clinicalStatus": {
            "coding": [
                {"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}
            ]
        },
        "verificationStatus": {
            "coding": [
                {"system": "http://terminology.hl7.org/CodeSystem/condition-ver-status", "code": "confirmed"}
            ]
        },
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/condition-category",
                        "code": "problem-list-item",
                    }
                ]
            }
        ],
        "code": {"coding": [{"system": ICD10, "code": "I50.9", "display": display}], "text": display},
        "subject": {"reference": f"Patient/{patient}"},
        "recordedDate": _instant(moment),
    }


def charts() -> dict[str, dict[str, Any]]:
    """Name -> hook request, evaluated as of the demo's instant."""
    return {"demo 05 (5)": demo_body(SMALL_DEMO)} | {name: padded(total) for name, total in SIZES.items()}
