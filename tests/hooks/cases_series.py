"""Scenario charts for clinical spec revision 3, section 1.2 (time series), vasoactive support as
a drug RUNNING now, medical therapy in hypotension and the ACE inhibitor / ARB / loop-diuretic
clinical-drug codes: one chart per rule side and boundary. ``tests/hooks/cases.py`` adds them
to its lists, so ``python -m tests.hooks.cases`` writes them with the others.
"""

from __future__ import annotations

from typing import Any

from fhir_mappings.codesystems import ATC, RXNORM, SNOMED
from tests.hooks import chartkit as k
from tests.hooks.chartkit import at

MR = k.condition("mr-1", k.MR, recorded=at(days=400))
ECHO_SEVERE = k.echo("echo-1", at(days=10), concept=k.SEVERE)
SEVERE = [MR, ECHO_SEVERE]
STABLE = ("surgical-repair", "medical-therapy")
MILRINONE_ATC = (ATC, "C01CE02", "milrinone")
MILRINONE_PREMIX = (RXNORM, "1791840", "Milrinone lactate 0.2 MG/ML in dextrose 5% 100 ML bag")
NOREPINEPHRINE_VIAL = (RXNORM, "242969", "norepinephrine bitartrate 1 MG/ML 4 ML injection")
CRITICAL_SHOCK = {"mechanical-support": "critical", "surgical-repair": "info", "medical-therapy": "info"}

NITROPRUSSIDE = (RXNORM, "7476", "nitroprusside")
PHENYLEPHRINE = (RXNORM, "8163", "phenylephrine")
MILRINONE_ATC = (ATC, "C01CE02", "Milrinon (de)")
CANDESARTAN_32 = (RXNORM, "639537", "candesartan cilexetil 32 MG Oral Tablet")
FUROSEMIDE_40_TABLET = (RXNORM, "313988", "furosemide 40 MG Oral Tablet")
SACUBITRIL_VALSARTAN_49_51 = (RXNORM, "1656349", "sacubitril 49 MG / valsartan 51 MG Oral Tablet")
LISINOPRIL_10 = (RXNORM, "314076", "lisinopril 10 MG Oral Tablet")
UCUM = "http://unitsofmeasure.org"
CATEGORY = "http://terminology.hl7.org/CodeSystem/medicationrequest-category"


def mins(minutes: float) -> str:
    return at(hours=minutes / 60)


def info(*ids: str) -> dict[str, str]:
    return dict.fromkeys(ids, "info")


def without_unit(resource: dict[str, Any]) -> dict[str, Any]:
    """The same reading with its number only: no unit, no code, no system."""
    return {**resource, "valueQuantity": {"value": resource["valueQuantity"]["value"]}}


def without_zone(resource: dict[str, Any]) -> dict[str, Any]:
    """The same reading with a clock time but no time zone."""
    return {**resource, "effectiveDateTime": resource["effectiveDateTime"].removesuffix("Z")}


def panel(rid: str, systolic: float, diastolic: float, when: str) -> dict[str, Any]:
    res = k.bp_panel(rid, systolic, diastolic, when)
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
    return res


def infusion_order(
    rid: str,
    code: tuple[str, str, str] | None,
    *,
    text: str | None = None,
    rate: str | None = "ug/kg/min",
    as_needed: bool = False,
    dosage_text: str | None = None,
    category: str | None = None,
) -> dict[str, Any]:
    """An active order; with a rate (a continuous infusion) unless ``rate`` is None."""
    order = k.med_request(rid, code, text=text, authored=at(hours=6))
    dosage: dict[str, Any] = {}
    if rate:
        dosage["doseAndRate"] = [{"rateQuantity": {"value": 0.1, "unit": rate, "system": UCUM, "code": rate}}]
    if as_needed:
        dosage["asNeededBoolean"] = True
    if dosage_text:
        dosage["text"] = dosage_text
    if dosage:
        order["dosageInstruction"] = [dosage]
    if category:
        order["category"] = [{"coding": [{"system": CATEGORY, "code": category}]}]
    return order


