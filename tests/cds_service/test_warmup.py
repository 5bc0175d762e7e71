"""Start-up warm-up: one synthetic evaluation so the first clinician's request is fast."""

from __future__ import annotations

import gc
import logging
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask

from cds_service.calls import warmup
from cds_service.core.settings import Settings


def test_warm_up_chart_exercises_mapping_and_rules() -> None:
    # The synthetic chart is demo patient 02: mechanical support, medical therapy, surgery.
    assert warmup.warm_up(Settings.load({})) == 3


def test_warm_up_request_carries_no_demo_patient_identity() -> None:
    body = warmup.warmup_request()
    assert body["context"]["patientId"] == "warm-up"
    assert "demo-shock" not in str(body)


def test_create_app_warms_up_unless_turned_off(
    make_app: Callable[..., Flask], monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[Settings] = []
    monkeypatch.setattr("cds_service.http.app.warm_up", calls.append)
    make_app()
    make_app(warm_up=False)
    assert len(calls) == 1


def test_failing_warm_up_does_not_stop_the_service(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(warmup, "run_hook", broken)
    with caplog.at_level(logging.ERROR):
        assert warmup.warm_up(Settings.load({})) == 0
    assert "warm-up evaluation failed" in caplog.text


def test_settle_heap_freezes_what_is_alive_and_later_garbage_is_still_collected() -> None:
    thresholds = gc.get_threshold()
    try:
        frozen = warmup.settle_heap()
        assert frozen > 0
        # Other threads of the test process (servers of earlier tests) may allocate meanwhile.
        assert abs(gc.get_freeze_count() - frozen) <= 100
        cycle: list[Any] = []
        cycle.append(cycle)
        del cycle
        assert gc.collect() >= 1  # objects made after the freeze are collected as before
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


def test_after_settling_full_collections_wait_for_more_young_collections() -> None:
    before = gc.get_threshold()
    try:
        gc.set_threshold(700, 10, 10)  # Python's defaults
        warmup.settle_heap()
        young, middle, full = gc.get_threshold()
        assert (young, middle) == (700, 10)
        assert full == warmup.FULL_COLLECTION_EVERY > 10
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()
