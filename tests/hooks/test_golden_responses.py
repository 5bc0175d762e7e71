"""Every card and every ``--explain`` trail is what it was, byte for byte (``tests/hooks/golden.py``):
the demo patients, the order examples (signed and selected), the scenario suite and the
benchmark charts."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.hooks.golden import GOLDEN, answer, charts, digests, dump, whole

_GOLDEN: dict[str, Any] = json.loads(GOLDEN.read_text(encoding="utf-8"))
_CHARTS = list(charts())


def test_the_golden_file_holds_every_chart_and_only_those() -> None:
    assert list(_GOLDEN["digests"]) == [name for name, _, _ in _CHARTS]
    assert list(_GOLDEN["responses"]) == [name for name, _, _ in whole()]
    # Cards of every kind are pinned, and the order services' ones too.
    codes = {c["source"]["topic"]["code"] for r in _GOLDEN["responses"].values() for c in r["cards"]}
    assert {"acute-mr-emergency", "grade-severity", "draft-vasodilator-in-hypotension"} <= codes


@pytest.mark.parametrize(("name", "body", "now"), list(whole()), ids=[n for n, _, _ in whole()])
def test_demo_response_is_the_golden_one_byte_for_byte(
    name: str, body: dict[str, Any], now: str | None
) -> None:
    assert dump(answer(body, now)["response"]) == dump(_GOLDEN["responses"][name])


@pytest.mark.parametrize(("name", "body", "now"), _CHARTS, ids=[n for n, _, _ in _CHARTS])
def test_cards_and_explanation_are_the_golden_ones(name: str, body: dict[str, Any], now: str | None) -> None:
    assert digests(answer(body, now)) == _GOLDEN["digests"][name]