def running(rid: str, code: tuple[str, str, str], *, hours: float = 4) -> dict[str, Any]:
    return k.med_admin(rid, code, "in-progress", start=at(hours=hours))


def by_route(resource: dict[str, Any], route: tuple[str, str, str]) -> dict[str, Any]:
    """The same administration given by a route (``dosage.route``)."""
    return {**resource, "dosage": {"route": k.cc(route)}}


TRANSDERMAL = (SNOMED, "45890007", "Transdermal route")
OPHTHALMIC = (SNOMED, "54485002", "Ophthalmic route")


def running_by_name(rid: str, text: str, *, hours: float = 3) -> dict[str, Any]:
    """An administration in progress whose drug has only a name, no code."""
    admin = k.med_admin(rid, k.NOREPINEPHRINE, "in-progress", start=at(hours=hours))
    admin["medicationCodeableConcept"] = {"text": text}
    return admin


PREMIXED_DOBUTAMINE = {
    "resourceType": "MedicationAdministration",
    "id": "ma-premix",
    "status": "in-progress",
    "contained": [
        {
            "resourceType": "Medication",
            "id": "premix",
            "code": {"text": "Dobutamine 1 mg/mL in glucose 5% premixed infusion"},
            "ingredient": [
                {"itemCodeableConcept": k.cc(k.DOBUTAMINE)},
                {"itemCodeableConcept": {"text": "glucose"}},
            ],
        }
    ],
    "medicationReference": {"reference": "#premix"},
    "effectivePeriod": {"start": at(hours=5)},
}


