"""Every demo and scenario card reads in ten seconds, in clinical words.

Renders every card of every scenario and demo patient and fails on any form a clinician
cannot use at the bedside: raw units, LOINC long names, SNOMED semantic tags, resource
ids, value-set ids, guideline shorthand, the cut-offs paragraph or a repeated link.
"""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any

import pytest

from cds_service.calls.demo import as_of
from fhir_mappings.valuesets import all_value_sets
from hooks.text import plain
from tests.hooks.cases import DEMO_DIR, DEMOS
from tests.hooks.test_scenarios import SCENARIOS, evaluate

#: A card aims for under 700 characters; above 1,000 a detail is a wall of text.
DETAIL_LIMIT = 1000
RESOURCE_TYPES = (
    "Observation|Condition|Procedure|Device|DeviceUseStatement|MedicationRequest|"
    "MedicationAdministration|Medication|Patient"
)
FORBIDDEN = {
    "UCUM code": re.compile(r"mm\[Hg\]|10\*3|10\*9|\{grade\}"),
    "LOINC long name": re.compile(r"\[(Mass|Moles|#)/volume\]|Serum or Plasma|by Automated count"),
    "SNOMED semantic tag": re.compile(r"\((disorder|procedure|finding|physical object|qualifier value)\)"),
    "resource id": re.compile(rf"\b({RESOURCE_TYPES})/[A-Za-z0-9\-.]+"),
    "guideline shorthand": re.compile(r"\bG, key recommendation|(^|\s)A: |\bG: "),
    "cut-offs paragraph": re.compile(r"Cut-offs \(shown with each value\)"),
    "URL in the detail": re.compile(r"https?://"),
    "Markdown escape": re.compile(r"\\[\\`*_\[\]#|~]"),
    "code-system name": re.compile(r"\b(SNOMED|LOINC|RxNorm|ICD-10|UCUM)\b"),
    # Spec 2.1: never an "and N more" line (the rest is in --explain).
    "and N more": re.compile(r"\band \d+ more\b"),
    # Computed numbers rounded as people write them: MAP 63, not 62.667; pressures whole.
    "unrounded decimal": re.compile(r"\d\.\d{3,}|\b(SBP|MAP|DBP) \d+\.\d|\d\.\d+ mmHg"),
    # Older than 30 days is a month and year ("March 2022"), never "1410 days ago".
    "N days ago over 30": re.compile(r"\b(3[1-9]|[4-9]\d|\d{3,}) days ago\b"),
    # "Not assessed" speaks clinically ("medication list could not be read"), spec 2.1.
    "server words": re.compile(r"(?i)\b(servers?|allowlist|prefetch\w*|OperationOutcome|FHIR|fetch\w*)\b"),
    # "for 3 days", never "since 3 days".
    "since N": re.compile(r"\bsince \d+ (min|h|days?)\b"),
}


@cache
def value_set_ids() -> re.Pattern[str]:
    # Ids with a hyphen ("heart-failure") are never words a card uses; "lactate" is.
    ids = sorted((i for i in all_value_sets() if "-" in i), key=len, reverse=True)
    return re.compile(r"(?<![\w-])(" + "|".join(map(re.escape, ids)) + r")(?![\w-])")


def every_card() -> list[tuple[str, dict[str, Any]]]:
    cards: list[tuple[str, dict[str, Any]]] = []
    for path in SCENARIOS:
        case = json.loads(path.read_text(encoding="utf-8"))
        cards += [(path.stem, c) for c in evaluate(case["request"], case["expect"]["now"])]
    for demo in DEMOS:
        request = json.loads((DEMO_DIR / f"{demo.name}.json").read_text(encoding="utf-8"))
        moment = as_of(request)
        assert moment is not None
        cards += [(demo.name, c) for c in evaluate(request, moment.isoformat())]
    return cards


CARDS = every_card()
IDS = [f"{name}:{card['source']['topic']['code']}" for name, card in CARDS]


def problems(text: str) -> list[str]:
    """Every forbidden form in a card's text, named."""
    found = [f"{what}: {m.group(0)!r}" for what, pattern in FORBIDDEN.items() if (m := pattern.search(text))]
    if m := value_set_ids().search(text):
        found.append(f"value-set id: {m.group(0)!r}")
    return found


def test_cards_are_rendered_for_every_recommendation() -> None:
    assert len(CARDS) > 100
    assert len({card["source"]["topic"]["code"] for _, card in CARDS}) == 7


@pytest.mark.parametrize(("name", "card"), CARDS, ids=IDS)
def test_card_has_no_forbidden_form(name: str, card: dict[str, Any]) -> None:
    assert problems(card["summary"] + "\n" + card["detail"]) == []


@pytest.mark.parametrize(("name", "card"), CARDS, ids=IDS)
def test_card_detail_stays_under_1000_characters(name: str, card: dict[str, Any]) -> None:
    assert len(card["detail"]) <= DETAIL_LIMIT


@pytest.mark.parametrize(("name", "card"), CARDS, ids=IDS)
def test_each_link_is_given_once_and_only_in_links(name: str, card: dict[str, Any]) -> None:
    urls = [link["url"] for link in card["links"]]
    assert len(urls) == len(set(urls))
    assert "url" not in card["source"]


@pytest.mark.parametrize(
    "text",
    [
        "SBP 78 mm[Hg] < 90 mm[Hg]",
        "Lactate [Moles/volume] in Serum or Plasma",
        "Mitral valve regurgitation (disorder)",
        "see `Observation/bp-1`",
        "active Condition in heart-failure",
        "G, key recommendation 2",
        "A: acute MR",
        "mm\\[Hg\\]",
        "- and 2 more",
        "MAP 62.667 mmHg (computed from the BP panel)",
        "SBP 89.5 mmHg, 1 h ago",
        "Lactate 13.3215 mmol/L",
        "Echo: severe MR (4+), 31 days ago",
        "MR on the problem list, onset 1410 days ago",
        "VA-ECMO running, since 2 days",
        "medication orders: the EHR could not fetch it (it sent an OperationOutcome)",
        "vital signs: not prefetched, and fetching from FHIR servers is turned off (empty allowlist)",
    ],
)
def test_each_forbidden_form_is_caught(text: str) -> None:
    assert problems(text)


def test_the_clinical_register_passes() -> None:
    assert (
        problems("- SBP 78 mmHg, 1 h ago\n- Lactate 4.2 mmol/L, 2 h ago\n- Heart failure on the problem list")
        == []
    )
    assert problems("- Echo: severe MR (4+), 30 days ago\n- MAP 63 mmHg\n- VA-ECMO running for 2 days") == []
    assert problems("- Creatinine 1.23 mg/dL, 6 h ago\n- Echo: severe MR (4+), March 2022") == []


def test_typical_detail_is_under_700_characters() -> None:
    lengths = sorted(len(card["detail"]) for _, card in CARDS)
    assert lengths[len(lengths) // 2] < 700  # the median card meets the spec's aim


@pytest.mark.parametrize(
    ("text", "shown"), [(">15 mmol/L", ">15 mmol/L"), ("<1.5", "<1.5"), ("<b>x</b>", "b>x/b>")]
)
def test_plain_keeps_a_comparator_but_never_opens_a_tag(text: str, shown: str) -> None:
    assert plain(text) == shown
