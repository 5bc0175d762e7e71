"""A site's own codes (MRCDS_VALUESETS_DIR): files in the shipped value-set format, each
adding its codes to the shipped value set its id names, checked before anything uses them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fhir_mappings.valuesets import (
    load_site_codes,
    shipped_value_sets,
    site_file_of,
    use_site_codes,
    value_set,
    value_sets_of,
)

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "site-codes"
WHO_ICD10 = "http://hl7.org/fhir/sid/icd-10"
WHO_MR = {"system": WHO_ICD10, "code": "I34.0"}


@pytest.fixture(autouse=True)
def shipped_codes_after() -> Iterator[None]:
    yield
    use_site_codes(None)


def site_file(folder: Path, name: str, doc: Any) -> Path:
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc), encoding="utf-8")
    return path


def code(**overrides: str) -> dict[str, str]:
    entry = {
        "system": "urn:oid:1.2.3.4.5",
        "code": "LOCAL-42",
        "display": "Local lactate",
        "source": "Lab manual 2026",
    }
    entry.update(overrides)
    return entry


def test_the_example_file_adds_the_who_icd10_code_to_mitral_regurgitation() -> None:
    site = load_site_codes(EXAMPLE)
    assert [(f.name, f.value_set_id, f.added) for f in site.files] == [
        ("mitral-regurgitation-who-icd10.json", "mitral-regurgitation", 1)
    ]
    assert value_set("mitral-regurgitation").match([WHO_MR]) is None  # not in use yet
    use_site_codes(str(EXAMPLE))
    hit = value_set("mitral-regurgitation").match([WHO_MR])
    assert hit is not None
    assert hit.site_file == "mitral-regurgitation-who-icd10.json"
    assert "mitral-regurgitation" in value_sets_of([WHO_MR])
    assert site_file_of(WHO_ICD10, "I34.0") == "mitral-regurgitation-who-icd10.json"


def test_shipped_codes_stay_and_are_not_marked_as_site_codes() -> None:
    use_site_codes(str(EXAMPLE))
    shipped = shipped_value_sets()["mitral-regurgitation"].codes
    in_use = value_set("mitral-regurgitation").codes
    assert in_use[: len(shipped)] == shipped
    assert site_file_of("http://hl7.org/fhir/sid/icd-10-cm", "I34.0") is None


def test_going_back_to_no_folder_removes_the_site_codes() -> None:
    use_site_codes(str(EXAMPLE))
    use_site_codes(None)
    assert value_set("mitral-regurgitation").match([WHO_MR]) is None
    assert value_sets_of([WHO_MR]) == frozenset()


def test_any_shipped_value_set_takes_site_codes(tmp_path: Path) -> None:
    for vs_id in shipped_value_sets():
        site_file(tmp_path, f"{vs_id}.json", {"id": vs_id, "codes": [code(code=f"LOCAL-{vs_id}")]})
    site = use_site_codes(str(tmp_path))
    assert site is not None
    assert len(site.files) == len(shipped_value_sets())
    for vs_id in shipped_value_sets():
        assert value_set(vs_id).match([{"system": "urn:oid:1.2.3.4.5", "code": f"LOCAL-{vs_id}"}])


def test_a_code_already_listed_is_not_added_twice(tmp_path: Path) -> None:
    shipped = shipped_value_sets()["mitral-regurgitation"].codes[0]
    site_file(
        tmp_path,
        "a.json",
        {"id": "mitral-regurgitation", "codes": [code(system=shipped.system, code=shipped.code)]},
    )
    site = load_site_codes(tmp_path)
    assert site.files[0].added == 0


def test_an_empty_folder_adds_nothing(tmp_path: Path) -> None:
    assert load_site_codes(tmp_path).files == ()


@pytest.mark.parametrize(
    ("doc", "reason"),
    [
        (
            {"id": "mitral-regurgitaton", "codes": [code()]},
            "site.json: id 'mitral-regurgitaton' is not a shipped value set",
        ),
        ({"codes": [code()]}, "site.json: id missing is not a shipped value set"),
        (
            {"id": "lactate", "codes": [{k: v for k, v in code().items() if k != "source"}]},
            "site.json: codes[0] has no source",
        ),
        ({"id": "lactate", "codes": [code(source=" ")]}, "site.json: codes[0] has no source"),
        ({"id": "lactate", "codes": [code(code="")]}, "site.json: codes[0] has no code"),
        ({"id": "lactate", "codes": [code(system="LOCAL")]}, "site.json: codes[0]: system must be a URI"),
        ({"id": "lactate", "codes": []}, "site.json: 'codes' must be a non-empty list"),
        (["lactate"], "site.json: must hold a JSON object"),
        ('{"id": "lactate", "codes": [', "site.json: is not valid JSON (line 1, column 29)"),
    ],
)
def test_a_bad_site_file_is_refused_with_its_name_and_reason(tmp_path: Path, doc: Any, reason: str) -> None:
    site_file(tmp_path, "site.json", doc)
    with pytest.raises(ValueError) as caught:
        load_site_codes(tmp_path)
    assert str(caught.value).startswith(reason)
    assert "\n" not in str(caught.value)


def test_a_bad_folder_is_refused_and_the_codes_in_use_do_not_change(tmp_path: Path) -> None:
    use_site_codes(str(EXAMPLE))
    with pytest.raises(ValueError, match="is not a folder"):
        use_site_codes(str(tmp_path / "missing"))
    assert value_set("mitral-regurgitation").match([WHO_MR]) is not None
