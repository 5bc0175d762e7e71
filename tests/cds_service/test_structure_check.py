"""The quick structure pass never decides differently from the exact walk.

``check_structure`` clears a body with one quick pass over its containers and leaves any
body it cannot clear to the exact walk, which names the offending path. Whatever the body,
the outcome (nothing, or the same error with the same message and path) is the exact
walk's.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cds_service.errors import CdsError
from cds_service.http_input import MAX_DEPTH, _exact_walk, check_structure

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.text(max_size=6)  # includes lone surrogates, as the standard library can return
    | st.sampled_from(["\ud800", "µg", "x\udfff"]),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(max_size=5) | st.just("resourceType"), inner, max_size=4)
    ),
    max_leaves=30,
)


def _outcome(check: Any, body: dict[str, Any], cap: int | None) -> tuple[str, str, list[str]] | None:
    try:
        check(body, cap)
    except CdsError as exc:
        return type(exc).__name__, str(exc), list(exc.expression)
    return None


def _nested(levels: int) -> dict[str, Any]:
    inner: Any = "leaf"
    for _ in range(levels - 2):
        inner = [inner]
    return {"a": inner}


@settings(max_examples=300, deadline=None)
@given(body=st.dictionaries(st.text(max_size=5), json_values, max_size=5), cap=st.none() | st.integers(0, 6))
def test_quick_pass_decides_as_the_exact_walk(body: dict[str, Any], cap: int | None) -> None:
    assert _outcome(check_structure, body, cap) == _outcome(_exact_walk, body, cap)


@pytest.mark.parametrize("levels", [MAX_DEPTH - 1, MAX_DEPTH, MAX_DEPTH + 1, MAX_DEPTH + 2])
def test_depth_at_the_limit_is_decided_as_the_exact_walk(levels: int) -> None:
    body = _nested(levels)
    assert _outcome(check_structure, body, None) == _outcome(_exact_walk, body, None)
    assert (_outcome(check_structure, body, None) is None) == (levels <= MAX_DEPTH)


def test_strings_checked_by_the_parser_are_not_looked_at() -> None:
    body = {"note": "\ud800"}  # orjson refuses this before any check runs
    assert _outcome(check_structure, body, None) is not None
    check_structure(body, None, strings_checked=True)
