"""Hand-built ``PatientFacts`` for rule tests: everything absent unless a test says otherwise."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fhir_mappings.codesystems import ICD10CM, LOINC, RXNORM, SNOMED
from fhir_mappings.facts import (
    Evidence,
    Fact,
    GradeSource,
    MatchKind,
    MedicationClasses,
    MedicationMatch,
    MRGrade,
    PatientFacts,
    Status,
)
from fhir_mappings.gaps import Missing

NOW = datetime(2026, 1, 15, 10, 30, tzinfo=UTC)
ORGANS = ("renal", "hepatic", "respiratory", "coagulation")


def ago(hours: float = 0, days: float = 0) -> datetime:
    return NOW - timedelta(hours=hours, days=days)


def ev(
    resource: str,
    *,
    system: str | None = None,
    code: str | None = None,
    display: str | None = None,
    value: float | None = None,
    unit: str | None = None,
    value_text: str | None = None,
    time: datetime | None = None,
    note: str | None = None,
    what: str | None = None,
    status: str | None = None,
) -> Evidence:
    resource_type, _, resource_id = resource.partition("/")
    return Evidence(
        resource_type,
        resource_id or None,
        system,
        code,
        display,
        value,
        unit,
        value_text,
        time,
        note,
        what=what,
        status=status,
    )


def present(name: str, *evidence: Evidence, missing: tuple[str, ...] = ()) -> Fact:
    return Fact(name, Status.PRESENT, tuple(evidence), missing)


def absent(name: str, *evidence: Evidence) -> Fact:
    return Fact(name, Status.ABSENT, tuple(evidence))


def unknown(name: str, *missing: Missing) -> Fact:
    return Fact(name, Status.UNKNOWN, (), tuple(missing) or (f"{name}: no data",))


MR_CONDITION = ev(
    "Condition/mr-1",
    system=SNOMED,
    code="48724000",
    display="Mitral valve regurgitation",
    time=ago(days=200),
    what="mitral-regurgitation",
    status="active",
)
ECHO_4 = ev(
    "Observation/echo-1",
    system=SNOMED,
    code="48724000",
    display="Mitral valve regurgitation",
    value=4,
    value_text="Severe",
    time=ago(days=3),
    note="grade 4+ (severe)",
    what="echo-grade",
)
SBP_82 = ev(
    "Observation/bp-1",
    system=LOINC,
    code="8480-6",
    display="Systolic blood pressure",
    value=82,
    unit="mm[Hg]",
    time=ago(hours=2),
    note="SBP 82 mm[Hg] < 90 mm[Hg]",
    what="sbp",
)
LACTATE_4 = ev(
    "Observation/lac-1",
    system=LOINC,
    code="2524-7",
    display="Lactate",
    value=4.1,
    unit="mmol/L",
    time=ago(hours=3),
    note="lactate 4.1 mmol/L >= 2.0 mmol/L",
    what="lactate",
)
SHOCK = ev(
    "Condition/shock-1",
    system=ICD10CM,
    code="R57.0",
    display="Cardiogenic shock",
    time=ago(hours=5),
    what="cardiogenic-shock",
)
AMI = ev(
    "Condition/ami-1",
    system=ICD10CM,
    code="I21.9",
    display="Acute myocardial infarction",
    time=ago(days=2),
    what="acute-myocardial-infarction",
)
EDEMA = ev(
    "Condition/ape-1",
    system=ICD10CM,
    code="J81.0",
    display="Acute pulmonary edema",
    time=ago(days=1),
    what="acute-pulmonary-edema",
)
HF = ev(
    "Condition/hf-1",
    system=SNOMED,
    code="84114007",
    display="Heart failure",
    time=ago(days=30),
    what="heart-failure",
)
ECMO = ev(
    "Procedure/ecmo-1",
    system=SNOMED,
    code="786451004",
    display="Venoarterial ECMO",
    time=ago(days=2),
    what="ecmo-circulatory",
    status="in-progress",
)
IABP = ev(
    "Device/iabp-1",
    system=SNOMED,
    code="399217008",
    display="Intra-aortic balloon pump",
    what="iabp",
    status="active-device",
)
CREAT = ev(
    "Observation/cr-1",
    system=LOINC,
    code="2160-0",
    display="Creatinine",
    value=2.6,
    unit="mg/dL",
    time=ago(hours=6),
    note="creatinine 2.6 mg/dL >= 2.0 mg/dL",
    what="creatinine",
)
BILI = ev(
    "Observation/bili-1",
    system=LOINC,
    code="1975-2",
    display="Bilirubin",
    value=3.1,
    unit="mg/dL",
    time=ago(hours=6),
    note="bilirubin 3.1 mg/dL >= 2.0 mg/dL",
    what="bilirubin-total",
)


def med(
    value_set: str, resource: str, code: str, display: str, kind: MatchKind = MatchKind.CODE
) -> MedicationMatch:
    return MedicationMatch(
        value_set,
        kind,
        ev(
            resource,
            system=RXNORM,
            code=code,
            display=display,
            time=ago(days=1),
            what=display,
            status="active-order",
        ),
    )


FUROSEMIDE = med("loop-diuretics", "MedicationRequest/furo-1", "4603", "furosemide")
LISINOPRIL = med("ace-inhibitors", "MedicationRequest/lis-1", "29046", "lisinopril")
NOREPI = med("vasopressors", "MedicationRequest/ne-1", "7512", "norepinephrine")


def medications(*matches: MedicationMatch, missing: tuple[Missing, ...] = ()) -> MedicationClasses:
    by_class: dict[str, tuple[MedicationMatch, ...]] = {}
    for m in matches:
        by_class[m.value_set] = (*by_class.get(m.value_set, ()), m)
    return MedicationClasses(by_class=by_class, missing=missing)


def grade(
    value: int | None,
    *,
    source: GradeSource = GradeSource.ECHO,
    readable: bool = True,
    evidence: tuple[Evidence, ...] = (ECHO_4,),
    missing: tuple[str, ...] = (),
) -> MRGrade:
    return MRGrade(value, source, readable, evidence, missing)


NO_GRADE = MRGrade(None, GradeSource.NONE, True, (), ("no echocardiographic MR grade in the last 365 days",))


def facts(**overrides: Any) -> PatientFacts:
    """PatientFacts with every fact absent (no MR), overridden by keyword."""
    base: dict[str, Any] = {
        "as_of": NOW,
        "patient_id": "p1",
        "mr_documented": absent("mr_documented"),
        "mr_unconfirmed": False,
        "mr_grade": MRGrade(None, GradeSource.NONE, True, (), ()),
        "hypotension": absent("hypotension"),
        "hypoperfusion": absent("hypoperfusion"),
        "cardiogenic_shock": absent("cardiogenic_shock"),
        "vasoactive_support": absent("vasoactive_support"),
        "mechanical_support": absent("mechanical_support"),
        "mr_on_echo": absent("mr_on_echo"),
        "respiratory_ecmo": absent("respiratory_ecmo"),
        "organ_dysfunction": {o: absent(o) for o in ORGANS},
        "multi_organ_failure": absent("multi_organ_failure"),
        "acute_mr_trigger": absent("acute_mr_trigger"),
        "pulmonary_edema": absent("pulmonary_edema"),
        "heart_failure_symptoms": absent("heart_failure_symptoms"),
        "medications": medications(),
    }
    base.update(overrides)
    return PatientFacts(**base)


def severe(**overrides: Any) -> PatientFacts:
    """Documented MR graded 4+ on a recent echo, otherwise stable."""
    return facts(mr_documented=present("mr_documented", MR_CONDITION), mr_grade=grade(4), **overrides)


def counter_ids() -> Any:
    """Deterministic card ids (valid UUIDs): ``...-000000000001``, ``...-000000000002``, ..."""
    count = iter(range(1, 10_000))
    return lambda: f"00000000-0000-4000-8000-{next(count):012d}"
