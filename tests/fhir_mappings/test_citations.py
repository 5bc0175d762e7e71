"""Every citation in the data files points to a primary source or to docs/clinical-rules.md.

Users' clones have no shared planning folder, so a data file may not cite the project's
planning documents, and a source cut off with "..." cannot be checked by anyone.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
RULES_DOC = ROOT / "docs" / "clinical-rules.md"

#: Data files whose citations are checked.
DATA_FILES = [*sorted((ROOT / "fhir_mappings").rglob("*.json")), ROOT / "hooks" / "guideline.json"]

#: Documents that exist only in the planning folder, never in a user's clone.
PLANNING_DOCUMENT = re.compile(r"terminology\.md|clinical-spec|\bshared\b|\bseeds?\b", re.IGNORECASE)
CUT_OFF = re.compile(r"(\.\.\.|\u2026)\s*\)?$")
DOC_SECTION = re.compile(r"docs/clinical-rules\.md, section '([^']+)'")


def strings(node: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """Every string in a JSON document with its path, keys included."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield f"{path}/{key}", key
            yield from strings(value, f"{path}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from strings(value, f"{path}/{i}")
    elif isinstance(node, str):
        yield path, node


def headings(markdown: str) -> set[str]:
    return {line.lstrip("#").strip() for line in markdown.splitlines() if line.startswith("#")}


def citation_problems(doc: Any, sections: set[str]) -> list[str]:
    """What is wrong with the citations in one parsed data file."""
    found: list[str] = []
    for path, text in strings(doc):
        if PLANNING_DOCUMENT.search(text):
            found.append(f"{path}: cites a planning document: {text!r}")
        if path.endswith("/source") and CUT_OFF.search(text):
            found.append(f"{path}: source cut off with '...': {text!r}")
        for section in DOC_SECTION.findall(text):
            if section not in sections:
                found.append(f"{path}: docs/clinical-rules.md has no section {section!r}")
    return found


@pytest.fixture(scope="module")
def sections() -> set[str]:
    return headings(RULES_DOC.read_text(encoding="utf-8"))


def test_the_data_files_are_found() -> None:
    names = {p.name for p in DATA_FILES}
    assert {"thresholds.json", "mr_grade_map.json", "prefetch_keys.json", "ecmo-circulatory.json"} <= names


@pytest.mark.parametrize("path", DATA_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_data_file_cites_only_primary_sources_or_the_rules_doc(path: Path, sections: set[str]) -> None:
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert citation_problems(doc, sections) == []


def test_a_citation_of_the_planning_terminology_file_is_caught() -> None:
    doc = {"codes": [{"source": "shared terminology.md, copied 2026-11-22"}]}
    assert len(citation_problems(doc, set())) == 1


def test_a_citation_of_the_clinical_spec_is_caught() -> None:
    assert citation_problems({"source": "clinical-spec.md section 1: latest SBP within 24 h"}, set())


def test_a_source_cut_off_with_three_dots_is_caught() -> None:
    doc = {"codes": [{"source": "VSAC value set 'Kidney Failure' [2.16.840.1.113883.3.464..."}]}
    assert citation_problems(doc, set()) == [
        "/codes/0/source: source cut off with '...': "
        "\"VSAC value set 'Kidney Failure' [2.16.840.1.113883.3.464...\""
    ]


def test_a_source_cut_off_with_an_ellipsis_character_is_caught() -> None:
    assert citation_problems({"source": "github hl7germany/fors\u2026"}, set())


def test_a_citation_of_a_missing_rules_section_is_caught(sections: set[str]) -> None:
    doc = {"source": "docs/clinical-rules.md, section 'No such rule'"}
    assert citation_problems(doc, sections) == [
        "/source: docs/clinical-rules.md has no section 'No such rule'"
    ]


def test_a_citation_of_an_existing_rules_section_passes(sections: set[str]) -> None:
    assert citation_problems({"source": "docs/clinical-rules.md, section 'Hypotension'"}, sections) == []