def scenarios(case: Any) -> list[Any]:
    """The charts, built with ``cases.Case`` (passed in: cases.py imports this module)."""
    return [
        # --- blood pressure: the newest reading decides --------------------------------------
        case(
            "series_sbp_39_confirmed_by_38_twenty_minutes_earlier",
            "SBP 39 confirmed by a separate reading of 38 twenty minutes earlier: real (peri-arrest), "
            "hypotension.",
            [*SEVERE, k.sbp("bp-2", 39, mins(10)), k.sbp("bp-1", 38, mins(30))],
            CRITICAL_SHOCK,
            {"mechanical-support": ["SBP 39 mmHg", "confirmed by a second reading"]},
        ),
        case(
            "series_sbp_39_second_reading_31_minutes_earlier",
            "SBP 39 with a reading of 38 thirty-one minutes earlier: not confirmed, artefacts, no "
            "hypotension.",
            [*SEVERE, k.sbp("bp-2", 39, mins(10)), k.sbp("bp-1", 38, mins(41))],
            info(*STABLE),
            {"medical-therapy": ["SBP 39 mmHg", "looks like an artefact"]},
        ),
        case(
            "series_sbp_40_newest_after_39",
            "SBP 40 (plausible) is the newest reading: hypotension, whatever came before.",
            [*SEVERE, k.sbp("bp-2", 40, mins(10)), k.sbp("bp-1", 39, mins(20))],
            CRITICAL_SHOCK,
            {"mechanical-support": ["SBP 40 mmHg"]},
        ),
        case(
            "series_newest_sbp_in_kpa_after_112",
            "The newest SBP is 10.4 kPa (78 mmHg) after an SBP of 112 five hours earlier: kPa converted, "
            "the newest reading decides.",
            [*SEVERE, k.sbp("bp-1", 112, at(hours=5)), k.sbp("bp-2", 10.4, at(hours=1), unit="kPa")],
            CRITICAL_SHOCK,
            {"mechanical-support": ["SBP 78 mmHg, 1 h ago"]},
        ),
        case(
            "series_normal_sbp_overrides_older_map_56",
            "A normal SBP of 118 now overrides a MAP of 56 from 16 hours ago: no hypotension.",
            [*SEVERE, k.mean_bp("map-1", 56, at(hours=16)), k.sbp("bp-1", 118, at(hours=1))],
            info(*STABLE),
        ),
        case(
            "series_newest_sbp_without_unit_after_sbp_72",
            "The newest SBP has no unit, the usable one an hour before is 72: the abnormal reading "
            "decides, and the card names both.",
            [*SEVERE, k.sbp("bp-1", 72, at(hours=2)), without_unit(k.sbp("bp-2", 75, at(hours=1)))],
            CRITICAL_SHOCK,
            {"mechanical-support": ["SBP 72 mmHg, 2 h ago", "SBP 75, 1 h ago: recorded without a unit"]},
        ),
        case(
            "series_newest_sbp_without_unit_after_sbp_118",
            "The newest SBP has no unit, the usable one before is 118: hypotension unknown (not 'no'), "
            "both readings named.",
            [*SEVERE, k.sbp("bp-1", 118, at(hours=2)), without_unit(k.sbp("bp-2", 75, at(hours=1)))],
            info(*STABLE),
            {"medical-therapy": ["latest SBP 75 at 09:30 UTC has no unit; SBP 118 mmHg at 08:30 UTC: check"]},
        ),
        case(
            "series_newest_sbp_without_time_zone_after_sbp_118",
            "The newest SBP has a clock time without a zone: it cannot be placed, so with a normal "
            "reading before it hypotension is unknown.",
            [*SEVERE, k.sbp("bp-1", 118, at(hours=3)), without_zone(k.sbp("bp-2", 76, at(hours=1)))],
            info(*STABLE),
            {"medical-therapy": ["recorded without a time"]},
        ),
        case(
            "series_panel_systolic_not_above_diastolic_after_118",
            "The newest BP panel reads 60/80 (systolic not above diastolic: impossible), after 118: "
            "not hypotension, unknown, named.",
            [*SEVERE, k.sbp("bp-1", 118, at(hours=3)), panel("bpp-1", 60, 80, at(hours=1))],
            info(*STABLE),
            {"medical-therapy": ["systolic not above diastolic"]},
        ),
        case(
            "series_panel_map_59_33_rounds_to_59",
            "BP panel 94/42: MAP (94 + 84) / 3 = 59.3, rounded to 59: hypotension.",
            [*SEVERE, panel("bpp-1", 94, 42, at(hours=1))],
            CRITICAL_SHOCK,
            {"mechanical-support": ["MAP 59 mmHg (computed from the BP panel)"]},
        ),
        case(
            "series_panel_map_59_67_rounds_to_60",
            "BP panel 95/42: MAP (95 + 84) / 3 = 59.7, rounded to 60: no hypotension.",
            [*SEVERE, panel("bpp-1", 95, 42, at(hours=1))],
            info(*STABLE),
        ),
        case(
            "series_on_iabp_sbp_85_map_65_is_not_hypotension",
            "On a balloon pump, BP panel 85/55 (MAP 65): only the MAP is read, no hypotension.",
            [*SEVERE, k.device("dev-1", k.IABP), panel("bpp-1", 85, 55, at(hours=1))],
            {"on-mechanical-support": "info", "medical-therapy": "info"},
            summary={"medical-therapy": ["review medical therapy"]},
        ),
        case(
            "series_on_iabp_map_58_is_hypotension",
            "On a balloon pump, BP panel 80/47 (MAP 58): hypotension; the medical-therapy card "
            "carries the vasodilator caution.",
            [*SEVERE, k.device("dev-1", k.IABP), panel("bpp-1", 80, 47, at(hours=1))],
            {"on-mechanical-support": "info", "medical-therapy": "info"},
            summary={"medical-therapy": ["unstable: vasodilators need caution"]},
        ),
        # --- lactate: the newest reading decides ---------------------------------------------
        case(
            "series_newest_lactate_without_unit_after_4_2",
            "The newest lactate has no unit, the one an hour before is 4.2 mmol/L: hypoperfusion.",
            [
                *SEVERE,
                k.lab("lac-1", "lactate", 4.2, "mmol/L", at(hours=3)),
                without_unit(k.lab("lac-2", "lactate", 3.9, "mmol/L", at(hours=2))),
            ],
            CRITICAL_SHOCK,
            {"mechanical-support": ["Lactate 4.2 mmol/L", "recorded without a unit"]},
        ),
        case(
            "series_newest_lactate_31_after_1_5",
            "The newest lactate is 31 mmol/L (implausible) after 1.5: hypoperfusion unknown, no "
            "critical card.",
            [
                *SEVERE,
                k.lab("lac-1", "lactate", 1.5, "mmol/L", at(hours=3)),
                k.lab("lac-2", "lactate", 31, "mmol/L", at(hours=1)),
            ],
            info(*STABLE),
        ),
        # --- vasoactive support: a drug running now ------------------------------------------
        case(
            "running_norepinephrine_order_with_a_rate",
            "An active inpatient norepinephrine order with an infusion rate: vasoactive support.",
            [*SEVERE, infusion_order("rx-1", k.NOREPINEPHRINE)],
            CRITICAL_SHOCK,
            {"mechanical-support": ["Norepinephrine ordered (active)"]},
        ),
        case(
            "running_norepinephrine_order_without_a_rate",
            "An active norepinephrine order with no rate and no dose per time is not a running infusion.",
            [*SEVERE, infusion_order("rx-1", k.NOREPINEPHRINE, rate=None)],
            info(*STABLE),
        ),
        case(
            "running_epinephrine_as_needed_arrest_order",
            "A PRN epinephrine order (cardiac arrest) is not vasoactive support, even with a rate.",
            [*SEVERE, infusion_order("rx-1", k.EPINEPHRINE, as_needed=True)],
            info(*STABLE),
        ),
        case(
            "running_dobutamine_stress_echo_protocol",
            "A dobutamine infusion ordered for a stress-echo protocol is not vasoactive support.",
            [*SEVERE, infusion_order("rx-1", k.DOBUTAMINE, dosage_text="Dobutamine stress echo protocol")],
            info(*STABLE),
        ),
        case(
            "running_outpatient_milrinone",
            "A home milrinone infusion order (category outpatient) is not vasoactive support.",
            [*SEVERE, infusion_order("rx-1", MILRINONE_ATC, category="outpatient")],
            info(*STABLE),
        ),
        case(
            "running_milrinone_administration",
            "A milrinone administration in progress (ATC C01CE02) is vasoactive support.",
            [*SEVERE, running("ma-1", MILRINONE_ATC)],
            CRITICAL_SHOCK,
        ),
        case(
            "running_phenylephrine_adds_the_afterload_line",
            "A phenylephrine infusion running is vasoactive support, and medical therapy says it "
            "raises afterload.",
            [*SEVERE, running("ma-1", PHENYLEPHRINE)],
            CRITICAL_SHOCK,
            {"medical-therapy": ["Phenylephrine raises afterload and can worsen MR."]},
        ),
        case(
            "running_phenylephrine_eye_drops_are_not_vasoactive_support",
            "Phenylephrine eye drops (ophthalmic route) in progress: not an infusion, not vasoactive "
            "support.",
            [*SEVERE, by_route(running("ma-1", PHENYLEPHRINE), OPHTHALMIC)],
            info(*STABLE),
        ),
        case(
            "running_norepinephrine_later_administration_stopped",
            "A norepinephrine administration in progress, then a later one stopped: not running now.",
            [
                *SEVERE,
                running("ma-1", k.NOREPINEPHRINE, hours=8),
                k.med_admin("ma-2", k.NOREPINEPHRINE, "stopped", start=at(hours=2), end=at(hours=1)),
            ],
            info(*STABLE),
        ),
        case(
            "running_premixed_dobutamine_in_glucose",
            "Premixed dobutamine in glucose running: the vehicle is not an ingredient, so it counts.",
            [*SEVERE, PREMIXED_DOBUTAMINE],
            CRITICAL_SHOCK,
        ),
        case(
            "running_name_only_norepinephrine_infusion",
            "A running infusion named 'Norepinephrine 8 mg in 250 mL' with no code counts, with "
            "'name match: verify' in the summary.",
            [*SEVERE, running_by_name("ma-1", "Norepinephrine 8 mg in 250 mL sodium chloride 0.9% infusion")],
            CRITICAL_SHOCK,
            summary={"mechanical-support": ["(name match: verify)"]},
        ),
        case(
            "running_milrinone_coded_by_atc_is_vasoactive_support",
            "A milrinone infusion running, coded by ATC C01CE02: vasoactive support by code.",
            [*SEVERE, running("ma-1", MILRINONE_ATC)],
            CRITICAL_SHOCK,
        ),
        case(
            "running_milrinone_premix_coded_by_product_is_vasoactive_support",
            "A milrinone 0.2 mg/mL premixed bag running, coded by its RxNorm product (openFDA RxCUI "
            "1791840), no ingredient code: vasoactive support by code, no 'verify'.",
            [*SEVERE, running("ma-1", MILRINONE_PREMIX)],
            CRITICAL_SHOCK,
            not_contains={"mechanical-support": ["verify"]},
        ),
        case(
            "norepinephrine_vial_product_coded_infusion_order_counts",
            "An active inpatient norepinephrine infusion order (a rate) coded by the 1 mg/mL vial's "
            "RxNorm product (242969): vasoactive support by code.",
            [*SEVERE, infusion_order("rx-1", NOREPINEPHRINE_VIAL)],
            CRITICAL_SHOCK,
            not_contains={"mechanical-support": ["verify"]},
        ),
        case(
            "running_name_only_milrinone_infusion",
            "A running infusion named 'Milrinone lactate 20 mg in 100 mL' with no code counts, "
            "with 'name match: verify' in the summary.",
            [*SEVERE, running_by_name("ma-1", "Milrinone lactate 20 mg in 100 mL dextrose 5% infusion")],
            CRITICAL_SHOCK,
            summary={"mechanical-support": ["(name match: verify)"]},
        ),
        case(
            "running_name_only_norepinephrine_order_without_rate",
            "A norepinephrine order named only in text, with no rate: not running, never counted.",
            [*SEVERE, infusion_order("rx-1", None, text="Norepinephrine 4 mg injection", rate=None)],
            info(*STABLE),
        ),
        # --- medical therapy -----------------------------------------------------------------
        case(
            "medical_therapy_nitroprusside_running_in_hypotension",
            "SBP 78 with a nitroprusside infusion running: medical therapy is critical and names it.",
            [*SEVERE, k.sbp("bp-1", 78, at(hours=1)), running("ma-1", NITROPRUSSIDE)],
            {"mechanical-support": "critical", "medical-therapy": "critical", "surgical-repair": "info"},
            summary={"medical-therapy": ["SBP 78 with nitroprusside running: review the vasodilator"]},
        ),
        case(
            "medical_therapy_nitroprusside_running_sbp_118",
            "A nitroprusside infusion running at SBP 118: no hypotension, medical therapy stays info.",
            [*SEVERE, k.sbp("bp-1", 118, at(hours=1)), running("ma-1", NITROPRUSSIDE)],
            info(*STABLE),
            {"medical-therapy": ["IV vasodilator: Nitroprusside infusion running"]},
        ),
        case(
            "medical_therapy_nitroglycerin_patch_in_hypotension_is_not_critical",
            "SBP 80 with a nitroglycerin patch on (transdermal): not an IV vasodilator infusion, so "
            "not critical.",
            [
                *SEVERE,
                k.sbp("bp-1", 80, at(hours=1)),
                by_route(running("ma-1", k.NITROGLYCERIN), TRANSDERMAL),
            ],
            CRITICAL_SHOCK,
            summary={"medical-therapy": ["unstable: vasodilators need caution"]},
        ),
        case(
            "medical_therapy_nitroglycerin_order_without_rate_in_hypotension",
            "SBP 80 with a nitroglycerin order that is not an infusion (no rate): caution, not critical.",
            [*SEVERE, k.sbp("bp-1", 80, at(hours=1)), k.med_request("rx-1", k.NITROGLYCERIN)],
            CRITICAL_SHOCK,
            summary={"medical-therapy": ["unstable: vasodilators need caution (nitroglycerin active)"]},
        ),
        case(
            "medical_therapy_candesartan_product_order_in_hypotension",
            "SBP 84 with a product-coded candesartan order (RxNorm 639537): a warning naming candesartan.",
            [*SEVERE, k.sbp("bp-1", 84, at(hours=1)), k.med_request("rx-1", CANDESARTAN_32)],
            {"mechanical-support": "critical", "medical-therapy": "warning", "surgical-repair": "info"},
            summary={"medical-therapy": ["SBP 84 with candesartan ordered: review or hold it"]},
        ),
        case(
            "medical_therapy_outpatient_lisinopril_in_hypotension",
            "SBP 84 with an outpatient lisinopril order: not the inpatient warning, the caution stays.",
            [
                *SEVERE,
                k.sbp("bp-1", 84, at(hours=1)),
                {
                    **k.med_request("rx-1", LISINOPRIL_10),
                    "category": [{"coding": [{"system": CATEGORY, "code": "outpatient"}]}],
                },
            ],
            CRITICAL_SHOCK,
            summary={"medical-therapy": ["unstable: vasodilators need caution (lisinopril active)"]},
        ),
        case(
            "medical_therapy_lactate_4_caution_names_lisinopril",
            "Lactate 4.2 (unstable, not hypotensive) on lisinopril: the summary carries the caution.",
            [
                *SEVERE,
                k.lab("lac-1", "lactate", 4.2, "mmol/L", at(hours=1)),
                k.med_request("rx-1", LISINOPRIL_10),
            ],
            CRITICAL_SHOCK,
            summary={"medical-therapy": ["unstable: vasodilators need caution (lisinopril active)"]},
        ),
        case(
            "medical_therapy_sacubitril_valsartan_product_order",
            "A sacubitril/valsartan tablet order (RxNorm 1656349) fills the ACE inhibitor or ARB line, "
            "named by ingredient.",
            [*SEVERE, k.med_request("rx-1", SACUBITRIL_VALSARTAN_49_51)],
            info(*STABLE),
            {"medical-therapy": ["ACE inhibitor or ARB: Sacubitril/valsartan ordered (active)"]},
        ),
        case(
            "medical_therapy_product_coded_furosemide_is_active",
            "Heart failure with a furosemide 40 mg tablet order (RxNorm 313988): matched by code, "
            "called active in summary and detail alike.",
            [*SEVERE, k.condition("hf-1", k.HEART_FAILURE), k.med_request("rx-1", FUROSEMIDE_40_TABLET)],
            info(*STABLE),
            {"medical-therapy": ["Loop diuretic: Furosemide ordered (active)"]},
            summary={"medical-therapy": ["active: loop diuretic"]},
        ),
    ]


