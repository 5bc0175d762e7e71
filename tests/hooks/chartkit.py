"""Build synthetic FHIR R4 charts as CDS Hooks patient-view requests (codes from our value sets).

Times are absolute, relative to a fixed instant ``AS_OF`` that the request carries in its
``org.mr-cds-hooks.demo`` extension; ``mr-cds evaluate`` evaluates as of that instant.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from fhir_mappings.codesystems import ICD10CM, LOINC, RXNORM, SNOMED, UCUM
from fhir_mappings.requirements import prefetch_keys

AS_OF = datetime(2026, 1, 15, 10, 30, tzinfo=UTC)
CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
Resource = dict[str, Any]

# Codes (all from fhir_mappings/valuesets/*.json).
MR = (ICD10CM, "I34.0", "Nonrheumatic mitral (valve) insufficiency")
MR_SNOMED = (SNOMED, "48724000", "Mitral valve regurgitation (disorder)")
AMI = (ICD10CM, "I21.9", "Acute myocardial infarction, unspecified")
ENDOCARDITIS = (ICD10CM, "I33.0", "Acute and subacute infective endocarditis")
CHORDAL_RUPTURE = (ICD10CM, "I51.1", "Rupture of chordae tendineae, not elsewhere classified")
PULMONARY_EDEMA = (ICD10CM, "J81.0", "Acute pulmonary edema")
HEART_FAILURE = (ICD10CM, "I50.9", "Heart failure, unspecified")
DYSPNEA = (ICD10CM, "R06.00", "Dyspnea, unspecified")
CARDIOGENIC_SHOCK = (ICD10CM, "R57.0", "Cardiogenic shock")
MOF = (SNOMED, "57653000", "Multiple organ failure")
AKI = (ICD10CM, "N17.9", "Acute kidney failure, unspecified")
VA_ECMO = (SNOMED, "786451004", "Venoarterial extracorporeal membrane oxygenation")
VV_ECMO = (SNOMED, "786453001", "Venovenous extracorporeal membrane oxygenation")
IABP = (SNOMED, "399217008", "Cardioassist by aortic balloon pump")
IMPELLA = (SNOMED, "700151002", "Temporary implantation of left ventricular assist device")
VENTILATION = (SNOMED, "1258985005", "Invasive mechanical ventilation")
MILD = (SNOMED, "255604002", "Mild")
MODERATE = (SNOMED, "6736007", "Moderate")
MODERATE_TO_SEVERE = (SNOMED, "371924009", "Moderate to Severe")
SEVERE = (SNOMED, "24484000", "Severe")
FUROSEMIDE = (RXNORM, "4603", "furosemide")
LISINOPRIL = (RXNORM, "29046", "lisinopril")
LOSARTAN = (RXNORM, "52175", "losartan")
DOBUTAMINE = (RXNORM, "3616", "dobutamine")
NOREPINEPHRINE = (RXNORM, "7512", "norepinephrine")
NITROGLYCERIN = (RXNORM, "4917", "nitroglycerin")
EPINEPHRINE = (RXNORM, "3992", "epinephrine")
ECMO_UNSPECIFIED = (SNOMED, "233573008", "Extracorporeal membrane oxygenation")
INTRAMUSCULAR = (SNOMED, "78421000", "Intramuscular route")
IABP_DEVICE = (SNOMED, "129113006", "Intra-aortic balloon pump")
ECMO_DEVICE = (SNOMED, "469244005", "Extracorporeal membrane oxygenator")
VAD_DEVICE = (SNOMED, "360066001", "Left ventricular assist device")
TEER = (SNOMED, "1287655005", "Percutaneous repair of mitral valve")
MV_REPLACEMENT = (SNOMED, "53059001", "Replacement of mitral valve")

KEY_OF_TYPE = {
    "Condition": "conditions",
    "ServiceRequest": "code-status",
    "Procedure": "procedures",
    "Device": "devices",
    "DeviceUseStatement": "device-use-statements",
    "MedicationRequest": "medication-requests",
    "MedicationAdministration": "medication-administrations",
}
ECHO_CODES = {"48724000"}
VITAL_CODES = {"8480-6", "8478-0", "85354-9"}


def at(days: float = 0, hours: float = 0) -> str:
    """The FHIR instant ``days`` and ``hours`` before ``AS_OF``."""
    return (AS_OF - timedelta(days=days, hours=hours)).strftime("%Y-%m-%dT%H:%M:%SZ")


def cc(code: tuple[str, str, str]) -> dict[str, Any]:
    system, value, display = code
    return {"coding": [{"system": system, "code": value, "display": display}], "text": display}


def condition(
    rid: str,
    code: tuple[str, str, str],
    *,
    onset: str | None = None,
    recorded: str | None = None,
    undated: bool = False,
    clinical: str | None = "active",
    verification: str = "confirmed",
    abatement: str | None = None,
    severity: tuple[str, str, str] | None = None,
) -> Resource:
    res: Resource = {"resourceType": "Condition", "id": rid}
    if clinical:
        res["clinicalStatus"] = {"coding": [{"system": CLINICAL, "code": clinical}]}
    res["verificationStatus"] = {"coding": [{"system": VERIFICATION, "code": verification}]}
    if severity:
        res["severity"] = cc(severity)
    res["code"] = cc(code)
    if onset:
        res["onsetDateTime"] = onset
    if abatement:
        res["abatementDateTime"] = abatement
    if not undated:
        res["recordedDate"] = recorded or onset or at(days=400)
    return res


def _observation(rid: str, code: tuple[str, str, str], when: str, status: str = "final") -> Resource:
    return {
        "resourceType": "Observation",
        "id": rid,
        "status": status,
        "code": cc(code),
        "effectiveDateTime": when,
    }


def echo(
    rid: str,
    when: str,
    *,
    concept: tuple[str, str, str] | None = None,
    integer: int | None = None,
    string: str | None = None,
    status: str = "final",
) -> Resource:
    """Echo MR severity Observation (code SNOMED 48724000) with one kind of value."""
    res = _observation(rid, MR_SNOMED, when, status)
    res["category"] = [
        {
            "coding": [
                {"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "imaging"}
            ]
        }
    ]
    if concept:
        res["valueCodeableConcept"] = cc(concept)
    elif integer is not None:
        res["valueInteger"] = integer
    elif string is not None:
        res["valueString"] = string
    return res


def quantity(value: float, unit: str, *, ucum: bool = True) -> dict[str, Any]:
    q: dict[str, Any] = {"value": value, "unit": unit}
    if ucum:
        q.update(system=UCUM, code=unit)
    return q


def vital(
    rid: str,
    loinc: str,
    display: str,
    value: float,
    when: str,
    unit: str = "mm[Hg]",
    *,
    status: str = "final",
    ucum: bool = True,
) -> Resource:
    res = _observation(rid, (LOINC, loinc, display), when, status)
    res["category"] = [
        {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                    "code": "vital-signs",
                }
            ]
        }
    ]
    res["valueQuantity"] = quantity(value, unit, ucum=ucum)
    return res


def sbp(rid: str, value: float, when: str, **kw: Any) -> Resource:
    return vital(rid, "8480-6", "Systolic blood pressure", value, when, **kw)


def mean_bp(rid: str, value: float, when: str) -> Resource:
    return vital(rid, "8478-0", "Mean blood pressure", value, when)


def bp_panel(rid: str, systolic: float, diastolic: float, when: str) -> Resource:
    res = _observation(rid, (LOINC, "85354-9", "Blood pressure panel with all children optional"), when)
    res["component"] = [
        {
            "code": cc((LOINC, "8480-6", "Systolic blood pressure")),
            "valueQuantity": quantity(systolic, "mm[Hg]"),
        },
        {
            "code": cc((LOINC, "8462-4", "Diastolic blood pressure")),
            "valueQuantity": quantity(diastolic, "mm[Hg]"),
        },
    ]
    return res


LAB_CODES = {
    "lactate": (LOINC, "2524-7", "Lactate [Moles/volume] in Serum or Plasma"),
    "lactate-mass": (LOINC, "59032-3", "Lactate [Mass/volume] in Blood"),
    "creatinine": (LOINC, "2160-0", "Creatinine [Mass/volume] in Serum or Plasma"),
    "creatinine-molar": (LOINC, "14682-9", "Creatinine [Moles/volume] in Serum or Plasma"),
    "bilirubin": (LOINC, "1975-2", "Bilirubin.total [Mass/volume] in Serum or Plasma"),
    "bilirubin-molar": (LOINC, "14631-6", "Bilirubin.total [Moles/volume] in Serum or Plasma"),
    "platelets": (LOINC, "777-3", "Platelets [#/volume] in Blood by Automated count"),
}


def lab(rid: str, kind: str, value: float, unit: str, when: str) -> Resource:
    res = _observation(rid, LAB_CODES[kind], when)
    res["category"] = [
        {
            "coding": [
                {"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "laboratory"}
            ]
        }
    ]
    res["valueQuantity"] = quantity(value, unit)
    return res


def procedure(
    rid: str, code: tuple[str, str, str], status: str, *, start: str | None = None, end: str | None = None
) -> Resource:
    res: Resource = {"resourceType": "Procedure", "id": rid, "status": status, "code": cc(code)}
    if start:
        res["performedPeriod"] = {"start": start, **({"end": end} if end else {})}
    return res


def device(rid: str, code: tuple[str, str, str], status: str = "active") -> Resource:
    return {"resourceType": "Device", "id": rid, "status": status, "type": cc(code)}


def med_request(
    rid: str,
    code: tuple[str, str, str] | None,
    *,
    text: str | None = None,
    status: str = "active",
    authored: str | None = None,
) -> Resource:
    concept = cc(code) if code else {"text": text}
    return {
        "resourceType": "MedicationRequest",
        "id": rid,
        "status": status,
        "intent": "order",
        "medicationCodeableConcept": concept,
        "authoredOn": authored or at(days=2),
    }


def med_admin(
    rid: str, code: tuple[str, str, str], status: str, *, start: str, end: str | None = None
) -> Resource:
    period = {"start": start, **({"end": end} if end else {})}
    return {
        "resourceType": "MedicationAdministration",
        "id": rid,
        "status": status,
        "medicationCodeableConcept": cc(code),
        "effectivePeriod": period,
    }


def patient(pid: str, *, family: str, given: str, gender: str, birth_date: str) -> Resource:
    return {
        "resourceType": "Patient",
        "id": pid,
        "active": True,
        "name": [{"use": "official", "family": family, "given": [given]}],
        "gender": gender,
        "birthDate": birth_date,
    }


def key_of(resource: Resource) -> str:
    """The prefetch key a resource arrives under (spec: prefetch_keys.json)."""
    rtype = resource["resourceType"]
    if rtype == "Observation":
        codes = {c["code"] for c in resource["code"]["coding"]}
        if codes & ECHO_CODES:
            return "mr-grade"
        return "vital-signs" if codes & VITAL_CODES else "labs"
    return KEY_OF_TYPE[rtype]


def _bundle(resources: list[Resource]) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(resources),
        "entry": [
            {
                "fullUrl": _full_url(r),
                "resource": r,
                "search": {"mode": "match"},
            }
            for r in resources
        ],
    }


def _with_subject(resource: Resource, pid: str) -> Resource:
    field = "patient" if resource["resourceType"] == "Device" else "subject"
    return {**resource, field: {"reference": f"Patient/{pid}"}}


def hook_request(
    pid: str,
    resources: Iterable[Resource],
    *,
    name: str,
    the_patient: Resource | None = None,
    failed_keys: Mapping[str, str] | None = None,
    absent_keys: Iterable[str] = (),
) -> dict[str, Any]:
    """A full patient-view request: every prefetch key a searchset Bundle, ``null`` when empty.

    ``failed_keys`` become an OperationOutcome (the EHR could not fetch them);
    ``absent_keys`` are left out (not prefetched).
    """
    by_key: dict[str, list[Resource]] = {}
    for res in resources:
        by_key.setdefault(key_of(res), []).append(_with_subject(res, pid))
    prefetch: dict[str, Any] = {}
    for key in (k.key for k in prefetch_keys()):
        if key in absent_keys:
            continue
        if failed_keys and key in failed_keys:
            prefetch[key] = {
                "resourceType": "OperationOutcome",
                "issue": [{"severity": "error", "code": "exception", "diagnostics": failed_keys[key]}],
            }
        elif key == "patient":
            prefetch[key] = the_patient or patient(
                pid, family="Demo", given="Pat", gender="unknown", birth_date="1950-01-01"
            )
        else:
            found = by_key.pop(key, [])
            prefetch[key] = _bundle(found) if found else None
    assert not by_key, f"resources under keys the service does not prefetch: {sorted(by_key)}"
    return {
        "hook": "patient-view",
        "hookInstance": str(uuid.uuid5(uuid.NAMESPACE_URL, f"mr-cds-hooks/{name}")),
        "context": {"userId": "Practitioner/demo-clinician", "patientId": pid},
        "extension": {"org.mr-cds-hooks.demo": {"asOf": AS_OF.strftime("%Y-%m-%dT%H:%M:%SZ")}},
        "prefetch": prefetch,
    }


def _full_url(resource: Resource) -> str:
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, resource['resourceType'] + '/' + resource['id'])}"


def with_ids_of(request: dict[str, Any], owner: str) -> dict[str, Any]:
    """The request with every prefetched resource's id prefixed by ``owner`` (the patient
    id), and the references to them rewritten, so that the demo patients' transaction
    Bundles (``mr-cds demo --fhir-transaction``) can all be loaded into one FHIR server
    without one overwriting another. The Patient keeps its id; contained resources (local
    ``#id`` references) are left as they are."""
    request = copy.deepcopy(request)  # the cases share resource dicts
    renamed: dict[str, str] = {}
    for resource in _prefetched(request):
        rid = resource["id"]
        if resource["resourceType"] != "Patient" and not rid.startswith(f"{owner}-"):
            renamed[f"{resource['resourceType']}/{rid}"] = f"{resource['resourceType']}/{owner}-{rid}"
            resource["id"] = f"{owner}-{rid}"
    _rewrite_references(request.get("prefetch"), renamed)
    for value in (request.get("prefetch") or {}).values():
        if isinstance(value, dict) and value.get("resourceType") == "Bundle":
            for entry in value.get("entry", []):
                entry["fullUrl"] = _full_url(entry["resource"])
    return request


def _prefetched(request: Mapping[str, Any]) -> Iterable[Resource]:
    for value in (request.get("prefetch") or {}).values():
        if not isinstance(value, dict) or value.get("resourceType") == "OperationOutcome":
            continue
        if value.get("resourceType") == "Bundle":
            yield from (e["resource"] for e in value.get("entry", []))
        else:
            yield value


def _rewrite_references(value: Any, renamed: Mapping[str, str]) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "reference" and isinstance(item, str) and item in renamed:
                value[key] = renamed[item]
            else:
                _rewrite_references(item, renamed)
    elif isinstance(value, list):
        for item in value:
            _rewrite_references(item, renamed)
