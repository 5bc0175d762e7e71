"""Windows (fhir_mappings/timing.py): a time after the evaluation time is never in its window,
at any precision, so callers need no check of their own before ``within``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from fhir_mappings.timing import parse_time, within

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    "raw",
    ["2026-11-20T12:00:01Z", "2026-11-21", "2026-12", "2027"],
)
def test_a_time_after_now_is_never_within_the_window(raw: str) -> None:
    assert not within(parse_time(raw), NOW, timedelta(days=400), need_time_of_day=False)


@pytest.mark.parametrize("raw", ["2026-11-20T12:00:00Z", "2026-11-20", "2026-11"])
def test_a_time_that_reaches_now_is_within_a_window_that_holds_it(raw: str) -> None:
    assert within(parse_time(raw), NOW, timedelta(days=30), need_time_of_day=False)
