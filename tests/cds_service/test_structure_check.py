"""The quick structure pass never decides differently from the exact walk.

``check_structure`` clears a body with one quick pass over its containers and leaves any
body it cannot clear to the exact walk, which names the offending path. Whatever the body,
the outcome (nothing, or the same error with the same message and path) is the exact
walk's.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cds_service.core.errors import CdsError
from cds_service.core.json_codec import WRITER_DEPTH_LIMIT
from cds_service.http import input as http_input
from cds_service.http.input import (
    MAX_DEPTH,
    MAX_KEYS,
    WRITE_FROM_DEPTH,
    _cleared_by_writer,
    _exact_walk,
    check_structure,
)

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


# What orjson parsed with no escaped NUL in the raw text (no unpaired surrogate, no NUL):
# ``check_structure(..., strings_checked=True)``
# first tries writing the body back with orjson (``_cleared_by_writer``).
parsed_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=6).filter(lambda t: "\x00" not in t and not any("\ud800" <= c <= "\udfff" for c in t))
    | st.sampled_from(['"resourceType":', 'x\\"resourceType\\":', "resourceType", "µg"]),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(["resourceType", 'a"resourceType', "resource\\Type", "entry", "µ", "b"]),
            inner,
            max_size=4,
        )
    ),
    max_leaves=30,
)


def _checked(body: dict[str, Any], cap: int | None) -> None:
    check_structure(body, cap, strings_checked=True)


@settings(max_examples=400, deadline=None)
@given(
    body=st.dictionaries(st.sampled_from(["resourceType", "prefetch", "a"]), parsed_values, max_size=5),
    cap=st.none() | st.integers(0, 6),
    max_keys=st.sampled_from([2, 3, 1000]),
    write_from=st.integers(1, 4),
)
def test_writer_check_decides_as_the_exact_walk(
    body: dict[str, Any], cap: int | None, max_keys: int, write_from: int
) -> None:
    # Small key limits and writing from any level exercise every branch on small bodies.
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(http_input, "MAX_KEYS", max_keys)
        patch.setattr(http_input, "WRITE_FROM_DEPTH", write_from)
        assert _outcome(_checked, body, cap) == _outcome(_exact_walk, body, cap)
        if _cleared_by_writer(body, cap):
            assert _outcome(_exact_walk, body, cap) is None


@pytest.mark.parametrize("levels", [MAX_DEPTH - 1, MAX_DEPTH, MAX_DEPTH + 1, MAX_DEPTH + 2])
def test_depth_at_the_limit_with_parsed_strings_is_decided_as_the_exact_walk(levels: int) -> None:
    body = _nested(levels)
    assert not _cleared_by_writer(body, None)
    assert _outcome(_checked, body, None) == _outcome(_exact_walk, body, None)
    assert (_outcome(_checked, body, None) is None) == (levels <= MAX_DEPTH)


def test_orjson_refuses_nesting_well_below_the_depth_limit() -> None:
    # Else the writer check would clear nothing (it never clears a body deeper than MAX_DEPTH).
    assert WRITER_DEPTH_LIMIT is not None
    assert WRITE_FROM_DEPTH + WRITER_DEPTH_LIMIT < MAX_DEPTH


def test_nesting_orjson_does_not_write_is_left_to_the_passes() -> None:
    assert WRITER_DEPTH_LIMIT is not None
    # _nested(levels) holds levels - 1 containers; those from WRITE_FROM_DEPTH on are written.
    deepest_written = WRITE_FROM_DEPTH + WRITER_DEPTH_LIMIT - 1
    assert _cleared_by_writer(_nested(deepest_written), None)
    assert not _cleared_by_writer(_nested(deepest_written + 1), None)
    assert _outcome(_checked, _nested(deepest_written + 1), None) is None


def test_an_object_with_more_keys_than_allowed_is_never_cleared_by_the_writer() -> None:
    wide = {f"k{i}": i for i in range(MAX_KEYS + 1)}
    body = {"prefetch": {"conditions": {"resourceType": "Bundle", "entry": [{"resource": wide}]}}}
    assert not _cleared_by_writer(body, None)
    assert _outcome(_checked, body, None) == _outcome(_exact_walk, body, None)
    assert _outcome(_checked, body, None) is not None


def test_a_key_that_only_ends_in_resource_type_never_lowers_the_count() -> None:
    body = {"a": [{'x"resourceType': 1}, {"resourceType": "Patient"}]}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(http_input, "WRITE_FROM_DEPTH", 1)  # the whole body written back
        assert not _cleared_by_writer(body, 1)  # counted twice: left to the quick pass
        assert _outcome(_checked, body, 1) is None  # which counts one resource


def test_a_demo_chart_is_cleared_by_the_writer_check() -> None:
    from pathlib import Path

    from cds_service.core.json_codec import loads

    raw = (
        Path(__file__).resolve().parents[2] / "examples" / "patients" / "02-cardiogenic-shock.json"
    ).read_bytes()
    body = loads(raw)
    assert _cleared_by_writer(body, 20)
    assert not _cleared_by_writer(body, 5)  # more than 5 resources (prefetch Bundles included)


def test_a_short_written_container_is_cleared_without_counting_its_keys() -> None:
    # With MAX_KEYS 2 a container of at most 10 written bytes is cleared by its length; the
    # shortest object of three keys is longer, so it is counted and walked into.
    three = {"": 0, "a": 0, "b": 0}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(http_input, "MAX_KEYS", 2)
        patch.setattr(http_input, "WRITE_FROM_DEPTH", 2)
        assert _cleared_by_writer({"a": [{"": 0, "a": 0}]}, None)
        assert not _cleared_by_writer({"a": [three]}, None)
        assert not _cleared_by_writer({"a": [[three]]}, None)
        assert _outcome(_checked, {"a": [[three]]}, None) == _outcome(_exact_walk, {"a": [[three]]}, None)


def _checked_as_before(raw: bytes, cap: int | None) -> None:
    """What the raw body's checks decide, with no shortcut: the regex, then the exact walk."""
    if cap is not None and len(http_input._RESOURCE_KEY.findall(raw)) > cap:
        raise http_input._too_many_resources(cap)
    _exact_walk(http_input.parse_json_object(raw), cap)


