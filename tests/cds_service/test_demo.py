"""Demo requests: shifting FHIR times to the present keeps every interval the same."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from flask.testing import FlaskClient

from cds_service.calls.demo import DEMO_EXTENSION, as_of, parse_instant, shift_times
from cds_service.calls.schemas import validate_response
from tests.conftest import SERVICE_URL
from tests.hooks.cases import DEMO_DIR, DEMOS

AS_OF = "2026-01-15T10:30:00Z"


def demo(prefetch: dict[str, Any], **extension: Any) -> dict[str, Any]:
    return {
        "hook": "patient-view",
        "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
        "context": {"patientId": "p1", "userId": "Practitioner/1"},
        "extension": {DEMO_EXTENSION: {"asOf": AS_OF}, **extension},
        "prefetch": prefetch,
    }


def bp(effective: str) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [
            {
                "resource": {
                    "resourceType": "Observation",
                    "id": "2026-01-15",
                    "status": "final",
                    "effectiveDateTime": effective,
                    "valueQuantity": {"value": 82, "unit": "mmHg"},
                    "note": [{"text": "2026-01-15T08:00:00Z"}],
                }
            }
        ],
    }


def first(body: dict[str, Any]) -> dict[str, Any]:
    return body["prefetch"]["vital-signs"]["entry"][0]["resource"]


def test_shift_moves_datetimes_by_now_minus_as_of() -> None:
    to = datetime(2030, 6, 1, 12, 0, tzinfo=UTC)
    out = shift_times(demo({"vital-signs": bp("2026-01-15T08:30:00Z")}), to)
    assert first(out)["effectiveDateTime"] == "2030-06-01T10:00:00Z"


def test_shift_keeps_offsets_and_fractions() -> None:
    to = datetime(2026, 1, 16, 10, 30, tzinfo=UTC)
    out = shift_times(demo({"vital-signs": bp("2026-01-15T09:30:00.250+01:00")}), to)
    assert first(out)["effectiveDateTime"] == "2026-01-16T09:30:00.250000+01:00"


def test_shift_moves_dates_by_whole_calendar_days() -> None:
    to = datetime(2026, 1, 20, 1, 0, tzinfo=UTC)  # 4 days 14.5 h later, 5 calendar days
    condition = {
        "resourceType": "Condition",
        "id": "c1",
        "recordedDate": "2026-01-10",
        "onsetDateTime": "2025",
    }
    out = shift_times(demo({"conditions": condition}), to)
    assert out["prefetch"]["conditions"]["recordedDate"] == "2026-01-15"
    assert out["prefetch"]["conditions"]["onsetDateTime"] == "2025"  # partial dates stay


def test_ids_and_texts_are_not_times() -> None:
    out = shift_times(demo({"vital-signs": bp("2026-01-15T08:30:00Z")}), datetime(2027, 1, 1, tzinfo=UTC))
    assert first(out)["id"] == "2026-01-15"
    assert first(out)["note"] == [{"text": "2026-01-15T08:00:00Z"}]


def test_extension_removed_others_kept_and_input_untouched() -> None:
    body = demo({"patient": None}, other={"x": 1})
    out = shift_times(body, datetime(2027, 1, 1, tzinfo=UTC))
    assert out["extension"] == {"other": {"x": 1}}
    assert DEMO_EXTENSION in body["extension"]
    only = shift_times(demo({"patient": None}), datetime(2027, 1, 1, tzinfo=UTC))
    assert "extension" not in only


def test_interval_to_now_is_preserved() -> None:
    to = datetime(2031, 3, 3, 3, 3, 3, tzinfo=timezone(timedelta(hours=-5)))
    out = shift_times(demo({"vital-signs": bp("2026-01-15T08:30:00Z")}), to)
    shifted = datetime.fromisoformat(first(out)["effectiveDateTime"])
    assert to - shifted == parse_instant(AS_OF) - parse_instant("2026-01-15T08:30:00Z")


def test_request_without_demo_extension_is_returned_as_is() -> None:
    body = demo({"vital-signs": bp("2026-01-15T08:30:00Z")})
    del body["extension"]
    assert shift_times(body, datetime(2027, 1, 1, tzinfo=UTC)) == body
    assert as_of(body) is None


@pytest.mark.parametrize("bad", [{"asOf": "yesterday"}, {"asOf": "2026-01-15T10:30:00"}, {}, "x"])
def test_malformed_as_of_is_an_error(bad: Any) -> None:
    body = demo({})
    body["extension"][DEMO_EXTENSION] = bad
    with pytest.raises(ValueError):
        as_of(body)


def test_naive_target_is_refused() -> None:
    with pytest.raises(ValueError):
        shift_times(demo({}), datetime(2027, 1, 1))


@pytest.mark.parametrize("name", [c.name for c in DEMOS])
def test_shifted_demo_gives_the_documented_cards_over_http_today(client: FlaskClient, name: str) -> None:
    """What ``mr-cds demo FILE | curl -d @- ...`` does: the server uses the real clock."""
    case = next(c for c in DEMOS if c.name == name)
    body = json.loads((DEMO_DIR / f"{name}.json").read_text(encoding="utf-8"))
    response = client.post(SERVICE_URL, json=shift_times(body, datetime.now(UTC)))
    assert response.status_code == 200
    validate_response(response.get_json())
    got = {c["source"]["topic"]["code"]: c["indicator"] for c in response.get_json()["cards"]}
    assert got == dict(case.must)
