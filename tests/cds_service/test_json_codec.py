"""Request bodies are parsed by orjson when installed, else by the standard library; both
refuse the same hostile bodies with a 400, and responses keep their key order."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from flask.testing import FlaskClient

from cds_service.core import json_codec
from tests.conftest import SERVICE_URL, all_keys_null, hook_request

DEEP = b'{"a":' + b"[" * 5000 + b"]" * 5000 + b"}"
LONG_INT = b'{"hook": ' + b"7" * 5000 + b"}"
NOT_UTF8 = b'{"hook": "\xff\xfe"}'
PARSERS: list[Callable[[bytes], Any]] = [json_codec.loads, json_codec._stdlib_loads]


@pytest.mark.parametrize("loads", PARSERS, ids=["service", "stdlib-fallback"])
@pytest.mark.parametrize("raw", [DEEP, LONG_INT, NOT_UTF8, b'{"a": 1,}', b""], ids=repr)
def test_every_refusal_is_a_json_decode_error(loads: Callable[[bytes], Any], raw: bytes) -> None:
    with pytest.raises(json.JSONDecodeError):
        loads(raw)


@pytest.mark.parametrize("loads", PARSERS, ids=["service", "stdlib-fallback"])
def test_both_parsers_read_a_request_alike(loads: Callable[[bytes], Any]) -> None:
    body = hook_request(all_keys_null())
    assert loads(json.dumps(body).encode()) == body


@pytest.mark.parametrize("raw", [DEEP, LONG_INT, NOT_UTF8], ids=["deep", "5000-digit-int", "not-utf8"])
def test_hostile_body_is_400_without_echo(client: FlaskClient, raw: bytes) -> None:
    response = client.post(SERVICE_URL, data=raw, content_type="application/json")
    assert response.status_code == 400
    body = response.get_json()
    assert body["resourceType"] == "OperationOutcome"
    assert "7777" not in response.get_data(as_text=True)


@pytest.mark.parametrize("backend", ["orjson", "json"])
def test_dumps_is_compact_utf8_in_insertion_order(backend: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if backend == "json":
        monkeypatch.setattr(json_codec, "orjson", None)
    assert json_codec.dumps({"z": 1, "a": ["µ", None, 2.5]}) == '{"z":1,"a":["µ",null,2.5]}'.encode()


@pytest.mark.parametrize("backend", ["orjson", "json"])
def test_dumps_writes_what_the_standard_library_writes(backend: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if backend == "json":
        monkeypatch.setattr(json_codec, "orjson", None)
    value = {1: "int key", "big": 2**70}
    assert json_codec.dumps(value) == json.dumps(value, separators=(",", ":")).encode()


def test_dumps_hands_unknown_types_to_default() -> None:
    moment = datetime(2026, 1, 2, tzinfo=UTC)
    assert json_codec.dumps({"at": moment}, default=lambda o: "converted") == b'{"at":"converted"}'
    with pytest.raises(TypeError):
        json_codec.dumps({"at": object()})


def test_response_keeps_key_order(client: FlaskClient) -> None:
    response = client.get("/cds-services")
    service = response.get_json()["services"][0]
    assert list(service)[:3] == ["hook", "title", "description"]
    assert response.get_data().endswith(b"\n")
