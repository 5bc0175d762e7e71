"""The clinical scenarios and demo patients, as data; ``python -m tests.hooks.cases`` writes
them to ``tests/hooks/scenarios/*.json`` and ``examples/patients/*.json`` (+ README).

Each scenario names the cards that must appear (with their indicator) and, implicitly,
that no other card may; boundaries of docs/clinical-rules.md come in pairs.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.hooks import cases_grades, cases_series
from tests.hooks import chartkit as k
from tests.hooks.chartkit import at

ROOT = Path(__file__).resolve().parents[2]
SCENARIO_DIR = ROOT / "tests" / "hooks" / "scenarios"
DEMO_DIR = ROOT / "examples" / "patients"
ALL_CARDS = (
    "acute-mr-emergency",
    "mechanical-support",
    "transcatheter-repair",
    "surgical-repair",
    "medical-therapy",
    "on-mechanical-support",
    "grade-severity",
)

MR = k.condition("mr-1", k.MR, recorded=at(days=400))
ECHO_SEVERE = k.echo("echo-1", at(days=10), concept=k.SEVERE)
SEVERE = [MR, ECHO_SEVERE]
STABLE = "surgical-repair", "medical-therapy"
#: A contained Medication with two coded ingredients: lidocaine (RxNorm 6387) and epinephrine.
LIDOCAINE_WITH_EPINEPHRINE = {
    "resourceType": "MedicationRequest",
    "id": "rx-1",
    "status": "active",
    "intent": "order",
    "contained": [
        {
            "resourceType": "Medication",
            "id": "med-1",
            "code": {"text": "Lidocaine 1% with epinephrine 1:100,000 injection"},
            "ingredient": [
                {"itemCodeableConcept": k.cc((k.RXNORM, "6387", "lidocaine"))},
                {"itemCodeableConcept": k.cc(k.EPINEPHRINE)},
            ],
        }
    ],
    "medicationReference": {"reference": "#med-1"},
    "authoredOn": at(hours=3),
}
EPINEPHRINE_IM = {
    **k.med_request("rx-1", k.EPINEPHRINE, authored=at(hours=2)),
    "dosageInstruction": [{"route": k.cc(k.INTRAMUSCULAR)}],
}


def performed(code: tuple[str, str, str], when: str) -> dict[str, Any]:
    """A completed procedure recorded at one point in time."""
    return {
        "resourceType": "Procedure",
        "id": f"proc-{code[1]}",
        "status": "completed",
        "code": k.cc(code),
        "performedDateTime": when,
    }


_LACTATE = k.lab("lac-1", "lactate", 15, "mmol/L", at(hours=2))
LACTATE_ABOVE_15 = {**_LACTATE, "valueQuantity": {**_LACTATE["valueQuantity"], "comparator": ">"}}
ECMO_DATE_TIME_ONLY = {
    "resourceType": "Procedure",
    "id": "ecmo-1",
    "status": "completed",
    "code": k.cc(k.VA_ECMO),
    "performedDateTime": at(days=2),
}


@dataclass(frozen=True)
class Case:
    name: str
    description: str
    resources: Sequence[dict[str, Any]]
    #: Card id -> indicator that must appear; every other card must not.
    must: Mapping[str, str]
    #: Card id -> texts its detail (or summary) must contain.
    contains: Mapping[str, Sequence[str]] = field(default_factory=dict)
    #: Card id -> texts its summary must contain.
    summary: Mapping[str, Sequence[str]] = field(default_factory=dict)
    #: Card id -> texts neither its summary nor its detail may contain.
    not_contains: Mapping[str, Sequence[str]] = field(default_factory=dict)
    #: Card id -> the priority of its draft echo order, or None: no order offered.
    suggests: Mapping[str, str | None] = field(default_factory=dict)
    failed_keys: Mapping[str, str] = field(default_factory=dict)
    absent_keys: Sequence[str] = ()
    patient: dict[str, Any] | None = None
    pid: str = "pat-1"

    def request(self) -> dict[str, Any]:
        return k.hook_request(
            self.pid,
            self.resources,
            name=self.name,
            the_patient=self.patient,
            failed_keys=self.failed_keys,
            absent_keys=self.absent_keys,
        )

    def expect(self) -> dict[str, Any]:
        return {
            "now": k.AS_OF.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "must": [{"id": i, "indicator": ind} for i, ind in self.must.items()],
            "must_not": [i for i in ALL_CARDS if i not in self.must],
            "contains": {i: list(texts) for i, texts in self.contains.items()},
            "summary": {i: list(texts) for i, texts in self.summary.items()},
            "suggests": dict(self.suggests),
            # Only where a case uses it, so that the other scenario files stay as they are.
            **(
                {"not_contains": {i: list(t) for i, t in self.not_contains.items()}}
                if self.not_contains
                else {}
            ),
        }


def info(*ids: str) -> dict[str, str]:
    return dict.fromkeys(ids, "info")


SCENARIOS: list[Case] = [
    # --- no card ---------------------------------------------------------------------
    Case(
        "no_mr_shock_and_heart_failure",
        "No MR: shock, hypotension and heart failure give no card.",
        [
            k.condition("hf-1", k.HEART_FAILURE),
            k.condition("cs-1", k.CARDIOGENIC_SHOCK, onset=at(hours=6)),
            k.sbp("bp-1", 80, at(hours=1)),
        ],
        {},
    ),
    Case(
        "mild_mr_on_echo",
        "Mild MR (1+) on a recent echo, no acute trigger: no card.",
        [MR, k.echo("echo-1", at(days=20), concept=k.MILD), k.sbp("bp-1", 84, at(hours=2))],
        {},
    ),
    Case(
        "moderate_mr_integer_2_with_hypotension",
        "Moderate MR (valueInteger 2) with hypotension: no card.",
        [MR, k.echo("echo-1", at(days=20), integer=2), k.sbp("bp-1", 80, at(hours=2))],
        {},
    ),
    Case(
        "moderate_to_severe_3_plus_not_rounded_up",
        "Moderate-to-severe (3+) is not severe: never round up.",
        [
            MR,
            k.echo("echo-1", at(days=5), concept=k.MODERATE_TO_SEVERE),
            k.condition("cs-1", k.CARDIOGENIC_SHOCK, onset=at(hours=6)),
        ],
        {},
    ),
    Case(
        "refuted_mr_with_acute_mi_and_edema",
        "A refuted MR diagnosis does not count, even with MI and edema.",
        [
            k.condition("mr-1", k.MR, verification="refuted"),
            k.condition("ami-1", k.AMI, onset=at(days=3)),
            k.condition("ape-1", k.PULMONARY_EDEMA, onset=at(days=1)),
        ],
        {},
    ),
    Case(
        "entered_in_error_mr",
        "An MR Condition entered in error does not count.",
        [k.condition("mr-1", k.MR, verification="entered-in-error")],
        {},
    ),
    Case(
        "abated_mr_without_clinical_status",
        "No clinicalStatus but abatement set: MR not active, no card.",
        [k.condition("mr-1", k.MR, clinical=None, abatement=at(days=100))],
        {},
    ),
    # --- acute-mr-emergency ------------------------------------------------------------
    Case(
        "acute_mr_after_mi_with_pulmonary_edema",
        "Moderate MR, MI 3 days ago, pulmonary edema.",
        [
            MR,
            k.echo("echo-1", at(days=2), integer=2),
            k.condition("ami-1", k.AMI, onset=at(days=3)),
            k.condition("ape-1", k.PULMONARY_EDEMA, onset=at(days=1)),
        ],
        {"acute-mr-emergency": "critical"},
        {
            "acute-mr-emergency": [
                "Acute MI on the problem list, onset 3 days ago",
                "Pulmonary edema on the problem list",
                "Possible acute MR (acute MI)",
            ]
        },
    ),
    Case(
        "acute_mi_29_days_with_hypotension",
        "MI 29 days ago is within the 30-day window; SBP 85.",
        [
            MR,
            k.echo("echo-1", at(days=2), integer=2),
            k.condition("ami-1", k.AMI, onset=at(days=29)),
            k.sbp("bp-1", 85, at(hours=1)),
        ],
        {"acute-mr-emergency": "critical"},
        {"acute-mr-emergency": ["SBP 85 mmHg, 1 h ago"]},
    ),
    Case(
        "acute_mi_31_days_with_hypotension",
        "MI 31 days ago is outside the 30-day window: no card.",
        [
            MR,
            k.echo("echo-1", at(days=2), integer=2),
            k.condition("ami-1", k.AMI, onset=at(days=31)),
            k.sbp("bp-1", 85, at(hours=1)),
        ],
        {},
    ),
    Case(
        "endocarditis_with_shock_mr_ungraded",
        "Endocarditis, cardiogenic shock, MR without echo grade.",
        [
            MR,
            k.condition("ie-1", k.ENDOCARDITIS, onset=at(days=8)),
            k.condition("cs-1", k.CARDIOGENIC_SHOCK, onset=at(hours=4)),
        ],
        {"acute-mr-emergency": "critical", "grade-severity": "info"},
    ),
    Case(
        "acute_trigger_without_edema_or_hypotension",
        "Chordal rupture, normal pressure, no edema: no card.",
        [
            MR,
            k.echo("echo-1", at(days=2), integer=2),
            k.condition("cr-1", k.CHORDAL_RUPTURE, onset=at(days=2)),
            k.sbp("bp-1", 118, at(hours=1)),
        ],
        {},
    ),
    # --- mechanical-support and its boundaries -----------------------------------------
    Case(
        "severe_mr_sbp_89",
        "Severe MR, SBP 89 mmHg (< 90): hypotension.",
        [*SEVERE, k.sbp("bp-1", 89, at(hours=2))],
        {"mechanical-support": "critical", **info(*STABLE)},
        {"mechanical-support": ["SBP 89 mmHg, 2 h ago"]},
    ),
    Case(
        "severe_mr_sbp_90",
        "Severe MR, SBP 90 mmHg is not < 90: no support card.",
        [*SEVERE, k.sbp("bp-1", 90, at(hours=2))],
        info(*STABLE),
    ),
    Case(
        "severe_mr_map_59_measured",
        "Severe MR, measured MAP 59 mmHg (< 60).",
        [*SEVERE, k.sbp("bp-1", 100, at(hours=2)), k.mean_bp("map-1", 59, at(hours=1))],
        {"mechanical-support": "critical", **info(*STABLE)},
        {"mechanical-support": ["MAP 59 mmHg, 1 h ago"]},
    ),
    Case(
        "severe_mr_map_60_measured",
        "Severe MR, measured MAP 60 mmHg is not < 60.",
        [*SEVERE, k.sbp("bp-1", 100, at(hours=2)), k.mean_bp("map-1", 60, at(hours=1))],
        info(*STABLE),
    ),
    Case(
        "severe_mr_panel_map_computed_58",
        "Panel 94/40: computed MAP (94 + 2*40)/3 = 58 < 60.",
        [*SEVERE, k.bp_panel("bpp-1", 94, 40, at(hours=1))],
        {"mechanical-support": "critical", **info(*STABLE)},
        {"mechanical-support": ["MAP 58 mmHg (computed from the BP panel), 1 h ago"]},
    ),
    Case(
        "severe_mr_panel_map_computed_60",
        "Panel 96/42: computed MAP (96 + 84)/3 = 60, not < 60.",
        [*SEVERE, k.bp_panel("bpp-1", 96, 42, at(hours=1))],
        info(*STABLE),
    ),
    Case(
        "severe_mr_sbp_25_hours_old",
        "SBP 80 measured 25 h ago is outside the 24 h window.",
        [*SEVERE, k.sbp("bp-1", 80, at(hours=25))],
        info(*STABLE),
    ),
    Case(
        "severe_mr_latest_sbp_decides",
        "SBP 82 ten hours ago, 112 two hours ago: the latest decides.",
        [*SEVERE, k.sbp("bp-1", 82, at(hours=10)), k.sbp("bp-2", 112, at(hours=2))],
        info(*STABLE),
    ),
    Case(
        "severe_mr_sbp_preliminary",
        "A preliminary SBP 80 does not count.",
        [*SEVERE, k.sbp("bp-1", 80, at(hours=2), status="preliminary")],
        info(*STABLE),
    ),
    Case(
        "severe_mr_sbp_unknown_unit",
        "SBP 80 with unit 'cmH2O' is ignored and listed as not used.",
        [*SEVERE, k.sbp("bp-1", 80, at(hours=2), unit="cm[H2O]")],
        info(*STABLE),
        {},
    ),
    Case(
        "severe_mr_lactate_2_0",
        "Lactate 2.0 mmol/L (>= 2.0): hypoperfusion.",
        [*SEVERE, k.lab("lac-1", "lactate", 2.0, "mmol/L", at(hours=3))],
        {"mechanical-support": "critical", **info(*STABLE)},
        {"mechanical-support": ["Lactate 2 mmol/L, 3 h ago"]},
    ),
    Case(
        "severe_mr_lactate_1_9",
        "Lactate 1.9 mmol/L: no hypoperfusion.",
        [*SEVERE, k.lab("lac-1", "lactate", 1.9, "mmol/L", at(hours=3))],
        info(*STABLE),
    ),
    Case(
        "severe_mr_lactate_18_1_mg_dl",
        "Lactate 18.1 mg/dL = 2.01 mmol/L: hypoperfusion.",
        [*SEVERE, k.lab("lac-1", "lactate-mass", 18.1, "mg/dL", at(hours=3))],
        {"mechanical-support": "critical", **info(*STABLE)},
    ),
    Case(
        "severe_mr_lactate_17_9_mg_dl",
        "Lactate 17.9 mg/dL = 1.99 mmol/L: no hypoperfusion.",
        [*SEVERE, k.lab("lac-1", "lactate-mass", 17.9, "mg/dL", at(hours=3))],
        info(*STABLE),
    ),
    Case(
        "severe_mr_norepinephrine_given_23h_ago",
        "A norepinephrine administration completed 23 h ago is not running: no support card.",
        [*SEVERE, k.med_admin("ma-1", k.NOREPINEPHRINE, "completed", start=at(hours=30), end=at(hours=23))],
        info(*STABLE),
    ),
    Case(
        "severe_mr_norepinephrine_given_25h_ago",
        "Norepinephrine administration completed 25 h ago: not current.",
        [*SEVERE, k.med_admin("ma-1", k.NOREPINEPHRINE, "completed", start=at(hours=30), end=at(hours=25))],
        info(*STABLE),
    ),
    Case(
        "severe_mr_shock_on_va_ecmo",
        "Cardiogenic shock on VA-ECMO in progress: bridge card, no support card.",
        [
            *SEVERE,
            k.condition("cs-1", k.CARDIOGENIC_SHOCK, onset=at(days=2)),
            k.procedure("ecmo-1", k.VA_ECMO, "in-progress", start=at(days=2)),
        ],
        {"on-mechanical-support": "info", "medical-therapy": "info"},
        {"on-mechanical-support": ["VA-ECMO running for 2 days"]},
    ),
    Case(
        "severe_mr_shock_on_vv_ecmo",
        "VV-ECMO supports the lungs, not the circulation: support card, naming the VV-ECMO.",
        [
            *SEVERE,
            k.condition("cs-1", k.CARDIOGENIC_SHOCK, onset=at(days=2)),
            k.procedure("ecmo-1", k.VV_ECMO, "in-progress", start=at(days=2)),
        ],
        {"mechanical-support": "critical", **info(*STABLE)},
        {"mechanical-support": ["veno-venous ECMO: respiratory support only"]},
        summary={"mechanical-support": ["consider ECMO or IABP"]},
    ),
    Case(
        "severe_mr_ecmo_completed_open_5_days",
        "ECMO procedure completed, started 5 days ago, no end: on support.",
        [*SEVERE, k.procedure("ecmo-1", k.VA_ECMO, "completed", start=at(days=5))],
        {"on-mechanical-support": "info", "medical-therapy": "info"},
    ),
    Case(
        "severe_mr_shock_ecmo_removed",
        "ECMO period with an end: removed; shock again: support card.",
        [
            *SEVERE,
            k.condition("cs-1", k.CARDIOGENIC_SHOCK, onset=at(hours=5)),
            k.procedure("ecmo-1", k.VA_ECMO, "completed", start=at(days=9), end=at(days=4)),
        ],
        {"mechanical-support": "critical", **info(*STABLE)},
    ),
    Case(
        "severe_mr_iabp_device_active",
        "Active IABP device: bridge card names the IABP.",
        [*SEVERE, k.device("dev-1", k.IABP), k.sbp("bp-1", 86, at(hours=1))],
        {"on-mechanical-support": "info", "medical-therapy": "info"},
        {"on-mechanical-support": ["IABP device active"]},
    ),
    Case(
        "severe_mr_shock_vital_signs_not_prefetched",
        "Vital signs not sent: the support card says so.",
        [*SEVERE, k.condition("cs-1", k.CARDIOGENIC_SHOCK, onset=at(hours=5))],
        {"mechanical-support": "critical", **info(*STABLE)},
        {"mechanical-support": ["Cardiogenic shock on the problem list"]},
        absent_keys=["vital-signs"],
    ),
    Case(
        "severe_mr_shock_support_data_unavailable",
        "Procedures and devices could not be fetched: support status unknown, the card asks to check.",
        [*SEVERE, k.condition("cs-1", k.CARDIOGENIC_SHOCK, onset=at(hours=5))],
        {"mechanical-support": "critical", **info(*STABLE)},
        {
            "mechanical-support": [
                "check before acting",
                "procedures, devices and device records could not be read",
            ]
        },
        failed_keys={"procedures": "timeout", "devices": "timeout", "device-use-statements": "timeout"},
    ),
    # --- transcatheter-repair / surgical-repair ------------------------------------------
    Case(
        "severe_mr_creatinine_2_0_bilirubin_2_0",
        "Creatinine 2.0 and bilirubin 2.0 mg/dL: two organs = MOF.",
        [
            *SEVERE,
            k.lab("cr-1", "creatinine", 2.0, "mg/dL", at(hours=6)),
            k.lab("bili-1", "bilirubin", 2.0, "mg/dL", at(hours=6)),
        ],
        {"transcatheter-repair": "warning", "medical-therapy": "info"},
        {
            "transcatheter-repair": [
                "Creatinine 2 mg/dL, 6 h ago",
                "Bilirubin 2 mg/dL, 6 h ago",
                "renal, hepatic",
            ]
        },
    ),
    Case(
        "severe_mr_creatinine_1_9_bilirubin_2_0",
        "Creatinine 1.9 mg/dL: one organ only, no MOF.",
        [
            *SEVERE,
            k.lab("cr-1", "creatinine", 1.9, "mg/dL", at(hours=6)),
            k.lab("bili-1", "bilirubin", 2.0, "mg/dL", at(hours=6)),
        ],
        info(*STABLE),
    ),
    Case(
        "severe_mr_creatinine_177_umol_platelets_99",
        "Creatinine 177 umol/L and platelets 99: renal + coagulation.",
        [
            *SEVERE,
            k.lab("cr-1", "creatinine-molar", 177, "umol/L", at(hours=6)),
            k.lab("plt-1", "platelets", 99, "10*3/uL", at(hours=6)),
        ],
        {"transcatheter-repair": "warning", "medical-therapy": "info"},
    ),
    Case(
        "severe_mr_creatinine_high_platelets_100",
        "Platelets 100 is not < 100: renal only, no MOF.",
        [
            *SEVERE,
            k.lab("cr-1", "creatinine", 2.4, "mg/dL", at(hours=6)),
            k.lab("plt-1", "platelets", 100, "10*3/uL", at(hours=6)),
        ],
        info(*STABLE),
    ),
    Case(
        "severe_mr_creatinine_49_hours_old",
        "Creatinine 2.6 49 h ago (window 48 h) with high bilirubin: one organ.",
        [
            *SEVERE,
            k.lab("cr-1", "creatinine", 2.6, "mg/dL", at(hours=49)),
            k.lab("bili-1", "bilirubin", 3.0, "mg/dL", at(hours=6)),
        ],
        info(*STABLE),
    ),
    Case(
        "severe_mr_multiple_organ_failure_condition",
        "An active multiple organ failure Condition.",
        [*SEVERE, k.condition("mof-1", k.MOF, onset=at(days=2))],
        {"transcatheter-repair": "warning", "medical-therapy": "info"},
        {"transcatheter-repair": ["Multi-organ failure on the problem list"]},
    ),
    Case(
        "severe_mr_creatinine_47_hours_bilirubin_high",
        "Creatinine 2.6 47 h ago is inside the 48 h window: MOF.",
        [
            *SEVERE,
            k.lab("cr-1", "creatinine", 2.6, "mg/dL", at(hours=47)),
            k.lab("bili-1", "bilirubin", 3.0, "mg/dL", at(hours=6)),
        ],
        {"transcatheter-repair": "warning", "medical-therapy": "info"},
    ),
    Case(
        "severe_mr_bilirubin_34_umol_creatinine_high",
        "Bilirubin 34 umol/L (>= 34) and creatinine 2.4 mg/dL: MOF.",
        [
            *SEVERE,
            k.lab("cr-1", "creatinine", 2.4, "mg/dL", at(hours=6)),
            k.lab("bili-1", "bilirubin-molar", 34, "umol/L", at(hours=6)),
        ],
        {"transcatheter-repair": "warning", "medical-therapy": "info"},
    ),
    Case(
        "severe_mr_bilirubin_1_9_creatinine_high",
        "Bilirubin 1.9 mg/dL: renal only, no MOF.",
        [
            *SEVERE,
            k.lab("cr-1", "creatinine", 2.4, "mg/dL", at(hours=6)),
            k.lab("bili-1", "bilirubin", 1.9, "mg/dL", at(hours=6)),
        ],
        info(*STABLE),
    ),
    Case(
        "severe_mr_vv_ecmo_and_creatinine",
        "VV-ECMO counts as respiratory support: with creatinine 2.5, MOF.",
        [
            *SEVERE,
            k.procedure("ecmo-1", k.VV_ECMO, "in-progress", start=at(days=3)),
            k.lab("cr-1", "creatinine", 2.5, "mg/dL", at(hours=6)),
        ],
        {"transcatheter-repair": "warning", "medical-therapy": "info"},
    ),
    Case(
        "severe_mr_ventilated_with_aki",
        "Invasive ventilation and an AKI Condition: respiratory + renal = MOF.",
        [
            *SEVERE,
            k.procedure("vent-1", k.VENTILATION, "in-progress", start=at(days=2)),
            k.condition("aki-1", k.AKI, onset=at(days=2)),
        ],
        {"transcatheter-repair": "warning", "medical-therapy": "info"},
    ),
    Case(
        "severe_mr_shock_ecmo_open_40_days",
        "ECMO completed, started 40 days ago with no end: not current support.",
        [
            *SEVERE,
            k.condition("cs-1", k.CARDIOGENIC_SHOCK, onset=at(hours=5)),
            k.procedure("ecmo-1", k.VA_ECMO, "completed", start=at(days=40)),
        ],
        {"mechanical-support": "critical", **info(*STABLE)},
    ),
    Case(
        "severe_mr_shock_iabp_device_inactive",
        "An inactive IABP device is not support: support card.",
        [
            *SEVERE,
            k.condition("cs-1", k.CARDIOGENIC_SHOCK, onset=at(hours=5)),
            k.device("dev-1", k.IABP, "inactive"),
        ],
        {"mechanical-support": "critical", **info(*STABLE)},
    ),
    Case(
        "severe_mr_lactate_25_hours_old",
        "Lactate 4.0 measured 25 h ago is outside the 24 h window.",
        [*SEVERE, k.lab("lac-1", "lactate", 4.0, "mmol/L", at(hours=25))],
        info(*STABLE),
    ),
    Case(
        "acute_mi_undated_with_edema",
        "An acute MI with no onset or recorded date is not counted as a trigger.",
        [
            MR,
            k.echo("echo-1", at(days=2), integer=2),
            k.condition("ami-1", k.AMI, undated=True),
            k.condition("ape-1", k.PULMONARY_EDEMA, onset=at(days=1)),
        ],
        {},
    ),
    # --- medical-therapy ------------------------------------------------------------------
    Case(
        "severe_mr_heart_failure_no_diuretic",
        "Heart failure, no loop diuretic: medical therapy is a warning.",
        [*SEVERE, k.condition("hf-1", k.HEART_FAILURE), k.med_request("rx-1", k.LISINOPRIL)],
        {"medical-therapy": "warning", "surgical-repair": "info"},
        {
            "medical-therapy": [
                "ACE inhibitor or ARB: Lisinopril ordered (active)",
                "loop diuretic not active",
            ]
        },
    ),
    Case(
        "severe_mr_dyspnea_with_furosemide",
        "Dyspnea on furosemide: medical therapy stays info.",
        [*SEVERE, k.condition("dy-1", k.DYSPNEA), k.med_request("rx-1", k.FUROSEMIDE)],
        info(*STABLE),
        {"medical-therapy": ["Loop diuretic: Furosemide ordered (active)"]},
    ),
    Case(
        "severe_mr_heart_failure_medications_unavailable",
        "Medication orders could not be fetched: not 'none'.",
        [*SEVERE, k.condition("hf-1", k.HEART_FAILURE)],
        info(*STABLE),
        {"medical-therapy": ["could not be assessed"]},
        failed_keys={"medication-requests": "timeout"},
    ),
    Case(
        "severe_mr_heart_failure_furosemide_stopped",
        "A stopped furosemide order is not active: warning.",
        [
            *SEVERE,
            k.condition("hf-1", k.HEART_FAILURE),
            k.med_request("rx-1", k.FUROSEMIDE, status="stopped"),
        ],
        {"medical-therapy": "warning", "surgical-repair": "info"},
    ),
    Case(
        "severe_mr_name_only_torsemide",
        "A loop diuretic recognised by its name only is flagged, and never called 'not counted'.",
        [
            *SEVERE,
            k.condition("hf-1", k.HEART_FAILURE),
            k.med_request("rx-1", None, text="Torsemide 20 mg tablet"),
        ],
        info(*STABLE),
        {"medical-therapy": ["Loop diuretic: Torsemide ordered (active) (name match: verify)"]},
    ),
    # --- grade-severity ---------------------------------------------------------------------
    Case(
        "mr_without_echo",
        "MR on the problem list, no echo grade: grade card with a draft echo order.",
        [MR],
        info("grade-severity"),
        {"grade-severity": ["MR on the problem list"]},
    ),
    Case(
        "mr_echo_grades_not_prefetched",
        "MR; echo grades not sent and no FHIR access: the grade card says so.",
        [MR],
        info("grade-severity"),
        {"grade-severity": ["echo results could not be obtained"]},
        absent_keys=["mr-grade"],
    ),
    Case(
        "mr_echo_400_days_old",
        "The only severe echo is 400 days old: no current grade.",
        [MR, k.echo("echo-1", at(days=400), concept=k.SEVERE)],
        info("grade-severity"),
    ),
    Case(
        "mr_echo_364_days_old",
        "A severe echo 364 days old is current.",
        [MR, k.echo("echo-1", at(days=364), concept=k.SEVERE)],
        info(*STABLE),
    ),
    Case(
        "mr_echo_range_string",
        "Latest echo says '3-4+': a range, never severe, no fall-back to an older grade.",
        [MR, k.echo("echo-2", at(days=5), string="3-4+"), k.echo("echo-1", at(days=100), concept=k.SEVERE)],
        info("grade-severity"),
        {"grade-severity": ["recorded as a range"]},
    ),
    Case(
        "mr_echo_string_4_plus",
        "valueString '4+' is a grade.",
        [MR, k.echo("echo-1", at(days=5), string="4+")],
        info(*STABLE),
    ),
    Case(
        "provisional_mr_without_echo",
        "A provisional MR diagnosis: the card says unconfirmed.",
        [k.condition("mr-1", k.MR, verification="provisional")],
        info("grade-severity"),
        {"grade-severity": ["Unconfirmed MR", "(unconfirmed)"]},
    ),
    Case(
        "severe_mr_on_echo_without_condition",
        "Severe MR on echo alone is enough for the severe cards.",
        [ECHO_SEVERE],
        info(*STABLE),
    ),
    Case(
        "severe_mr_from_condition_severity",
        "No echo; the MR Condition's severity (recorded 100 days ago) is severe: severe cards and "
        "the grade card.",
        [k.condition("mr-1", k.MR, severity=k.SEVERE, recorded=at(days=100))],
        info(*STABLE, "grade-severity"),
        {"surgical-repair": ["Severe MR (4+) on the problem list, recorded October 2025"]},
    ),
    # --- revision 2: acute MR on echo before it is coded --------------------------------
    Case(
        "acute_mr_on_echo_without_coded_mr",
        "No MR Condition yet: moderate-to-severe MR on an echo 2 days after an MI, pulmonary edema, SBP 85.",
        [
            k.echo("echo-1", at(days=2), concept=k.MODERATE_TO_SEVERE),
            k.condition("ami-1", k.AMI, onset=at(days=2, hours=6)),
            k.condition("ape-1", k.PULMONARY_EDEMA, onset=at(days=1)),
            k.sbp("bp-1", 85, at(hours=1)),
        ],
        {"acute-mr-emergency": "critical"},
        {"acute-mr-emergency": ["mechanical support", "bridge", "weak (guideline key recommendation 2)"]},
        summary={
            "acute-mr-emergency": ["Possible acute MR (acute MI)", "urgent cardiology and cardiac-surgery"]
        },
        suggests={"acute-mr-emergency": "urgent"},
    ),
    Case(
        "acute_mr_on_echo_29_days",
        "Moderate MR (2+) on an echo 29 days ago, MI 10 days ago, SBP 84: within the 30-day echo window.",
        [
            k.echo("echo-1", at(days=29), integer=2),
            k.condition("ami-1", k.AMI, onset=at(days=10)),
            k.sbp("bp-1", 84, at(hours=1)),
        ],
        {"acute-mr-emergency": "critical"},
        summary={"acute-mr-emergency": ["Possible acute MR (acute MI) with hypotension"]},
    ),
    Case(
        "acute_mr_on_echo_31_days",
        "Moderate MR (2+) on an echo 31 days ago, MI 10 days ago, SBP 84: outside the echo window, no card.",
        [
            k.echo("echo-1", at(days=31), integer=2),
            k.condition("ami-1", k.AMI, onset=at(days=10)),
            k.sbp("bp-1", 84, at(hours=1)),
        ],
        {},
    ),
    Case(
        "acute_mr_on_echo_range_counts_by_lower_bound",
        "Echo '2-3+' a day ago, endocarditis, cardiogenic shock: the range's lower bound (2+) counts.",
        [
            k.echo("echo-1", at(days=1), string="2-3+"),
            k.condition("ie-1", k.ENDOCARDITIS, onset=at(days=6)),
            k.condition("cs-1", k.CARDIOGENIC_SHOCK, onset=at(hours=5)),
        ],
        {"acute-mr-emergency": "critical"},
        summary={"acute-mr-emergency": ["Possible acute MR (endocarditis) with cardiogenic shock"]},
        suggests={"acute-mr-emergency": "urgent"},
    ),
    Case(
        "mild_mr_on_echo_after_mi_no_card",
        "Mild MR (1+) on a recent echo after an MI with hypotension: not acute MR, no card.",
        [
            k.echo("echo-1", at(days=2), concept=k.MILD),
            k.condition("ami-1", k.AMI, onset=at(days=3)),
            k.sbp("bp-1", 84, at(hours=1)),
        ],
        {},
    ),
    # --- revision 2: no critical card on artefacts or non-infusions ---------------------
    Case(
        "severe_mr_epipen_text_only",
        "An order written as text only ('EpiPen 0.3 mg epinephrine auto-injector'): shown, never counted.",
        [*SEVERE, k.med_request("rx-1", None, text="EpiPen 0.3 mg epinephrine auto-injector")],
        info(*STABLE),
    ),
    Case(
        "severe_mr_lidocaine_with_epinephrine",
        "Lidocaine with epinephrine (a local anaesthetic with an epinephrine ingredient): not vasoactive.",
        [*SEVERE, LIDOCAINE_WITH_EPINEPHRINE],
        info(*STABLE),
    ),
    Case(
        "severe_mr_epinephrine_intramuscular",
        "Epinephrine coded by RxNorm, route intramuscular: not an infusion, not vasoactive support.",
        [*SEVERE, EPINEPHRINE_IM],
        info(*STABLE),
    ),
    Case(
        "severe_mr_stress_echo_dobutamine_completed",
        "A dobutamine dose given during a stress echo, completed 3 h ago; SBP 132: no critical card.",
        [
            *SEVERE,
            k.med_admin("ma-1", k.DOBUTAMINE, "completed", start=at(hours=3, days=0), end=at(hours=2.5)),
            k.sbp("bp-1", 132, at(hours=1)),
        ],
        info(*STABLE),
    ),
    Case(
        "severe_mr_norepinephrine_infusion_running",
        "A coded norepinephrine infusion in progress counts as vasoactive support.",
        [*SEVERE, k.med_admin("ma-1", k.NOREPINEPHRINE, "in-progress", start=at(hours=4))],
        {"mechanical-support": "critical", **info(*STABLE)},
        summary={"mechanical-support": ["unstable (on norepinephrine)", "consider ECMO or IABP"]},
    ),
    Case(
        "severe_mr_sbp_0_artefact",
        "SBP 0 (arterial-line artefact) 30 min after SBP 118: the artefact is ignored, no support card.",
        [*SEVERE, k.sbp("bp-1", 118, at(hours=1)), k.sbp("bp-2", 0, at(hours=0.5))],
        info(*STABLE),
    ),
    Case(
        "severe_mr_sbp_39",
        "SBP 39 is below the plausible range (40-300): an artefact, no hypotension.",
        [*SEVERE, k.sbp("bp-1", 39, at(hours=1))],
        info(*STABLE),
    ),
    Case(
        "severe_mr_sbp_40",
        "SBP 40 is plausible and < 90: hypotension.",
        [*SEVERE, k.sbp("bp-1", 40, at(hours=1))],
        {"mechanical-support": "critical", **info(*STABLE)},
        summary={"mechanical-support": ["unstable (SBP 40)"]},
    ),
    Case(
        "severe_mr_sbp_300_after_85",
        "SBP 300 (plausible) after SBP 85: the latest decides, no hypotension.",
        [*SEVERE, k.sbp("bp-1", 85, at(hours=3)), k.sbp("bp-2", 300, at(hours=1))],
        info(*STABLE),
    ),
    Case(
        "severe_mr_sbp_301_after_85",
        "SBP 301 (an artefact) after SBP 85: the latest plausible reading (85) decides.",
        [*SEVERE, k.sbp("bp-1", 85, at(hours=3)), k.sbp("bp-2", 301, at(hours=1))],
        {"mechanical-support": "critical", **info(*STABLE)},
        summary={"mechanical-support": ["unstable (SBP 85)"]},
    ),
    Case(
        "severe_mr_lactate_30",
        "Lactate 30 mmol/L is plausible: hypoperfusion.",
        [*SEVERE, k.lab("lac-1", "lactate", 30, "mmol/L", at(hours=2))],
        {"mechanical-support": "critical", **info(*STABLE)},
        summary={"mechanical-support": ["unstable (lactate 30)"]},
    ),
    Case(
        "severe_mr_lactate_31",
        "Lactate 31 mmol/L is above the plausible range: an artefact, no hypoperfusion.",
        [*SEVERE, k.lab("lac-1", "lactate", 31, "mmol/L", at(hours=2))],
        info(*STABLE),
    ),
    Case(
        "severe_mr_lactate_above_15",
        "Lactate reported as '>15 mmol/L': the bound decides (>= 2.0), shown with its comparator.",
        [*SEVERE, LACTATE_ABOVE_15],
        {"mechanical-support": "critical", **info(*STABLE)},
        {"mechanical-support": ["Lactate >15 mmol/L, 2 h ago"]},
        summary={"mechanical-support": ["unstable (lactate >15)"]},
    ),
    Case(
        "severe_mr_creatinine_unknown_unit",
        "Creatinine in an unknown unit beside a failing liver: the surgical card says organ "
        "function was not assessed, in clinical words (no LOINC long name).",
        [
            *SEVERE,
            k.lab("cr-1", "creatinine", 2.4, "mg/L", at(hours=6)),
            k.lab("bili-1", "bilirubin", 3.1, "mg/dL", at(hours=6)),
        ],
        info(*STABLE),
        {"surgical-repair": ["a creatinine value left out: unit 'mg/L' is not a creatinine unit"]},
    ),
    Case(
        "severe_mr_stable_creatinine_unknown_unit_no_organ_caveat",
        "Stable, no failing organ, creatinine in an unknown unit: the multi-organ-failure caveat "
        "could not change the surgical card, so it is left to --explain (spec 2.1).",
        [*SEVERE, k.lab("cr-1", "creatinine", 2.4, "mg/L", at(hours=6))],
        info(*STABLE),
        not_contains={"surgical-repair": ["Multi-organ failure", "Not assessed", "creatinine"]},
    ),
    # --- revision 2: support that may be running -----------------------------------------
    Case(
        "severe_mr_shock_ecmo_performed_date_time_only",
        "VA-ECMO recorded 2 days ago with only a performedDateTime: support unknown, check it.",
        [
            *SEVERE,
            k.condition("cs-1", k.CARDIOGENIC_SHOCK, onset=at(days=2)),
            ECMO_DATE_TIME_ONLY,
        ],
        {"mechanical-support": "critical", **info(*STABLE)},
        summary={"mechanical-support": ["VA-ECMO inserted 2 days ago, removal not recorded: check"]},
    ),
    Case(
        "severe_mr_shock_ecmo_configuration_not_coded",
        "ECMO in progress coded without its configuration: never called VA-ECMO; support unknown.",
        [
            *SEVERE,
            k.condition("cs-1", k.CARDIOGENIC_SHOCK, onset=at(days=2)),
            k.procedure("ecmo-1", k.ECMO_UNSPECIFIED, "in-progress", start=at(days=2)),
        ],
        {"mechanical-support": "critical", **info(*STABLE)},
        summary={"mechanical-support": ["ECMO recorded, configuration (VA or VV) not coded: check"]},
    ),
    Case(
        "severe_mr_iabp_device_type",
        "A Device coded with the IABP device-type code (not a procedure code): on support.",
        [*SEVERE, k.device("dev-1", k.IABP_DEVICE), k.sbp("bp-1", 86, at(hours=1))],
        {"on-mechanical-support": "info", "medical-therapy": "info"},
        {"on-mechanical-support": ["IABP device active"]},
        summary={"on-mechanical-support": ["Severe MR on IABP"]},
    ),
    Case(
        "severe_mr_vad_device_type",
        "A Device coded as a left ventricular assist device: named a ventricular assist device.",
        [*SEVERE, k.device("dev-1", k.VAD_DEVICE)],
        {"on-mechanical-support": "info", "medical-therapy": "info"},
        summary={"on-mechanical-support": ["ventricular assist device"]},
    ),
    Case(
        "severe_mr_shock_ecmo_device_type",
        "An active ECMO oxygenator device does not tell its configuration: support unknown, check.",
        [
            *SEVERE,
            k.condition("cs-1", k.CARDIOGENIC_SHOCK, onset=at(days=1)),
            k.device("dev-1", k.ECMO_DEVICE),
        ],
        {"mechanical-support": "critical", **info(*STABLE)},
        summary={"mechanical-support": ["ECMO recorded, configuration (VA or VV) not coded: check"]},
    ),
    # --- revision 2: stale severity ----------------------------------------------------------
    Case(
        "severe_echo_then_mr_resolved",
        "Severe MR on an echo 60 days ago; the MR Condition resolved 10 days ago: the grade is superseded, "
        "the grade card asks to re-grade.",
        [
            k.condition("mr-1", k.MR, clinical="resolved", abatement=at(days=10), recorded=at(days=400)),
            k.echo("echo-1", at(days=60), concept=k.SEVERE),
        ],
        info("grade-severity"),
    ),
    Case(
        "severe_echo_after_mr_resolved",
        "The MR Condition resolved 100 days ago, severe MR on an echo 10 days ago: the echo is current.",
        [
            k.condition("mr-1", k.MR, clinical="resolved", abatement=at(days=100), recorded=at(days=400)),
            ECHO_SEVERE,
        ],
        info(*STABLE),
    ),
    Case(
        "severe_echo_then_transcatheter_repair",
        "Severe MR on an echo 40 days ago, transcatheter edge-to-edge repair 7 days ago, no active MR "
        "Condition: the grade is superseded, no severe-MR card; the grade card asks to re-grade.",
        [
            k.condition("mr-1", k.MR, clinical="resolved", abatement=at(days=7), recorded=at(days=400)),
            k.echo("echo-1", at(days=40), concept=k.SEVERE),
            performed(k.TEER, at(days=7)),
        ],
        info("grade-severity"),
    ),
    Case(
        "severe_echo_then_valve_replacement_echo_alone",
        "Severe MR on echo only (never coded), mitral valve replacement 5 days later: superseded, only the "
        "grade card (re-grade after the replacement).",
        [k.echo("echo-1", at(days=20), concept=k.SEVERE), performed(k.MV_REPLACEMENT, at(days=15))],
        info("grade-severity"),
    ),
    Case(
        "valve_replacement_before_severe_echo",
        "Mitral valve replacement 200 days ago, severe MR on an echo 10 days ago: the echo is current.",
        [ECHO_SEVERE, performed(k.MV_REPLACEMENT, at(days=200))],
        info(*STABLE),
    ),
    # --- revision 2: medical therapy when hypotensive ------------------------------------------
    Case(
        "severe_mr_hypotensive_on_lisinopril",
        "Severe MR, SBP 84 with an inpatient lisinopril order: a warning that names lisinopril.",
        [*SEVERE, k.sbp("bp-1", 84, at(hours=1)), k.med_request("rx-1", k.LISINOPRIL)],
        {"mechanical-support": "critical", "medical-therapy": "warning", "surgical-repair": "info"},
        {"medical-therapy": ["ACE inhibitor or ARB"]},
        summary={"medical-therapy": ["SBP 84 with lisinopril ordered: review or hold it"]},
    ),
    Case(
        "severe_mr_hypotensive_heart_failure_no_diuretic",
        "Severe MR, SBP 82, heart failure, no loop diuretic, on nitroglycerin: caution and the drug named.",
        [
            *SEVERE,
            k.condition("hf-1", k.HEART_FAILURE),
            k.sbp("bp-1", 82, at(hours=1)),
            k.med_request("rx-1", k.NITROGLYCERIN),
        ],
        {"mechanical-support": "critical", "medical-therapy": "warning", "surgical-repair": "info"},
        summary={"medical-therapy": ["vasodilators need caution (nitroglycerin active)"]},
    ),
    # --- revision 2: no draft echo when the echo is recent ------------------------------------
    Case(
        "mr_recent_echo_free_text_grade",
        "MR; an echo 4 days ago whose grade is free text: ask for a structured grade, no draft echo order.",
        [MR, k.echo("echo-1", at(days=4), string="moderate-severe")],
        info("grade-severity"),
        summary={"grade-severity": ["record a structured grade"]},
        suggests={"grade-severity": None},
    ),
    # --- several cards at once -----------------------------------------------------------------
    Case(
        "everything_at_once",
        "Acute MI, edema, shock, severe MR, MOF, heart failure, no diuretic.",
        [
            *SEVERE,
            k.condition("ami-1", k.AMI, onset=at(days=2)),
            k.condition("ape-1", k.PULMONARY_EDEMA, onset=at(days=1)),
            k.sbp("bp-1", 78, at(hours=1)),
            k.condition("mof-1", k.MOF, onset=at(days=1)),
        ],
        {
            "acute-mr-emergency": "critical",
            "mechanical-support": "critical",
            "transcatheter-repair": "warning",
            "medical-therapy": "warning",
        },
    ),
]


def person(pid: str, family: str, given: str, gender: str, birth_date: str) -> dict[str, Any]:
    return k.patient(pid, family=family, given=given, gender=gender, birth_date=birth_date)


DEMOS: list[Case] = [
    Case(
        "01-acute-mr-after-mi",
        "Acute MR two days after a myocardial infarction, with pulmonary edema and "
        "SBP 84 mmHg; no echo grade yet.",
        [
            k.condition("mr-1", k.MR, recorded=at(days=1)),
            k.condition("ami-1", k.AMI, onset=at(days=2)),
            k.condition("ape-1", k.PULMONARY_EDEMA, onset=at(hours=20)),
            k.sbp("bp-1", 84, at(hours=1)),
            k.lab("lac-1", "lactate", 1.6, "mmol/L", at(hours=2)),
        ],
        {"acute-mr-emergency": "critical", "grade-severity": "info"},
        pid="demo-acute-mi",
        patient=person("demo-acute-mi", "Weber", "Hans", "male", "1959-03-02"),
    ),
    Case(
        "02-cardiogenic-shock",
        "Severe MR (echo: severe) in cardiogenic shock: SBP 78 mmHg, lactate "
        "4.2 mmol/L, on norepinephrine, heart failure without a loop diuretic.",
        [
            *SEVERE,
            k.condition("cs-1", k.CARDIOGENIC_SHOCK, onset=at(hours=10)),
            k.condition("hf-1", k.HEART_FAILURE, recorded=at(days=300)),
            k.sbp("bp-1", 78, at(hours=1)),
            k.lab("lac-1", "lactate", 4.2, "mmol/L", at(hours=2)),
            k.med_request("rx-1", k.NOREPINEPHRINE, authored=at(hours=9)),
            k.med_admin("ma-1", k.NOREPINEPHRINE, "in-progress", start=at(hours=9)),
        ],
        {"mechanical-support": "critical", "medical-therapy": "warning", "surgical-repair": "info"},
        pid="demo-shock",
        patient=person("demo-shock", "Rossi", "Maria", "female", "1948-07-19"),
    ),
    Case(
        "03-multi-organ-failure-on-ecmo",
        "Severe MR (echo grade 4) on VA-ECMO for 3 days with renal, "
        "hepatic and coagulation failure; on dobutamine.",
        [
            MR,
            k.echo("echo-1", at(days=3), integer=4),
            k.procedure("ecmo-1", k.VA_ECMO, "in-progress", start=at(days=3)),
            k.lab("cr-1", "creatinine", 2.8, "mg/dL", at(hours=5)),
            k.lab("bili-1", "bilirubin", 3.4, "mg/dL", at(hours=5)),
            k.lab("plt-1", "platelets", 85, "10*3/uL", at(hours=5)),
            k.med_request("rx-1", k.DOBUTAMINE),
        ],
        {"transcatheter-repair": "warning", "medical-therapy": "info", "on-mechanical-support": "info"},
        pid="demo-mof-ecmo",
        patient=person("demo-mof-ecmo", "Novak", "Petra", "female", "1961-11-30"),
    ),
    Case(
        "04-stable-severe-mr",
        "Severe MR in a stable outpatient with heart failure on furosemide and lisinopril; SBP 118 mmHg.",
        [
            MR,
            k.echo("echo-1", at(days=30), concept=k.SEVERE),
            k.condition("hf-1", k.HEART_FAILURE),
            k.sbp("bp-1", 118, at(hours=3)),
            k.med_request("rx-1", k.FUROSEMIDE),
            k.med_request("rx-2", k.LISINOPRIL),
        ],
        info(*STABLE),
        pid="demo-stable",
        patient=person("demo-stable", "Okafor", "James", "male", "1955-05-14"),
    ),
    Case(
        "05-severe-mr-on-iabp",
        "Severe MR with an intra-aortic balloon pump running; SBP 88 mmHg.",
        [*SEVERE, k.device("dev-1", k.IABP), k.sbp("bp-1", 88, at(hours=1))],
        {"on-mechanical-support": "info", "medical-therapy": "info"},
        pid="demo-iabp",
        patient=person("demo-iabp", "Lindqvist", "Erik", "male", "1950-09-08"),
    ),
    Case(
        "06-mr-needs-echo",
        "MR on the problem list; the last echo grade is two years old.",
        [MR, k.echo("echo-1", at(days=730), concept=k.MODERATE)],
        info("grade-severity"),
        suggests={"grade-severity": "routine"},
        pid="demo-needs-echo",
        patient=person("demo-needs-echo", "Garcia", "Lucia", "female", "1970-02-25"),
    ),
    Case(
        "07-mr-grade-not-machine-readable",
        "MR; the latest echo (4 days ago) grade is the text 'moderate-severe', which is not "
        "machine-readable (no fall-back to the older severe echo): record a structured grade, "
        "no draft echo order.",
        [
            MR,
            k.echo("echo-2", at(days=4), string="moderate-severe"),
            k.echo("echo-1", at(days=200), concept=k.SEVERE),
        ],
        info("grade-severity"),
        suggests={"grade-severity": None},
        pid="demo-unreadable",
        patient=person("demo-unreadable", "Tanaka", "Yuki", "female", "1966-08-03"),
    ),
    Case(
        "08-moderate-mr-no-card",
        "Moderate MR with heart failure on furosemide: no card.",
        [
            MR,
            k.echo("echo-1", at(days=60), concept=k.MODERATE),
            k.condition("hf-1", k.HEART_FAILURE),
            k.med_request("rx-1", k.FUROSEMIDE),
        ],
        {},
        pid="demo-moderate",
        patient=person("demo-moderate", "Dubois", "Claire", "female", "1958-12-12"),
    ),
    Case(
        "09-no-mr-heart-failure",
        "Heart failure and dyspnea without mitral regurgitation: no card.",
        [
            k.condition("hf-1", k.HEART_FAILURE),
            k.condition("dy-1", k.DYSPNEA),
            k.sbp("bp-1", 104, at(hours=2)),
        ],
        {},
        pid="demo-no-mr",
        patient=person("demo-no-mr", "Schmidt", "Anna", "female", "1944-04-21"),
    ),
    Case(
        "10-provisional-mr-name-only-diuretic",
        "Provisional MR diagnosis, echo grade 4, heart failure; the "
        "only diuretic order has no code ('Furosemide 40 mg tablet').",
        [
            k.condition("mr-1", k.MR, verification="provisional"),
            k.echo("echo-1", at(days=12), integer=4),
            k.condition("hf-1", k.HEART_FAILURE),
            k.med_request("rx-1", None, text="Furosemide 40 mg tablet"),
        ],
        info(*STABLE),
        pid="demo-provisional",
        patient=person("demo-provisional", "Haddad", "Omar", "male", "1963-06-17"),
    ),
    Case(
        "11-medications-unavailable",
        "Severe MR with heart failure; the EHR could not fetch the "
        "medication orders, so the card says what it could not assess.",
        [*SEVERE, k.condition("hf-1", k.HEART_FAILURE)],
        info(*STABLE),
        failed_keys={"medication-requests": "The medication service did not respond"},
        pid="demo-meds-unavailable",
        patient=person("demo-meds-unavailable", "Kowalski", "Jan", "male", "1952-01-09"),
    ),
    Case(
        "12-acute-mr-on-echo-not-coded",
        "New moderate-to-severe MR on an echo two days after a myocardial infarction, pulmonary "
        "edema, SBP 85 mmHg; no MR diagnosis coded yet: the acute card fires on the echo alone, "
        "with an urgent draft echo order (no echo grade within 24 h).",
        [
            k.echo("echo-1", at(days=2), concept=k.MODERATE_TO_SEVERE),
            k.condition("ami-1", k.AMI, onset=at(days=2, hours=8)),
            k.condition("ape-1", k.PULMONARY_EDEMA, onset=at(hours=30)),
            k.sbp("bp-1", 85, at(hours=1)),
        ],
        {"acute-mr-emergency": "critical"},
        summary={"acute-mr-emergency": ["Possible acute MR (acute MI)"]},
        suggests={"acute-mr-emergency": "urgent"},
        pid="demo-acute-echo",
        patient=person("demo-acute-echo", "Moreau", "Luc", "male", "1957-10-04"),
    ),
    Case(
        "13-arterial-line-artefact",
        "Severe MR; SBP 0 mmHg (an arterial-line artefact) 30 minutes after SBP 118 mmHg: the "
        "artefact never counts, and with a normal reading before it the blood pressure is unknown "
        "(not normal): the medical-therapy card names both readings; no critical card.",
        [*SEVERE, k.sbp("bp-1", 118, at(hours=1)), k.sbp("bp-2", 0, at(hours=0.5))],
        info(*STABLE),
        # Both readings named: the artefact in "Why", the normal reading before it in the one
        # "Not assessed" line (spec 2.1: "Why" lists only criteria that were met).
        {
            "medical-therapy": [
                "SBP 0 mmHg, 30 min ago: looks like an artefact",
                "SBP 118 mmHg at 09:30 UTC: check",
            ]
        },
        pid="demo-artefact",
        patient=person("demo-artefact", "Iversen", "Sofie", "female", "1962-03-28"),
    ),
    Case(
        "14-no-infusion-no-critical-card",
        "Severe MR, SBP 132 mmHg; a dobutamine dose given during a stress echo (completed 3 h "
        "ago), a text-only 'EpiPen' order and lidocaine with epinephrine: none is vasoactive "
        "support, no critical card.",
        [
            *SEVERE,
            k.sbp("bp-1", 132, at(hours=1)),
            k.med_admin("ma-1", k.DOBUTAMINE, "completed", start=at(hours=3.5), end=at(hours=3)),
            k.med_request("rx-2", None, text="EpiPen 0.3 mg epinephrine auto-injector"),
            {**LIDOCAINE_WITH_EPINEPHRINE, "id": "rx-3"},
        ],
        info(*STABLE),
        pid="demo-no-infusion",
        patient=person("demo-no-infusion", "Brennan", "Aoife", "female", "1968-12-01"),
    ),
    Case(
        "15-ecmo-removal-not-recorded",
        "Severe MR in cardiogenic shock; VA-ECMO recorded two days ago with an insertion time "
        "only: support unknown, the critical card says what to check in its summary.",
        [*SEVERE, k.condition("cs-1", k.CARDIOGENIC_SHOCK, onset=at(days=2)), ECMO_DATE_TIME_ONLY],
        {"mechanical-support": "critical", **info(*STABLE)},
        summary={"mechanical-support": ["VA-ECMO inserted 2 days ago, removal not recorded: check"]},
        pid="demo-ecmo-unknown",
        patient=person("demo-ecmo-unknown", "Costa", "Rui", "male", "1954-06-22"),
    ),
    Case(
        "16-ecmo-configuration-not-coded",
        "Severe MR in cardiogenic shock on ECMO coded without its configuration (VA or VV): "
        "never called VA-ECMO; the critical card asks to check.",
        [
            *SEVERE,
            k.condition("cs-1", k.CARDIOGENIC_SHOCK, onset=at(days=1)),
            k.procedure("ecmo-1", k.ECMO_UNSPECIFIED, "in-progress", start=at(days=1)),
        ],
        {"mechanical-support": "critical", **info(*STABLE)},
        summary={"mechanical-support": ["configuration (VA or VV) not coded: check"]},
        pid="demo-ecmo-config",
        patient=person("demo-ecmo-config", "Nowak", "Ewa", "female", "1960-02-14"),
    ),
    Case(
        "17-shock-on-vv-ecmo",
        "Severe MR in cardiogenic shock on veno-venous ECMO: respiratory support only, named on "
        "the critical card.",
        [
            *SEVERE,
            k.condition("cs-1", k.CARDIOGENIC_SHOCK, onset=at(days=1)),
            k.procedure("ecmo-1", k.VV_ECMO, "in-progress", start=at(days=3)),
        ],
        {"mechanical-support": "critical", **info(*STABLE)},
        {"mechanical-support": ["On veno-venous ECMO: respiratory support only"]},
        pid="demo-vv-ecmo",
        patient=person("demo-vv-ecmo", "Yilmaz", "Deniz", "male", "1971-09-09"),
    ),
    Case(
        "18-mr-repaired-after-echo",
        "Severe MR on an echo 40 days ago, transcatheter edge-to-edge repair 7 days ago, MR "
        "Condition resolved: the old grade is superseded, no severe-MR card; the grade card asks to "
        "re-grade after the repair.",
        [
            k.condition("mr-1", k.MR, clinical="resolved", abatement=at(days=7), recorded=at(days=400)),
            k.echo("echo-1", at(days=40), concept=k.SEVERE),
            performed(k.TEER, at(days=7)),
        ],
        info("grade-severity"),
        pid="demo-repaired",
        patient=person("demo-repaired", "Fischer", "Karl", "male", "1949-01-30"),
    ),
    Case(
        "19-hypotensive-on-lisinopril",
        "Severe MR, SBP 84 mmHg, on inpatient lisinopril and furosemide: the medical-therapy card "
        "is a warning that names lisinopril (review or hold it); ACE inhibitor or ARB is one line.",
        [
            *SEVERE,
            k.sbp("bp-1", 84, at(hours=1)),
            k.med_request("rx-1", k.LISINOPRIL),
            k.med_request("rx-2", k.FUROSEMIDE),
        ],
        {"mechanical-support": "critical", "medical-therapy": "warning", "surgical-repair": "info"},
        {"medical-therapy": ["ACE inhibitor or ARB: Lisinopril"]},
        summary={"medical-therapy": ["SBP 84 with lisinopril ordered: review or hold it"]},
        pid="demo-hypotensive-acei",
        patient=person("demo-hypotensive-acei", "Andersson", "Lena", "female", "1956-07-07"),
    ),
]

# Revision 3, time series, running drugs and medical therapy (tests/hooks/cases_series.py).
SCENARIOS += cases_series.scenarios(Case)
DEMOS += cases_series.demos(Case, person)


# Revision 3, section 1.1 (grades): kept in their own module, added here.
SCENARIOS += cases_grades.scenarios()
DEMOS += cases_grades.demos()
# Scope, goals of care, acuity and time windows (issue 15): their own module, appended here.
from tests.hooks import cases_scope  # noqa: E402

SCENARIOS += cases_scope.scenarios(Case) + cases_scope.acute_mr_scenarios(Case)
DEMOS += cases_scope.demos(Case, person)
# The demo table reads in file order, whichever module a demo comes from.
DEMOS.sort(key=lambda c: c.name)


def _dump(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def rendered() -> dict[Path, str]:
    """Every generated file and its content."""
    out = {
        SCENARIO_DIR / f"{c.name}.json": _dump(
            {"description": c.description, "request": c.request(), "expect": c.expect()}
        )
        for c in SCENARIOS
    }
    out.update({DEMO_DIR / f"{c.name}.json": _dump(demo_request(c)) for c in DEMOS})
    out[DEMO_DIR / "README.md"] = demo_readme()
    return out


def demo_request(case: Case) -> dict[str, Any]:
    """A demo patient's request file: resource ids prefixed with the patient's id, so that
    every demo can be loaded into one FHIR server (README, sandbox recipe)."""
    return k.with_ids_of(case.request(), case.pid)


def demo_readme() -> str:
    lines = [
        "# Demo patients",
        "",
        "Synthetic FHIR R4 charts as complete CDS Hooks `patient-view` requests (every prefetch key",
        "of the service; codes only from `fhir_mappings/valuesets/`). Generated by",
        "`python -m tests.hooks.cases` (do not edit by hand); `tests/hooks/test_demo_patients.py`",
        "checks that each gives exactly the cards listed here.",
        "",
        "Times are absolute, around the instant in each file's",
        "`extension.org.mr-cds-hooks.demo.asOf` (2026-01-15T10:30:00Z). `mr-cds evaluate` evaluates",
        "as of that instant (unless `--now` is given), so the cards are the same on any day.",
        "For a running server, which uses the real clock, `mr-cds demo FILE` prints the request",
        "with every FHIR time shifted by (now - asOf):",
        "",
        "```sh",
        "mr-cds evaluate examples/patients/02-cardiogenic-shock.json --explain",
        "mr-cds demo examples/patients/02-cardiogenic-shock.json \\",
        "  | curl -s -H 'Content-Type: application/json' -d @- \\",
        "    http://127.0.0.1:8080/cds-services/severe-mitral-regurgitation",
        "```",
        "",
        "Each card's detail is short on purpose (a recommendation, at most five facts in clinical",
        "words, one evidence line); `--explain` prints the full trail behind it. Patients 12-19",
        "show the rules added after the clinical review: acute MR seen on echo before it is",
        "coded (12), artefacts and drugs that are not infusions never raise a critical card",
        "(13, 14), support that may be running is checked, not assumed (15, 16), veno-venous",
        "ECMO is respiratory support only (17), a repaired valve's old grade is superseded (18),",
        "and a hypotensive patient's medical-therapy summary keeps its vasodilator caution (19).",
        "Patient 05 shows one card per decision (no surgical-repair beside on-mechanical-support);",
        "patient 07 gets no draft echo order, because its echo is recent and only the grade is",
        "unreadable. Patient 20 (clinical spec revision 3) had a MitraClip after its last severe",
        "echo: the problem list still says MR, but the old grade no longer describes the valve, so",
        "the only card asks to re-grade it. Patients 21 and 22 show drugs judged by whether they",
        "run now: an IV vasodilator infusion running in hypotension makes medical therapy critical",
        "(21), and an infusion the EHR names only in text counts, with 'name match: verify' (22).",
        "Patients 23 and 24 show scope and goals of care: a child gets no card at all (23), and",
        "comfort measures only remove every escalation card and the draft echo, leaving medical",
        "therapy for symptom relief (24).",
        "",
        "| file | patient | cards (indicator) |",
        "|---|---|---|",
    ]
    for c in DEMOS:
        cards = ", ".join(f"`{i}` ({ind})" for i, ind in _ordered(c.must)) or "none"
        lines.append(f"| `{c.name}.json` | {c.description} | {cards} |")
    return "\n".join(lines) + "\n"


def _ordered(must: Mapping[str, str]) -> list[tuple[str, str]]:
    rank = {"critical": 0, "warning": 1, "info": 2}
    return sorted(must.items(), key=lambda item: (rank[item[1]], ALL_CARDS.index(item[0])))


def main() -> None:
    SCENARIO_DIR.mkdir(parents=True, exist_ok=True)
    DEMO_DIR.mkdir(parents=True, exist_ok=True)
    for path, text in rendered().items():
        path.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
