"""Card ids: the quick UUID text is what the uuid module writes (issue 18)."""

from __future__ import annotations

import uuid

from hypothesis import given, settings
from hypothesis import strategies as st

from cds_service.calls.pipeline import _new_id, uuid4_text


@settings(deadline=None, max_examples=500)
@given(st.binary(min_size=16, max_size=16))
def test_uuid4_text_is_what_the_uuid_module_writes(raw: bytes) -> None:
    assert uuid4_text(raw) == str(uuid.UUID(bytes=raw, version=4))


def test_every_variant_digit_and_the_extremes() -> None:
    for byte in range(256):
        raw = bytes([byte]) * 16
        assert uuid4_text(raw) == str(uuid.UUID(bytes=raw, version=4))


def test_new_ids_are_random_version_4_uuids() -> None:
    ids = {_new_id() for _ in range(200)}
    assert len(ids) == 200
    for text in ids:
        parsed = uuid.UUID(text)
        assert str(parsed) == text
        assert parsed.version == 4
        assert parsed.variant == uuid.RFC_4122