def demos(case: Any, person: Any) -> list[Any]:
    return [
        case(
            "21-vasodilator-in-hypotension",
            "Severe MR, SBP 78 mmHg with a nitroprusside infusion running and heart failure on "
            "furosemide: medical therapy is critical ('SBP 78 with nitroprusside running: review the "
            "vasodilator') beside the mechanical-support card.",
            [
                *SEVERE,
                k.condition("hf-1", k.HEART_FAILURE),
                k.sbp("bp-1", 78, at(hours=1)),
                running("ma-1", NITROPRUSSIDE, hours=3),
                k.med_request("rx-2", k.FUROSEMIDE),
            ],
            {"mechanical-support": "critical", "medical-therapy": "critical", "surgical-repair": "info"},
            summary={"medical-therapy": ["SBP 78 with nitroprusside running: review the vasodilator"]},
            pid="demo-vasodilator-hypotension",
            patient=person("demo-vasodilator-hypotension", "Mensah", "Kofi", "male", "1953-04-11"),
        ),
        case(
            "22-running-name-only-infusion",
            "Severe MR, lactate 3.1 mmol/L and an infusion running that the EHR names only in text "
            "('Norepinephrine 8 mg in 250 mL'): it counts as vasoactive support, and the critical "
            "card says 'name match: verify'.",
            [
                *SEVERE,
                k.lab("lac-1", "lactate", 3.1, "mmol/L", at(hours=2)),
                running_by_name("ma-1", "Norepinephrine 8 mg in 250 mL sodium chloride 0.9% infusion"),
            ],
            CRITICAL_SHOCK,
            summary={"mechanical-support": ["(name match: verify)"]},
            pid="demo-name-only-infusion",
            patient=person("demo-name-only-infusion", "Varga", "Ilona", "female", "1959-10-23"),
        ),
    ]
