"""Site codes through the service's real path: a WHO ICD-10 code for MR added through
MRCDS_VALUESETS_DIR (examples/site-codes/) changes a card, is asked for in discovery's
prefetch template, is marked by --explain and listed by /readyz; a bad folder stops start-up."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from cds_service.calls.demo import shift_times
from cds_service.cli import mr_cds as cli
from fhir_mappings.valuesets import use_site_codes
from tests.conftest import SERVICE_URL, load_json
from tests.serving import serve_expecting_exit

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "site-codes"
NEEDS_ECHO = ROOT / "examples" / "patients" / "06-mr-needs-echo.json"
#: Demo patient 06's MR Condition (demo resource ids start with the patient's id).
MR_ID = "demo-needs-echo-mr-1"
WHO_MR = {
    "system": "http://hl7.org/fhir/sid/icd-10",
    "code": "I34.0",
    "display": "Mitral (valve) insufficiency",
}


@pytest.fixture(autouse=True)
def shipped_codes_after(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("MRCDS_VALUESETS_DIR", raising=False)
    yield
    use_site_codes(None)


def who_coded_mr_patient() -> dict[str, Any]:
    """Demo patient 06 (MR on the problem list, no recent echo: a grade-severity card), its
    MR Condition coded in WHO ICD-10 only, as a hospital outside the US would send it."""
    body: dict[str, Any] = load_json(NEEDS_ECHO)
    (mr,) = [e["resource"] for e in body["prefetch"]["conditions"]["entry"] if e["resource"]["id"] == MR_ID]
    mr["code"] = {"coding": [WHO_MR], "text": WHO_MR["display"]}
    return body


def topics(response: dict[str, Any]) -> list[str]:
    return [card["source"]["topic"]["code"] for card in response["cards"]]


def post(app: Flask, body: dict[str, Any]) -> dict[str, Any]:
    with app.test_client().post(SERVICE_URL, json=shift_times(body, datetime.now(UTC))) as response:
        assert response.status_code == 200, response.get_data(as_text=True)
        answer: dict[str, Any] = response.get_json()
    return answer


def test_a_who_icd10_mr_code_gives_no_card_with_the_shipped_codes(make_app: Callable[..., Flask]) -> None:
    assert topics(post(make_app(warm_up=False), who_coded_mr_patient())) == []


def test_the_site_code_makes_the_mr_condition_count_and_the_card_appear(
    make_app: Callable[..., Flask],
) -> None:
    app = make_app(warm_up=False, valuesets_dir=str(EXAMPLE))
    response = post(app, who_coded_mr_patient())
    assert topics(response) == ["grade-severity"]
    card = response["cards"][0]
    assert "MR on the problem list" in card["detail"]
    assert f'"reasonReference": [{{"reference": "Condition/{MR_ID}"}}]' in json.dumps(card)


def test_discovery_asks_the_ehr_for_the_site_code(make_app: Callable[..., Flask]) -> None:
    token = "http://hl7.org/fhir/sid/icd-10|I34.0"
    shipped = make_app(warm_up=False).test_client().get("/cds-services").get_json()
    assert token not in shipped["services"][0]["prefetch"]["conditions"]
    with_site = (
        make_app(warm_up=False, valuesets_dir=str(EXAMPLE)).test_client().get("/cds-services").get_json()
    )
    assert token in with_site["services"][0]["prefetch"]["conditions"]


def test_readyz_lists_the_site_files_in_use(make_app: Callable[..., Flask]) -> None:
    response = make_app(warm_up=False, valuesets_dir=str(EXAMPLE)).test_client().get("/readyz")
    assert response.status_code == 200
    assert response.get_json()["siteCodes"] == [
        {"file": "mitral-regurgitation-who-icd10.json", "valueSet": "mitral-regurgitation", "codesAdded": 1}
    ]


def test_explain_marks_the_site_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    request = tmp_path / "who.json"
    request.write_text(json.dumps(who_coded_mr_patient()), encoding="utf-8")
    monkeypatch.setenv("MRCDS_VALUESETS_DIR", str(EXAMPLE))
    assert cli.main(["evaluate", str(request), "--explain"]) == 0
    text = capsys.readouterr().out
    assert (
        f"Condition/{MR_ID}, 2024-12-11 10:30 UTC [site code http://hl7.org/fhir/sid/icd-10|I34.0, "
        "from MRCDS_VALUESETS_DIR mitral-regurgitation-who-icd10.json]"
    ) in text
    assert cli.main(["evaluate", str(request), "--explain", "--format", "json"]) == 0
    explain = json.loads(capsys.readouterr().out)["explain"]
    evidence = [ev for rule in explain for check in rule["checks"] for ev in check["evidence"]]
    assert {ev["siteFile"] for ev in evidence if ev["reference"] == f"Condition/{MR_ID}"} == {
        "mitral-regurgitation-who-icd10.json"
    }
    assert {ev["siteFile"] for ev in evidence if ev["reference"] != f"Condition/{MR_ID}"} <= {None}


def test_a_bad_site_file_stops_serve_with_one_line_naming_the_variable(tmp_path: Path) -> None:
    folder = tmp_path / "site-codes"
    folder.mkdir()
    (folder / "local-lactate.json").write_text(
        json.dumps(
            {"id": "lactate", "codes": [{"system": "urn:oid:1.2.3", "code": "L1", "display": "Lactate"}]}
        ),
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("MRCDS_")}
    env.update({"MRCDS_VALUESETS_DIR": str(folder), "XDG_DATA_HOME": str(tmp_path)})
    done = serve_expecting_exit(env)
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "mr-cds: MRCDS_VALUESETS_DIR: local-lactate.json: codes[0] has no source "
        "(every site code names the public or local source it was checked against)"
    ]
