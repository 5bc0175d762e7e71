"""Each demo patient under examples/patients gives exactly the cards its README lists."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cds_service.calls.demo import as_of
from tests.hooks.cases import ALL_CARDS, DEMO_DIR, DEMOS, Case
from tests.hooks.test_scenarios import check, evaluate


def test_at_least_eight_demo_patients_exercise_every_card() -> None:
    assert len(DEMOS) >= 8
    assert {i for c in DEMOS for i in c.must} == set(ALL_CARDS)


@pytest.mark.parametrize("case", DEMOS, ids=[c.name for c in DEMOS])
def test_demo_patient(case: Case) -> None:
    request = json.loads((DEMO_DIR / f"{case.name}.json").read_text(encoding="utf-8"))
    moment = as_of(request)
    assert moment is not None
    expect = case.expect()
    check(evaluate(request, moment.isoformat()), expect)
    readme = (Path(DEMO_DIR) / "README.md").read_text(encoding="utf-8")
    assert f"`{case.name}.json`" in readme
