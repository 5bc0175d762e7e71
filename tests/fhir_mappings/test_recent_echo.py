"""Recent echo (docs/clinical-rules.md, Recent echo): an echo MR-grade Observation or an
echocardiography Procedure (CPT 93306 and the like) within ``echo_recent_days`` (30)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from fhir_mappings import ChartInput, map_chart
from fhir_mappings.facts import Status
from fhir_mappings.parse import KEY_LABELS
from fhir_mappings.thresholds import apply_overrides, default_thresholds
from tests.fhir_mappings.charts import NOW, PATIENT

CPT = "http://www.ama-assn.org/go/cpt"


def _when(days: float) -> str:
    return (NOW - timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _echo_procedure(days: float, status: str = "completed", code: str = "93306") -> dict[str, Any]:
    return {
        "resourceType": "Procedure",
        "id": f"tte-{code}",
        "status": status,
        "subject": {"reference": f"Patient/{PATIENT}"},
        "code": {"coding": [{"system": CPT, "code": code}]},
        "performedDateTime": _when(days),
    }


def _facts(*procedures: dict[str, Any], recent_days: float | None = None) -> Any:
    prefetch: dict[str, Any] = {key: None for key in KEY_LABELS}
    prefetch["procedures"] = {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [{"resource": p} for p in procedures],
    }
    limits = default_thresholds()
    if recent_days is not None:
        limits = apply_overrides(limits, {"echo_recent_days": recent_days})
    return map_chart(ChartInput(PATIENT, prefetch, {}), now=NOW, thresholds=limits)


@pytest.mark.parametrize(
    ("days", "status"), [(29, Status.PRESENT), (30, Status.PRESENT), (31, Status.ABSENT)]
)
def test_a_cpt_93306_echo_within_30_days_is_a_recent_echo(days: float, status: Status) -> None:
    assert _facts(_echo_procedure(days)).recent_echo.status is status


def test_a_running_echo_counts_and_a_cancelled_one_does_not() -> None:
    assert _facts(_echo_procedure(0.1, "in-progress")).recent_echo.present
    assert not _facts(_echo_procedure(1, "not-done")).recent_echo.present


def test_an_echo_dated_after_now_is_not_a_recent_echo() -> None:
    assert not _facts(_echo_procedure(-2)).recent_echo.present


def test_the_window_is_a_site_setting() -> None:
    assert not _facts(_echo_procedure(20), recent_days=14).recent_echo.present


def test_an_echo_procedure_never_gives_a_grade() -> None:
    result = _facts(_echo_procedure(2))
    assert result.mr_grade.grade is None
    assert not result.mr_on_echo_any.present
