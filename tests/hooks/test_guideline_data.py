"""The guideline data file is complete and consistent with the rules and the spec."""

from __future__ import annotations

from string import Formatter

from fhir_mappings.procedures import DEVICE_TYPES, SUPPORT_SEARCH, VV_ECMO
from fhir_mappings.valuesets import all_value_sets
from hooks.guideline import guideline
from hooks.rules import RULES

G = guideline()
PUBMED = (
    "https://pubmed.ncbi.nlm.nih.gov/?term=%22Severe%20mitral%20regurgitation%20requiring%20ECMO%20therapy"
    "%20treated%20by%20interventional%20valve%20reconstruction%20using%20the%20MitraClip%22"
)


def slots(template: str) -> set[str]:
    return {name for _, name, _, _ in Formatter().parse(template) if name}


def test_every_rule_has_a_recommendation_and_back_in_spec_order() -> None:
    assert [r.id for r in G.recommendations] == [rule_id for rule_id, _ in RULES]


def test_spec_indicators() -> None:
    assert {r.id: r.indicator for r in G.recommendations} == {
        "acute-mr-emergency": "critical",
        "mechanical-support": "critical",
        "transcatheter-repair": "warning",
        "surgical-repair": "info",
        "medical-therapy": "info",
        "on-mechanical-support": "info",
        "grade-severity": "info",
    }
    assert G.recommendation("medical-therapy").indicator_when_untreated_symptoms == "warning"


def test_last_summary_of_every_variant_has_no_slots_and_fits() -> None:
    for rec in G.recommendations:
        assert "default" in rec.summaries
        for templates in rec.summaries.values():
            assert not slots(templates[-1]), rec.id
            assert len(templates[-1]) < 140, rec.id


def test_reference_link_is_the_pubmed_title_search_and_education_link_is_aha() -> None:
    assert G.references["guideline"].url == PUBMED
    education = G.references["patient_education"].url
    assert education is not None
    assert education.startswith("https://www.heart.org/")
    assert [r.links for r in G.recommendations if "patient_education" in r.links] == [
        ("guideline", "patient_education"),
        ("guideline", "patient_education"),
    ]


def test_value_set_ids_named_by_the_data_file_exist() -> None:
    known = set(all_value_sets())
    named = {
        *G.trigger_value_sets,
        *(vs for group in G.first_line_classes for vs in group),
        *G.vasodilator_classes,
        G.loop_diuretic_class,
    }
    assert named <= known
    labelled = {
        *G.trigger_value_sets,
        *(v for grp in G.first_line_classes for v in grp),
        *SUPPORT_SEARCH,
        *DEVICE_TYPES,
        VV_ECMO,
    }
    assert labelled <= set(G.value_set_labels)


def test_echo_order_code_is_in_its_value_set() -> None:
    rec = G.recommendation("grade-severity")
    assert rec.suggestion is not None
    codes = {c.code for c in all_value_sets()[rec.suggestion.value_set].codes}
    assert rec.suggestion.code == "433236007"
    assert rec.suggestion.code in codes


def test_texts_never_say_indicated_or_give_doses() -> None:
    words = " ".join(
        [*G.texts.values(), *(r.consider for r in G.recommendations)]
        + [t for r in G.recommendations for ts in r.summaries.values() for t in ts]
    ).lower()
    assert " is indicated" not in words
    assert " mg" not in words


def test_override_reasons_have_codes_and_displays() -> None:
    assert [(r.code, bool(r.display)) for r in G.override_reasons] == [
        ("already-addressed", True),
        ("patient-declined", True),
        ("not-appropriate", True),
        ("data-out-of-date", True),
    ]
