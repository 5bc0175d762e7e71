"""docs/data-requirements.md is generated from the data files and must be up to date."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from fhir_mappings.docgen import DOC, facts_table, render
from fhir_mappings.thresholds import default_thresholds, documented_defaults
from fhir_mappings.valuesets import all_value_sets

ROOT = Path(__file__).resolve().parents[2]


def test_committed_document_matches_the_generator() -> None:
    committed = (ROOT / DOC).read_text(encoding="utf-8")
    assert committed == render(), "run: python -m fhir_mappings.docgen"


def test_document_lists_every_code_and_threshold() -> None:
    text = render()
    for vs in all_value_sets().values():
        assert f"### `{vs.id}`" in text
        for code in vs.codes:
            assert f"`{code.code}`" in text
    for threshold in documented_defaults():
        assert f"`{threshold.name}`" in text


def test_document_says_how_to_send_the_echo_grade() -> None:
    text = render()
    assert "## How to send the echo MR grade" in text
    assert '"code": "48724000"' in text


def test_windows_in_the_facts_table_follow_the_thresholds() -> None:
    shorter = replace(default_thresholds(), echo_grade_window_days=180, vitals_window_hours=12)
    rules = {name: rule for name, _, rule in facts_table(shorter)}
    assert "within 180 days" in rules["mr_grade"]
    assert "within 12 h" in rules["hypotension"]
