"""docs/integration.md stays true: every code system of the shipped value sets is listed,
every prefetch key's resource has its SMART scopes, every setting it names exists, and its
links lead to files of the repository."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cds_service.calls.services import registry
from cds_service.core.settings import settings_table
from fhir_mappings.requirements import PrefetchKey
from fhir_mappings.valuesets import load_site_codes, shipped_value_sets

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "integration.md"


def text() -> str:
    return DOC.read_text(encoding="utf-8")


def test_every_code_system_of_the_shipped_value_sets_is_listed() -> None:
    systems = {c.system for vs in shipped_value_sets().values() for c in vs.codes}
    listed = set(re.findall(r"^\| `([^`]+)` \|", text(), flags=re.M))
    assert systems <= listed, f"add to docs/integration.md section 4: {sorted(systems - listed)}"


KEYS = [k for service in registry().values() for k in service.prefetch_keys]


@pytest.mark.parametrize("key", KEYS, ids=[k.key for k in KEYS])
def test_every_prefetch_key_has_its_smart_scopes(key: PrefetchKey) -> None:
    row = next((line for line in text().splitlines() if f"`{key.key}`" in line and "patient/" in line), None)
    assert row is not None, key.key
    assert f"`patient/{key.resource_type}.read`" in row
    assert f"`patient/{key.resource_type}.r" in row


def test_every_setting_it_names_exists() -> None:
    named = set(re.findall(r"\bMRCDS_[A-Z_]+[A-Z]\b", text()))
    known = {variable for variable, _, _ in settings_table()}
    assert named <= known, named - known


def test_its_links_lead_to_files_of_the_repository() -> None:
    for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", text()):
        assert (DOC.parent / target).resolve().exists(), target


def test_the_site_code_example_in_the_doc_is_the_shipped_example_and_loads(tmp_path: Path) -> None:
    match = re.search(r"```json\n(\{.+?\})\n```", text(), flags=re.S)
    assert match
    (tmp_path / "site.json").write_text(match.group(1), encoding="utf-8")
    site = load_site_codes(tmp_path)
    example = load_site_codes(ROOT / "examples" / "site-codes")
    assert [(c.system, c.code) for c in site.added["mitral-regurgitation"]] == [
        (c.system, c.code) for c in example.added["mitral-regurgitation"]
    ]
