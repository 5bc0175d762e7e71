"""Prefetch -> PatientFacts: the single entry point of the package."""

from __future__ import annotations

from datetime import datetime

from fhir_mappings.facts import (
    Fact,
    GradeSource,
    MedicationClasses,
    MRGrade,
    PatientFacts,
    Status,
)
from fhir_mappings.prefetch import ChartInput
from fhir_mappings.thresholds import Thresholds, load_thresholds

ORGAN_SYSTEMS = ("renal", "hepatic", "respiratory", "coagulation")


def map_chart(chart: ChartInput, *, now: datetime, thresholds: Thresholds | None = None) -> PatientFacts:
    """Map the chart to the facts of spec section 1 as of ``now`` (timezone-aware UTC)."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    _ = thresholds or load_thresholds()
    missing = ("not yet assessed",)

    def unknown(name: str) -> Fact:
        return Fact(name, Status.UNKNOWN, missing=missing)

    return PatientFacts(
        as_of=now,
        patient_id=chart.patient_id,
        mr_documented=unknown("mr_documented"),
        mr_unconfirmed=False,
        mr_grade=MRGrade(None, GradeSource.NONE, missing=missing),
        hypotension=unknown("hypotension"),
        hypoperfusion=unknown("hypoperfusion"),
        cardiogenic_shock=unknown("cardiogenic_shock"),
        vasoactive_support=unknown("vasoactive_support"),
        mechanical_support=unknown("mechanical_support"),
        organ_dysfunction={o: unknown(o) for o in ORGAN_SYSTEMS},
        multi_organ_failure=unknown("multi_organ_failure"),
        acute_mr_trigger=unknown("acute_mr_trigger"),
        pulmonary_edema=unknown("pulmonary_edema"),
        heart_failure_symptoms=unknown("heart_failure_symptoms"),
        medications=MedicationClasses(missing=missing),
        unavailable=tuple(sorted(chart.unavailable.items())),
    )
