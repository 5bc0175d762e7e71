"""``mr-cds evaluate`` and ``mr-cds demo``: same code path as HTTP, exit statuses, output."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cds_service.calls.demo import DEMO_EXTENSION
from cds_service.calls.schemas import validate_response
from cds_service.cli import mr_cds as cli

ROOT = Path(__file__).resolve().parents[2]
DEMOS = ROOT / "examples" / "patients"
SHOCK = DEMOS / "02-cardiogenic-shock.json"
NEEDS_ECHO = DEMOS / "06-mr-needs-echo.json"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("MRCDS_THRESHOLDS_FILE", "MRCDS_FHIR_ALLOWLIST", "MRCDS_AUTH"):
        monkeypatch.delenv(name, raising=False)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = cli.main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def topics(response: dict[str, Any]) -> list[str]:
    return [c["source"]["topic"]["code"] for c in response["cards"]]


def test_json_output_is_a_valid_response_with_the_demo_cards(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, "evaluate", str(SHOCK), "--format", "json")
    assert (status, err) == (0, "")
    response = json.loads(out)
    validate_response(response)
    assert topics(response) == ["mechanical-support", "medical-therapy", "surgical-repair"]


def test_text_output_lists_cards_and_the_evaluation_time(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "evaluate", str(SHOCK))
    assert status == 0
    assert out.startswith(
        "Patient demo-shock, as of 2026-01-15 10:30 UTC (the demo request's asOf): 3 card(s)"
    )
    assert "1. [CRITICAL] mechanical-support" in out
    assert "Rules of clinical-spec.md" not in out


def test_explain_shows_every_rule_fired_or_not(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "evaluate", str(SHOCK), "--explain")
    assert status == 0
    assert out.count("FIRED      ") == 3
    assert out.count("not fired  ") == 4
    assert "[x] severe_mr -- Severe MR" in out
    assert "(SBP 78 mm[Hg] < 90 mm[Hg]); Observation/demo-shock-bp-1, 2026-01-15 09:30 UTC" in out


def test_explain_json(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "evaluate", str(NEEDS_ECHO), "--explain", "--format", "json")
    assert status == 0
    data = json.loads(out)
    validate_response(data["response"])
    assert [r["id"] for r in data["explain"] if r["fired"]] == ["grade-severity"]
    assert len(data["explain"]) == 7


def test_now_overrides_as_of(capsys: pytest.CaptureFixture[str]) -> None:
    # Two days later the blood pressure, lactate and support windows (24 h) have passed.
    status, out, _ = run(capsys, "evaluate", str(SHOCK), "--now", "2026-01-17T10:30:00Z", "--format", "json")
    assert status == 0
    assert "mechanical-support" in topics(json.loads(out))  # the shock Condition is still active
    status, out, _ = run(capsys, "evaluate", str(SHOCK), "--now", "2026-01-17T10:30:00Z")
    assert "as of 2026-01-17 10:30 UTC (--now)" in out


def test_without_as_of_the_clock_is_used(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    body = json.loads(NEEDS_ECHO.read_text(encoding="utf-8"))
    del body["extension"]
    path = tmp_path / "request.json"
    path.write_text(json.dumps(body), encoding="utf-8")
    status, out, _ = run(capsys, "evaluate", str(path))
    assert status == 0
    assert "(the clock)" in out


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (None, "cannot read"),
        ("{not json", "is not valid JSON"),
        ("[1, 2]", "is not a JSON object"),
        ('{"hook": "patient-view"}', "missing required field"),
    ],
)
def test_invalid_input_exits_2_with_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, content: str | None, reason: str
) -> None:
    path = tmp_path / "request.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    status, out, err = run(capsys, "evaluate", str(path))
    assert status == 2
    assert out == ""
    assert err.startswith("mr-cds evaluate: ")
    assert reason in err
    assert err.count("\n") == 1
    assert "Traceback" not in err


@pytest.mark.parametrize("now", ["yesterday", "2026-01-15T10:30:00", "2026-13-01T00:00:00Z"])
def test_bad_now_exits_2(capsys: pytest.CaptureFixture[str], now: str) -> None:
    status, _, err = run(capsys, "evaluate", str(SHOCK), "--now", now)
    assert status == 2
    assert "--now" in err
    assert err.count("\n") == 1


def test_required_data_unavailable_exits_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    body = json.loads(SHOCK.read_text(encoding="utf-8"))
    del body["prefetch"]["conditions"]
    path = tmp_path / "request.json"
    path.write_text(json.dumps(body), encoding="utf-8")
    status, _, err = run(capsys, "evaluate", str(path))
    assert status == 2
    assert "conditions" in err
    assert err.count("\n") == 1


def test_wrong_hook_exits_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    body = json.loads(SHOCK.read_text(encoding="utf-8"))
    body["hook"] = "encounter-start"  # a hook no service here answers
    path = tmp_path / "request.json"
    path.write_text(json.dumps(body), encoding="utf-8")
    status, _, err = run(capsys, "evaluate", str(path))
    assert status == 2
    assert "hook" in err


def test_demo_shifts_times_and_the_cards_stay_the_same(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    status, out, _ = run(capsys, "demo", str(SHOCK), "--now", "2031-07-04T12:00:00Z")
    assert status == 0
    shifted = json.loads(out)
    assert DEMO_EXTENSION not in shifted.get("extension", {})
    path = tmp_path / "shifted.json"
    path.write_text(out, encoding="utf-8")
    status, out, _ = run(capsys, "evaluate", str(path), "--now", "2031-07-04T12:00:00Z", "--format", "json")
    assert status == 0
    assert topics(json.loads(out)) == ["mechanical-support", "medical-therapy", "surgical-repair"]


def test_demo_of_unreadable_file_exits_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    status, _, err = run(capsys, "demo", str(tmp_path / "missing.json"))
    assert status == 2
    assert err.startswith("mr-cds demo: cannot read")


def test_internal_error_exits_1_without_traceback(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from cds_service.cli import evaluate as evaluate_cli

    def boom(*_: Any, **__: Any) -> Any:
        raise RuntimeError("patient secret")

    monkeypatch.setattr(evaluate_cli, "run_hook_detailed", boom)
    status, _, err = run(capsys, "evaluate", str(SHOCK))
    assert status == 1
    assert err == "mr-cds evaluate: internal error (RuntimeError)\n"


@pytest.mark.parametrize("path", sorted(DEMOS.glob("*.json")), ids=lambda p: p.stem)
def test_every_demo_patient_evaluates(capsys: pytest.CaptureFixture[str], path: Path) -> None:
    status, out, _ = run(capsys, "evaluate", str(path), "--explain", "--format", "json")
    assert status == 0
    data = json.loads(out)
    validate_response(data["response"])
    assert sorted(r["id"] for r in data["explain"] if r["fired"]) == sorted(topics(data["response"]))


def test_request_from_stdin(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO(NEEDS_ECHO.read_text(encoding="utf-8")))
    status, out, _ = run(capsys, "evaluate", "-", "--format", "json")
    assert status == 0
    assert topics(json.loads(out)) == ["grade-severity"]
