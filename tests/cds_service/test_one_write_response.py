"""The worker's responses: the bytes gunicorn sends, in one write for a one-piece body."""

from __future__ import annotations

from typing import Any

import pytest
from gunicorn.config import Config
from gunicorn.http import wsgi as gunicorn_wsgi
from gunicorn.http.parser import RequestParser
from hypothesis import given, settings
from hypothesis import strategies as st

from cds_service.runtime import gunicorn_worker
from cds_service.runtime.gunicorn_worker import OneWriteResponse

#: gunicorn's own response class, as it was before the worker module replaced it.
GUNICORN_RESPONSE = OneWriteResponse.__mro__[1]


class Client:
    def __init__(self) -> None:
        self.writes: list[bytes] = []

    def sendall(self, data: bytes) -> None:
        self.writes.append(bytes(data))


def _request(method: str) -> Any:
    raw = f"{method} /cds-services/x HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n".encode()
    return next(iter(RequestParser(Config(), [raw], ("127.0.0.1", 9))))


def _serve(cls: Any, method: str, status: str, headers: list[tuple[str, str]], pieces: list[bytes]) -> Client:
    client = Client()
    response = cls(_request(method), client, Config())
    response.start_response(status, headers)
    for piece in pieces:
        response.write(piece)
    response.close()
    return client


CASES = [
    ("POST", "200 OK", [("Content-Type", "application/json"), ("Content-Length", "12")], [b'{"cards":[]}']),
    ("POST", "200 OK", [("Content-Length", "6")], [b"abc", b"def"]),
    ("POST", "200 OK", [("Content-Length", "3")], [b"abcdef"]),
    ("POST", "200 OK", [("Content-Type", "text/plain")], [b"no length", b" here"]),
    ("HEAD", "200 OK", [("Content-Length", "5")], [b"hello"]),
    ("POST", "204 No Content", [], [b""]),
    ("POST", "200 OK", [("Content-Length", "0")], [b""]),
    ("POST", "200 OK", [("Content-Length", "2")], []),
]


@pytest.fixture
def _fixed_date(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gunicorn_wsgi.util, "http_date", lambda *_: "Sat, 05 Dec 2026 19:00:00 GMT")


@pytest.mark.usefixtures("_fixed_date")
@pytest.mark.parametrize(("method", "status", "headers", "pieces"), CASES)
def test_the_same_bytes_as_gunicorn(
    method: str, status: str, headers: list[tuple[str, str]], pieces: list[bytes]
) -> None:
    ours = _serve(OneWriteResponse, method, status, headers, pieces)
    theirs = _serve(GUNICORN_RESPONSE, method, status, headers, pieces)
    assert b"".join(ours.writes) == b"".join(theirs.writes)


@pytest.mark.usefixtures("_fixed_date")
def test_a_one_piece_body_goes_out_in_one_write() -> None:
    method, status, headers, pieces = CASES[0]
    ours = _serve(OneWriteResponse, method, status, headers, pieces)
    theirs = _serve(GUNICORN_RESPONSE, method, status, headers, pieces)
    assert len(theirs.writes) == 2
    assert len(ours.writes) == 1
    assert ours.writes[0].startswith(b"HTTP/1.1 200 OK\r\n")
    assert ours.writes[0].endswith(b'\r\n\r\n{"cards":[]}')


def test_gunicorn_builds_its_responses_from_ours() -> None:
    assert gunicorn_wsgi.Response is OneWriteResponse
    assert gunicorn_worker.OneWriteResponse is OneWriteResponse


GUNICORN_HTTP_DATE = gunicorn_worker.email.utils.formatdate


@settings(deadline=None, max_examples=300)
@given(st.lists(st.floats(min_value=-1e9, max_value=4e9, allow_nan=False), min_size=1, max_size=8))
def test_the_date_is_gunicorn_s(timestamps: list[float]) -> None:
    for timestamp in [*timestamps, *(t + 0.5 for t in timestamps), *(t + 0.9999996 for t in timestamps)]:
        expected = GUNICORN_HTTP_DATE(timestamp, localtime=False, usegmt=True)
        assert gunicorn_worker.http_date(timestamp) == expected


def test_the_date_follows_the_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    for now in (
        1_700_000_000.2,
        1_700_000_000.9999996,
        1_700_000_001.0,
        1_700_000_061.5,
        -0.0000001,
        1_700_000_000.5,
    ):
        monkeypatch.setattr(gunicorn_worker.time, "time", lambda now=now: now)
        assert gunicorn_worker.http_date() == GUNICORN_HTTP_DATE(now, localtime=False, usegmt=True)
    assert gunicorn_wsgi.util.http_date is gunicorn_worker.http_date