raw_values = st.recursive(
    st.none()
    | st.integers(-5, 5)
    | st.sampled_from(["x", "\x00", "µg", '"resourceType":', 'x\\"resourceType" :', "a\\b"]),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(["resourceType", 'a"resourceType', "entry", "b", "\x00"]), inner, max_size=4
        )
    ),
    max_leaves=20,
)


@settings(max_examples=500, deadline=None)
@given(
    body=st.dictionaries(st.sampled_from(["resourceType", "prefetch", "a"]), raw_values, max_size=4),
    ascii_only=st.booleans(),
    separators=st.sampled_from([(",", ":"), (", ", ": "), (",", " : ")]),
    escaped=st.sampled_from([None, b'"resource\\u0054ype"', b'"\\u0072esourceType"']),
    cap=st.none() | st.integers(0, 5),
)
def test_the_raw_body_is_decided_as_the_exact_walk(
    body: dict[str, Any],
    ascii_only: bool,
    separators: tuple[str, str],
    escaped: bytes | None,
    cap: int | None,
) -> None:
    # Escaped spellings of "resourceType" and NUL hide from the scans of the raw text.
    raw = json.dumps(body, ensure_ascii=ascii_only, separators=separators).encode()
    if escaped is not None:
        raw = raw.replace(b'"resourceType"', escaped, 1)

    def checked(raw: bytes, cap: int | None) -> None:
        http_input.checked_json_object(raw, cap)

    assert _outcome(checked, raw, cap) == _outcome(_checked_as_before, raw, cap)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("raw", "cap"),
    [
        (b'{"a": [{"resource\\u0054ype": 1}, {"resourceType": 2}]}', 1),  # counted after parsing
        (b'{"a": "\\u0000"}', None),  # a NUL, only escaped
        (b'{"resourceType" : 1, "b": {"resourceType":2}}', 1),  # found by the regex before parsing
        (b'{"a": "\\"resourceType\\":", "resourceType": 1}', 1),  # text is not a resource
        (b'{"a": [{"resourceType": 1}, {"resourceType": 2}]}', 2),
        (b'{"a": "resourceType", "resourceType": 1}', 1),  # counted twice, not a key twice
    ],
)
def test_raw_bodies_that_hide_from_the_scans_are_decided_as_the_exact_walk(
    raw: bytes, cap: int | None
) -> None:
    def checked(raw: bytes, cap: int | None) -> None:
        http_input.checked_json_object(raw, cap)

    assert _outcome(checked, raw, cap) == _outcome(_checked_as_before, raw, cap)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("raw", "counted_after_parsing"),
    [
        (b'{"text": {"div": "<div xmlns=\\"http://www.w3.org/1999/xhtml\\">a\\nb</div>"}}', False),
        (b'{"a": "\\u00b5g"}', True),  # a \u escape may spell the key: counted after parsing
    ],
)
def test_only_a_u_escape_makes_the_resources_counted_after_parsing(
    raw: bytes, counted_after_parsing: bool
) -> None:
    # EHR bodies carry narratives with escaped quotes and newlines: they keep the shortcut.
    seen: list[int | None] = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(http_input, "check_structure", lambda _body, cap, **_kw: seen.append(cap))
        http_input.checked_json_object(raw, 5)
    assert seen == [5 if counted_after_parsing else None]


