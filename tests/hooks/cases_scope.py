"""Scenario charts for scope, goals of care, organ-failure acuity and the acute-Condition
windows (docs/clinical-rules.md, sections 'Scope, goals of care and contraindications',
'Organ failure acuity', 'Acute Conditions: 14 days', 'Pulmonary edema'). One chart per
rule side and boundary; ``tests/hooks/cases.py`` appends them to its lists."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tests.hooks import chartkit as k
from tests.hooks.chartkit import at

if TYPE_CHECKING:
    from tests.hooks.cases import Case

LOINC = k.LOINC
MR = k.condition("mr-1", k.MR, recorded=at(days=400))
SEVERE = [MR, k.echo("echo-1", at(days=10), concept=k.SEVERE)]
STABLE = {"surgical-repair": "info", "medical-therapy": "info"}
SHOCK = {"mechanical-support": "critical", **STABLE}

DNR_Z66 = (k.ICD10CM, "Z66", "Do not resuscitate")
PALLIATIVE_Z515 = (k.ICD10CM, "Z51.5", "Encounter for palliative care")
PREGNANT_O99411 = (
    k.ICD10CM,
    "O99.411",
    "Diseases of the circulatory system complicating pregnancy, first trimester",
)
DURABLE_Z95811 = (k.ICD10CM, "Z95.811", "Presence of heart assist device")
STENOSIS_I342 = (k.ICD10CM, "I34.2", "Nonrheumatic mitral (valve) stenosis")
CKD4 = (k.ICD10CM, "N18.4", "Chronic kidney disease, stage 4 (severe)")
ESRD = (k.ICD10CM, "N18.6", "End stage renal disease")
ITP = (k.ICD10CM, "D69.3", "Immune thrombocytopenic purpura")
CIRRHOSIS = (k.ICD10CM, "K74.60", "Unspecified cirrhosis of liver")
CHRONIC_RESP = (k.ICD10CM, "J96.11", "Chronic respiratory failure with hypoxia")
COMFORT_ORDER = (LOINC, "LA33475-7", "Comfort-focused Treatments")
NO_CPR_ORDER = (LOINC, "LA33471-6", "No CPR: Do Not Attempt Resuscitation")
YES_CPR_ORDER = (LOINC, "LA33470-8", "Yes CPR")
SACUBITRIL_VALSARTAN_SCD = (
    k.RXNORM,
    "1656349",
    "sacubitril 49 MG / valsartan 51 MG Oral Tablet",
)
PREGNANCY_STATUS = (LOINC, "82810-3", "Pregnancy status")
NOT_PREGNANT = (LOINC, "LA26683-5", "Not pregnant")


def order(rid: str, code: tuple[str, str, str], authored: str, status: str = "active") -> dict[str, Any]:
    """A code-status order as US Core 9 / HL7 PACIO model it (ServiceRequest)."""
    return {
        "resourceType": "ServiceRequest",
        "id": rid,
        "status": status,
        "intent": "order",
        "category": [k.cc((LOINC, "100822-6", "Cardiopulmonary resuscitation orders"))],
        "code": k.cc(code),
        "authoredOn": authored,
    }


def pregnancy_status(rid: str, answer: tuple[str, str, str], when: str) -> dict[str, Any]:
    res = {
        "resourceType": "Observation",
        "id": rid,
        "status": "final",
        "code": k.cc(PREGNANCY_STATUS),
        "effectiveDateTime": when,
        "valueCodeableConcept": k.cc(answer),
    }
    return res


VENTILATOR = (k.SNOMED, "706172005", "Ventilator (physical object)")
CRRT = (k.SNOMED, "714749008", "Continuous renal replacement therapy (procedure)")


def ventilator_use(rid: str, started: str) -> dict[str, Any]:
    """An active ventilator use with its Device contained (its start says when use began)."""
    return {
        "resourceType": "DeviceUseStatement",
        "id": rid,
        "status": "active",
        "contained": [{"resourceType": "Device", "id": "vent", "status": "active", "type": k.cc(VENTILATOR)}],
        "device": {"reference": "#vent"},
        "timingPeriod": {"start": started},
    }


def born(birth_date: str, pid: str = "pat-1", **extra: Any) -> dict[str, Any]:
    return {**k.patient(pid, family="Demo", given="Pat", gender="unknown", birth_date=birth_date), **extra}


def organs(
    creatinine: float | None = None, bilirubin: float = 0.8, platelets: float = 220
) -> list[dict[str, Any]]:
    labs = [
        k.lab("bili-1", "bilirubin", bilirubin, "mg/dL", at(hours=5)),
        k.lab("plt-1", "platelets", platelets, "10*3/uL", at(hours=5)),
    ]
    if creatinine is not None:
        labs.append(k.lab("cr-2", "creatinine", creatinine, "mg/dL", at(hours=5)))
    return labs


def scenarios(case: type[Case]) -> list[Case]:
    shock_now = k.sbp("bp-1", 80, at(hours=1))
    return [
        # --- age and death ---------------------------------------------------------------
        case(
            "scope_age_17_no_cards",
            "Severe MR with SBP 80 in a patient aged 17 (born June 2008): under 18, no card.",
            [*SEVERE, shock_now],
            {},
            patient=born("2008-06-01"),
        ),
        case(
            "scope_age_18_cards",
            "The same chart on the patient's 18th birthday: adult, the cards are shown.",
            [*SEVERE, shock_now],
            SHOCK,
            patient=born("2008-01-15"),
        ),
        case(
            "scope_birth_year_only_counts_oldest_age",
            "birthDate '2008' (year only) counts with the oldest age it allows (18): cards shown.",
            [*SEVERE, shock_now],
            SHOCK,
            patient=born("2008"),
        ),
        case(
            "scope_deceased_no_cards",
            "Severe MR with SBP 80 in a patient who died yesterday: no card.",
            [*SEVERE, shock_now],
            {},
            patient=born("1950-01-01", deceasedDateTime=at(days=1)),
        ),
        # --- goals of care -----------------------------------------------------------------
        case(
            "scope_comfort_order_removes_escalation",
            "Severe MR in shock with an active comfort-focused treatment order: no escalation card; "
            "medical therapy stays as info for symptom relief.",
            [*SEVERE, shock_now, order("sr-1", COMFORT_ORDER, at(days=1))],
            {"medical-therapy": "info"},
            summary={"medical-therapy": ["comfort measures only"]},
        ),
        case(
            "scope_palliative_encounter_is_not_comfort_care",
            "A palliative-care encounter (Z51.5) is compatible with full treatment: the cards stay.",
            [*SEVERE, shock_now, k.condition("pal-1", PALLIATIVE_Z515, recorded=at(days=3))],
            SHOCK,
        ),
        case(
            "scope_revoked_comfort_order_cards_stay",
            "A comfort order that was revoked is not a code status: the cards stay.",
            [*SEVERE, shock_now, order("sr-1", COMFORT_ORDER, at(days=1), status="revoked")],
            SHOCK,
        ),
        case(
            "scope_dnr_prefixes_escalation_cards",
            "Severe MR in shock with DNR (Z66) on the problem list: the cards stay, escalation "
            "summaries start 'DNR on record:'.",
            [*SEVERE, shock_now, k.condition("dnr-1", DNR_Z66, recorded=at(days=20))],
            SHOCK,
            summary={
                "mechanical-support": ["DNR on record: Severe MR"],
                "surgical-repair": ["DNR on record:"],
            },
        ),
        case(
            "scope_newer_comfort_order_beats_older_dnr",
            "A DNR order, then a newer comfort-focused order: the newest code status decides.",
            [
                *SEVERE,
                shock_now,
                order("sr-1", NO_CPR_ORDER, at(days=5)),
                order("sr-2", COMFORT_ORDER, at(days=1)),
            ],
            {"medical-therapy": "info"},
        ),
        case(
            "scope_newer_full_code_order_ends_dnr",
            "DNR on the problem list 20 days ago, then a Yes-CPR order yesterday: full code, "
            "no 'DNR on record'.",
            [
                *SEVERE,
                shock_now,
                k.condition("dnr-1", DNR_Z66, recorded=at(days=20)),
                order("sr-1", YES_CPR_ORDER, at(days=1)),
            ],
            SHOCK,
        ),
        # --- pregnancy ---------------------------------------------------------------------
        case(
            "scope_pregnant_on_lisinopril",
            "Pregnant (O99.411) with severe MR on lisinopril: medical therapy is a warning naming "
            "the drug; escalation cards ask for obstetrics.",
            [
                *SEVERE,
                k.condition("preg-1", PREGNANT_O99411, recorded=at(days=40)),
                k.med_request("rx-1", k.LISINOPRIL),
            ],
            {"surgical-repair": "info", "medical-therapy": "warning"},
            {"surgical-repair": ["Pregnant: involve obstetrics."]},
            summary={
                "medical-therapy": [
                    "lisinopril active: ACE inhibitors and ARBs are contraindicated in pregnancy"
                ]
            },
        ),
        case(
            "scope_pregnant_on_sacubitril_valsartan",
            "Pregnant (O99.411) with severe MR on sacubitril/valsartan (ARNI, coded by its clinical "
            "drug): the same warning as for an ACE inhibitor or ARB, naming the drug.",
            [
                *SEVERE,
                k.condition("preg-1", PREGNANT_O99411, recorded=at(days=40)),
                k.med_request("rx-1", SACUBITRIL_VALSARTAN_SCD),
            ],
            {"surgical-repair": "info", "medical-therapy": "warning"},
            {"surgical-repair": ["Pregnant: involve obstetrics."]},
            summary={
                "medical-therapy": [
                    "sacubitril/valsartan active: ACE inhibitors and ARBs are contraindicated in pregnancy"
                ]
            },
        ),
        case(
            "scope_pregnant_ace_arb_never_listed_missing",
            "Pregnant without an ACE inhibitor or ARB: the card never lists them as missing.",
            [
                *SEVERE,
                k.condition("preg-1", PREGNANT_O99411, recorded=at(days=40)),
                k.med_request("rx-1", k.FUROSEMIDE),
            ],
            STABLE,
            summary={"medical-therapy": ["active: loop diuretic; not active: none"]},
        ),
        case(
            "scope_newer_not_pregnant_status_wins",
            "A pregnancy Condition recorded 40 days ago, then a 'not pregnant' status 2 days ago: "
            "not pregnant, lisinopril is listed as usual.",
            [
                *SEVERE,
                k.condition("preg-1", PREGNANT_O99411, recorded=at(days=40)),
                pregnancy_status("ps-1", NOT_PREGNANT, at(days=2)),
                k.med_request("rx-1", k.LISINOPRIL),
            ],
            STABLE,
        ),
        # --- durable VAD ---------------------------------------------------------------------
        case(
            "scope_vad_in_place_30_days_is_temporary_support",
            "A ventricular assist device inserted 30 days ago and running: temporary support.",
            [*SEVERE, shock_now, k.procedure("vad-1", k.IMPELLA, "in-progress", start=at(days=30))],
            {"on-mechanical-support": "info", "medical-therapy": "info"},
        ),
        case(
            "scope_vad_in_place_90_days_temporary_or_durable_check",
            "A ventricular assist device in place for 90 days: temporary or durable cannot be told, "
            "support unknown; the critical card asks to check.",
            [*SEVERE, shock_now, k.procedure("vad-1", k.IMPELLA, "in-progress", start=at(days=90))],
            SHOCK,
            summary={"mechanical-support": ["temporary or durable: check"]},
        ),
        case(
            "scope_vad_in_place_91_days_is_durable",
            "A ventricular assist device in place for 91 days is durable: only medical therapy, "
            "with the VAD team.",
            [*SEVERE, shock_now, k.procedure("vad-1", k.IMPELLA, "in-progress", start=at(days=91))],
            {"medical-therapy": "info"},
            {"medical-therapy": ["Durable VAD in place: MR decisions with the VAD team."]},
        ),
        case(
            "scope_durable_vad_by_code",
            "Presence of a heart assist device (Z95.811): only medical therapy and grading may fire.",
            [MR, shock_now, k.condition("vad-1", DURABLE_Z95811, recorded=at(days=400))],
            {"grade-severity": "info"},
            {"grade-severity": ["Durable VAD in place"]},
        ),
        # --- mitral stenosis ---------------------------------------------------------------------
        case(
            "scope_mitral_stenosis_no_mitraclip_with_organ_failure",
            "Severe MR with mitral stenosis and renal and hepatic failure: no MitraClip card; "
            "surgery is a heart-team warning.",
            [*SEVERE, k.condition("ms-1", STENOSIS_I342), *organs(creatinine=3.1, bilirubin=3.4)],
            {"surgical-repair": "warning", "medical-therapy": "info"},
            summary={"surgical-repair": ["edge-to-edge repair unsuitable"]},
        ),
        case(
            "scope_mitral_stenosis_stable_surgery_without_repair_preference",
            "Severe MR with mitral stenosis, no organ failure: surgery, without 'repair preferred'.",
            [*SEVERE, k.condition("ms-1", STENOSIS_I342)],
            STABLE,
            summary={"surgical-repair": ["mitral stenosis: consider surgery"]},
        ),
        # --- acute Condition windows ---------------------------------------------------------------
        case(
            "acute_pulmonary_edema_7_days",
            "MI 10 days ago, moderate MR on echo, pulmonary edema 7 days ago: counted, acute card.",
            [
                MR,
                k.echo("echo-1", at(days=2), integer=2),
                k.condition("ami-1", k.AMI, onset=at(days=10)),
                k.condition("ape-1", k.PULMONARY_EDEMA, onset=at(days=7)),
            ],
            {"acute-mr-emergency": "critical"},
        ),
        case(
            "acute_pulmonary_edema_8_days",
            "The same with pulmonary edema 8 days ago: a past episode, no acute card.",
            [
                MR,
                k.echo("echo-1", at(days=2), integer=2),
                k.condition("ami-1", k.AMI, onset=at(days=10)),
                k.condition("ape-1", k.PULMONARY_EDEMA, onset=at(days=8)),
            ],
            {},
        ),
        case(
            "acute_cardiogenic_shock_14_days",
            "Severe MR, cardiogenic shock with onset 14 days ago: still counts, support card.",
            [*SEVERE, k.condition("cs-1", k.CARDIOGENIC_SHOCK, onset=at(days=14))],
            SHOCK,
        ),
        case(
            "acute_cardiogenic_shock_15_days",
            "Severe MR, cardiogenic shock with onset 15 days ago: an old entry, no support card.",
            [*SEVERE, k.condition("cs-1", k.CARDIOGENIC_SHOCK, onset=at(days=15))],
            STABLE,
        ),
        case(
            "acute_kidney_injury_15_days_not_an_organ_failure",
            "AKI with onset 15 days ago and bilirubin 3.4: one organ only, surgery stays.",
            [*SEVERE, k.condition("aki-1", k.AKI, onset=at(days=15)), *organs(bilirubin=3.4)],
            STABLE,
        ),
        case(
            "acute_kidney_injury_14_days_is_an_organ_failure",
            "AKI with onset 14 days ago and bilirubin 3.4: two organs, MitraClip card.",
            [*SEVERE, k.condition("aki-1", k.AKI, onset=at(days=14)), *organs(bilirubin=3.4)],
            {"transcatheter-repair": "warning", "medical-therapy": "info"},
        ),
        # --- organ failure acuity --------------------------------------------------------------------
        case(
            "ckd4_creatinine_1_49x_lowest_not_renal_failure",
            "CKD stage 4: creatinine 2.98 against 2.0 three days ago (1.49x) is not a KDIGO rise.",
            [
                *SEVERE,
                k.condition("ckd-1", CKD4),
                k.lab("cr-1", "creatinine", 2.0, "mg/dL", at(days=3)),
                *organs(creatinine=2.98, bilirubin=3.4),
            ],
            STABLE,
        ),
        case(
            "ckd4_creatinine_1_5x_lowest_is_renal_failure",
            "CKD stage 4: creatinine 3.0 against 2.0 three days ago (1.5x): renal failure, with "
            "the liver two organs, MitraClip card.",
            [
                *SEVERE,
                k.condition("ckd-1", CKD4),
                k.lab("cr-1", "creatinine", 2.0, "mg/dL", at(days=3)),
                *organs(creatinine=3.0, bilirubin=3.4),
            ],
            {"transcatheter-repair": "warning", "medical-therapy": "info"},
        ),
        case(
            "esrd_creatinine_never_counts",
            "End-stage renal disease (N18.6), creatinine 6.2 and bilirubin 3.4: the kidneys do not "
            "count, surgery stays, with the surgical-risk line.",
            [*SEVERE, k.condition("esrd-1", ESRD), *organs(creatinine=6.2, bilirubin=3.4)],
            STABLE,
            {"surgical-repair": ["end-stage renal disease or cirrhosis raises surgical risk"]},
        ),
        case(
            "itp_platelets_do_not_count",
            "ITP (D69.3) with platelets 40 and creatinine 3.1: platelets do not count, surgery stays.",
            [*SEVERE, k.condition("itp-1", ITP), *organs(creatinine=3.1, platelets=40)],
            STABLE,
        ),
        case(
            "cirrhosis_bilirubin_does_not_count",
            "Cirrhosis with bilirubin 3.4 and creatinine 3.1: bilirubin does not count without an "
            "acute liver-failure entry.",
            [*SEVERE, k.condition("cir-1", CIRRHOSIS), *organs(creatinine=3.1, bilirubin=3.4)],
            STABLE,
            {"surgical-repair": ["raises surgical risk"]},
        ),
        case(
            "chronic_respiratory_failure_old_ventilation_does_not_count",
            "Chronic respiratory failure, ventilation running for 60 days, creatinine 3.1: the lungs "
            "do not count, surgery stays.",
            [
                *SEVERE,
                k.condition("crf-1", CHRONIC_RESP),
                k.procedure("vent-1", k.VENTILATION, "in-progress", start=at(days=60)),
                *organs(creatinine=3.1),
            ],
            STABLE,
        ),
        case(
            "ventilator_use_started_3_days_ago_counts",
            "A ventilator in use since 3 days and creatinine 3.1: two organs, MitraClip card.",
            [*SEVERE, ventilator_use("dus-1", at(days=3)), *organs(creatinine=3.1)],
            {"transcatheter-repair": "warning", "medical-therapy": "info"},
            {"transcatheter-repair": ["Ventilator device active"]},
        ),
        case(
            "ventilator_use_started_31_days_ago_does_not_count",
            "A ventilator in use since 31 days (home ventilation) and creatinine 3.1: one organ, "
            "surgery stays.",
            [*SEVERE, ventilator_use("dus-1", at(days=31)), *organs(creatinine=3.1)],
            STABLE,
        ),
        case(
            "crrt_started_2_days_ago_is_renal_failure_in_ckd4",
            "CKD stage 4, CRRT running since 2 days, creatinine 2.4 (no KDIGO rise), bilirubin "
            "3.4: new renal replacement counts, two organs, MitraClip card.",
            [
                *SEVERE,
                k.condition("ckd-1", CKD4),
                k.procedure("crrt-1", CRRT, "in-progress", start=at(days=2)),
                *organs(creatinine=2.4, bilirubin=3.4),
            ],
            {"transcatheter-repair": "warning", "medical-therapy": "info"},
        ),
        case(
            "rupture_code_is_mr",
            "A chordal rupture (I51.1) with pulmonary edema and no MR code: a rupture is acute MR.",
            [
                k.condition("cr-1", k.CHORDAL_RUPTURE, onset=at(days=2)),
                k.condition("ape-1", k.PULMONARY_EDEMA, onset=at(days=1)),
            ],
            {"acute-mr-emergency": "critical", "grade-severity": "info"},
        ),
    ]


def demos(case: type[Case], person: Callable[[str, str, str, str, str], dict[str, Any]]) -> list[Case]:
    return [
        case(
            "23-child-no-cards",
            "A 12-year-old with severe MR on echo, SBP 80 mmHg and cardiogenic shock: the guideline "
            "is adult critical care, no card (`--explain` says why).",
            [
                *SEVERE,
                k.condition("cs-1", k.CARDIOGENIC_SHOCK, onset=at(hours=8)),
                k.sbp("bp-1", 80, at(hours=1)),
            ],
            {},
            pid="demo-child",
            patient=person("demo-child", "Berg", "Mila", "female", "2013-09-02"),
        ),
        case(
            "24-comfort-care",
            "Severe MR in cardiogenic shock (SBP 78 mmHg) with an active comfort-focused treatment "
            "order and DNR on the problem list: no escalation card and no draft echo; medical "
            "therapy for symptom relief only.",
            [
                *SEVERE,
                k.condition("cs-1", k.CARDIOGENIC_SHOCK, onset=at(hours=10)),
                k.condition("dnr-1", DNR_Z66, recorded=at(days=30)),
                k.sbp("bp-1", 78, at(hours=1)),
                k.med_request("rx-1", k.FUROSEMIDE),
                order("sr-1", COMFORT_ORDER, at(hours=6)),
            ],
            {"medical-therapy": "info"},
            pid="demo-comfort",
            patient=person("demo-comfort", "Olsen", "Ruth", "female", "1938-04-11"),
        ),
    ]


def acute_mr_scenarios(case: type[Case]) -> list[Case]:
    """Acute MR (revision 3): vasoactive support or hypoperfusion with recent MR evidence,
    and a later mild echo that stops the card unless a rupture is coded."""
    mi = k.condition("ami-1", k.AMI, onset=at(days=3))
    norepinephrine = k.med_admin("ma-1", k.NOREPINEPHRINE, "in-progress", start=at(hours=20))
    return [
        case(
            "acute_mr_recent_echo_on_norepinephrine",
            "MI 3 days ago, MR 3+ on an echo 2 days ago, norepinephrine running at SBP 96: "
            "recent MR evidence, vasoactive support is a presentation, acute card.",
            [
                k.echo("echo-1", at(days=2), concept=k.MODERATE_TO_SEVERE),
                mi,
                norepinephrine,
                k.sbp("bp-1", 96, at(hours=1)),
            ],
            {"acute-mr-emergency": "critical"},
        ),
        case(
            "acute_mr_old_mr_condition_on_norepinephrine_needs_edema_or_hypotension",
            "Chronic MR on the problem list (400 days), unrelated MI, norepinephrine at SBP 96: "
            "an old MR Condition alone needs pulmonary edema or hypotension, no acute card.",
            [MR, mi, norepinephrine, k.sbp("bp-1", 96, at(hours=1))],
            {"grade-severity": "info"},
        ),
        case(
            "acute_mr_mild_echo_after_trigger_and_edema_stops_card",
            "MR recorded 2 days ago, MI 3 days ago, pulmonary edema 2 days ago, then a final echo "
            "of mild MR today: the later echo stops the acute card.",
            [
                k.condition("mr-1", k.MR, recorded=at(days=2)),
                mi,
                k.condition("ape-1", k.PULMONARY_EDEMA, onset=at(days=2)),
                k.echo("echo-1", at(hours=3), concept=k.MILD),
            ],
            {},
        ),
        case(
            "acute_mr_mild_echo_never_stops_a_coded_rupture",
            "A chordal rupture with pulmonary edema and a later mild echo: the card stays "
            "(transthoracic echo underestimates acute MR).",
            [
                k.condition("cr-1", k.CHORDAL_RUPTURE, onset=at(days=2)),
                k.condition("ape-1", k.PULMONARY_EDEMA, onset=at(days=1)),
                k.echo("echo-1", at(hours=3), concept=k.MILD),
            ],
            {"acute-mr-emergency": "critical"},
        ),
    ]
