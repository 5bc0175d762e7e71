"""docs/clinical-rules.md keeps up with the rules and defaults the service ships."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOC = (ROOT / "docs" / "clinical-rules.md").read_text(encoding="utf-8")
GUIDELINE = json.loads((ROOT / "hooks" / "guideline.json").read_text(encoding="utf-8"))
THRESHOLDS = json.loads((ROOT / "fhir_mappings" / "thresholds.json").read_text(encoding="utf-8"))
VALUE_SET_IDS = sorted(p.stem for p in (ROOT / "fhir_mappings" / "valuesets").glob("*.json"))
SOURCES = (
    "Staudacher DL, Bode C, Wengenmayer T",
    "Cardiovasc Interv. 2019;94(1):29-37",
    "Intensive Care Med. 1996;22(7):707-710",
)


@pytest.mark.parametrize("recommendation", [r["id"] for r in GUIDELINE["recommendations"]])
def test_every_recommendation_has_a_heading_named_by_its_id(recommendation: str) -> None:
    assert f"\n### {recommendation}\n" in DOC


@pytest.mark.parametrize("key", sorted(THRESHOLDS["values"]))
def test_every_threshold_is_listed_with_its_shipped_default(key: str) -> None:
    default = json.dumps(THRESHOLDS["values"][key]["value"])
    assert re.search(rf"^\| `{key}` \| {re.escape(default)} \|", DOC, re.MULTILINE), (key, default)


@pytest.mark.parametrize("value_set", VALUE_SET_IDS)
def test_every_value_set_is_named_where_its_rule_is_described(value_set: str) -> None:
    assert f"`{value_set}`" in DOC


@pytest.mark.parametrize("source", SOURCES)
def test_the_primary_sources_are_cited_in_full(source: str) -> None:
    assert source in DOC


def test_the_settings_file_that_overrides_defaults_is_named() -> None:
    assert "`MRCDS_THRESHOLDS_FILE`" in DOC


def test_no_source_is_cut_off() -> None:
    assert "..." not in DOC
    assert "\u2026" not in DOC
