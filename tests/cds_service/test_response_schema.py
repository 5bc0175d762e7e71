"""The CDS Hooks 2.0 response schema used on every response in the tests."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from cds_service.calls.schemas import validate_response
from cds_service.core.errors import SchemaViolation
from tests.conftest import DATA, load_json


def _example() -> dict[str, Any]:
    return load_json(DATA / "hl7" / "Binary-CDSHooksResponse.json")  # type: ignore[no-any-return]


def test_hl7_example_response_passes() -> None:
    validate_response(_example())


def test_empty_card_list_passes() -> None:
    validate_response({"cards": []})


def _card(**changes: Any) -> dict[str, Any]:
    card: dict[str, Any] = {
        "uuid": "4e0a3a1e-3283-4575-ab82-028d55fe2719",
        "summary": "Consider surgical repair",
        "indicator": "info",
        "source": {"label": "mr-cds-hooks", "topic": {"system": "urn:x", "code": "surgical-repair"}},
    }
    card.update(changes)
    return card


@pytest.mark.parametrize(
    ("card", "field"),
    [
        (_card(summary="x" * 140), "cards.0.summary"),
        (_card(indicator="hard-stop"), "cards.0.indicator"),
        (_card(source={}), "cards.0.source.label"),
        (_card(overrideReasons=[{"system": "urn:x", "code": "a"}]), "cards.0.overrideReasons.0.display"),
        (_card(suggestions=[{"label": "Order echo"}]), "cards.0.selectionBehavior"),
        (_card(selectionBehavior="exactly-one"), "cards.0.selectionBehavior"),
        (
            _card(links=[{"label": "x", "url": "https://x.org", "type": "absolute", "appContext": "y"}]),
            "cards.0.links.0",
        ),
        (_card(links=[]), "cards.0.links"),
        (_card(detail=""), "cards.0.detail"),
        (
            _card(
                suggestions=[{"label": "x", "actions": [{"type": "delete", "description": "d"}]}],
                selectionBehavior="any",
            ),
            "cards.0.suggestions.0.actions.0.resourceId",
        ),
    ],
    ids=[
        "summary-140-chars",
        "1.0-indicator",
        "source-without-label",
        "override-reason-without-display",
        "suggestions-without-selectionBehavior",
        "unknown-selectionBehavior",
        "appContext-on-absolute-link",
        "empty-links",
        "empty-detail",
        "delete-without-resourceId",
    ],
)
def test_invalid_cards_are_rejected_naming_the_field(card: dict[str, Any], field: str) -> None:
    with pytest.raises(SchemaViolation) as raised:
        validate_response({"cards": [card]})
    assert raised.value.expression == (field,)


def test_response_without_cards_is_rejected() -> None:
    body = copy.deepcopy(_example())
    del body["cards"]
    with pytest.raises(SchemaViolation):
        validate_response(body)