@settings(max_examples=500, deadline=None)
@given(
    raw=st.lists(
        st.sampled_from([b"\\", b"u", b"0", b"\\u", b"\\u0000", b"\\u000", b"x", b'"', b"\\\\"]), max_size=12
    ).map(b"".join)
)
def test_the_escape_search_answers_as_a_plain_look_for_the_text(raw: bytes) -> None:
    assert http_input._holds_escape(raw, http_input._UNICODE_ESCAPE) == (b"\\u" in raw)
    assert http_input._holds_escape(raw, http_input._ESCAPED_NUL) == (b"\\u0000" in raw)


def _writes(raw: bytes) -> int:
    """How many containers checking ``raw`` wrote back; it must be cleared by writing."""
    original = http_input.written_or_none
    calls: list[int] = []

    def counted(value: Any) -> bytes | None:
        calls.append(1)
        return original(value)

    def not_cleared(*_args: Any) -> bool:
        raise AssertionError("the body was not cleared by writing")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(http_input, "written_or_none", counted)
        patch.setattr(http_input, "_plainly_fine", not_cleared)
        http_input.checked_json_object(raw, 1000)
    return len(calls)


def test_a_small_body_is_cleared_by_one_write_and_a_large_one_entry_by_entry() -> None:
    from pathlib import Path

    raw = (
        Path(__file__).resolve().parents[2] / "examples" / "patients" / "02-cardiogenic-shock.json"
    ).read_bytes()
    assert len(raw) <= http_input.WRITE_WHOLE_UP_TO
    assert _writes(raw) == 1
    prefetch = json.loads(raw)["prefetch"]
    large = json.dumps(
        {"prefetch": {f"{key}{i}": value for i in range(8) for key, value in prefetch.items()}}
    )
    assert len(large) > http_input.WRITE_WHOLE_UP_TO
    entries = sum(len(bundle.get("entry", [])) for bundle in prefetch.values() if isinstance(bundle, dict))
    assert _writes(large.encode()) >= 8 * entries


def _most_keys(value: Any) -> int:
    if isinstance(value, dict):
        return max([len(value), *(_most_keys(v) for v in value.values())])
    if isinstance(value, list):
        return max([0, *(_most_keys(v) for v in value)])
    return 0


@settings(max_examples=400, deadline=None)
@given(value=parsed_values, max_keys=st.sampled_from([1, 2, 3, 4]))
def test_few_keys_never_clears_an_object_with_more_keys_than_allowed(value: Any, max_keys: int) -> None:
    import orjson

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(http_input, "MAX_KEYS", max_keys)
        if http_input._few_keys(orjson.dumps(value)):
            assert _most_keys(value) <= max_keys


@pytest.mark.parametrize(
    ("value", "few"),
    [
        ({"a": 1, "b": 2, "c": 3}, False),  # 19 bytes, 6 quotes, 3 keys: over 2 by every count
        ({"a": 1, "b": 2}, True),  # 13 bytes, 4 quotes
        ([{"a": 1}, {"b": 2}, {"c": 3}], False),  # 3 keys in all: the walk goes in
        ({"a": "x", "b": "y"}, True),  # 8 quotes, 2 key ends
    ],
)
def test_few_keys_with_two_allowed(value: Any, few: bool) -> None:
    import orjson

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(http_input, "MAX_KEYS", 2)
        assert http_input._few_keys(orjson.dumps(value)) is few
