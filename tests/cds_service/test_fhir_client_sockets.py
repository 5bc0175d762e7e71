"""The FHIR client against real sockets that misbehave: refused, dropped, reset, silent, slow.

The ``responses`` tests construct ``requests`` exceptions by hand; these check that the
exceptions ``requests`` really raises land on the right entry of the table.
"""

from __future__ import annotations

import contextlib
import json
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator

import pytest
import requests

from cds_service.core.fhir_base import FhirBase
from cds_service.fhir.client import FhirClient
from cds_service.fhir.deadline import Deadline
from cds_service.fhir.errors import (
    FhirConnectionError,
    FhirConnectionReset,
    FhirInvalidResponse,
    FhirTimeout,
)
from cds_service.fhir.session import new_session

PATIENT = json.dumps({"resourceType": "Patient", "id": "p1"}).encode()
Behaviour = Callable[[socket.socket], None]


def ok(conn: socket.socket) -> None:
    _read_request(conn)
    conn.sendall(_response(PATIENT))


def close_without_answer(conn: socket.socket) -> None:
    _read_request(conn)  # the client's request arrives, then the server goes away


def reset(conn: socket.socket) -> None:
    _read_request(conn)
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close sends RST


def truncated_body(conn: socket.socket) -> None:
    _read_request(conn)
    conn.sendall(_response(PATIENT, length=len(PATIENT) + 100))  # promises more than it sends


def silent(stop: threading.Event) -> Behaviour:
    def behaviour(conn: socket.socket) -> None:
        _read_request(conn)
        stop.wait(10)

    return behaviour


def drip(stop: threading.Event) -> Behaviour:
    """Answer a byte at a time, each well within the read timeout, for longer than the deadline."""

    def behaviour(conn: socket.socket) -> None:
        _read_request(conn)
        body = b'{"resourceType": "Patient", "text": "' + b"x" * 200 + b'"}'
        conn.sendall(_response(b"", length=len(body)))
        for byte in body:
            if stop.wait(0.05):
                return
            conn.sendall(bytes([byte]))

    return behaviour


def not_json(conn: socket.socket) -> None:
    _read_request(conn)
    conn.sendall(_response(b"<html><body>Tomcat error</body></html>"))


def _read_request(conn: socket.socket) -> None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return
        data += chunk


def _response(body: bytes, *, length: int | None = None) -> bytes:
    head = (
        "HTTP/1.1 200 OK\r\nContent-Type: application/fhir+json\r\n"
        f"Content-Length: {len(body) if length is None else length}\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + body


class ScriptedServer:
    """One behaviour per accepted connection, in order; counts the connections."""

    def __init__(self, *behaviours: Behaviour) -> None:
        self.behaviours = list(behaviours)
        self.connections = 0
        self._sock = socket.create_server(("127.0.0.1", 0))
        self._sock.settimeout(0.2)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self._sock.getsockname()[1]}/fhir"

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            behaviour = self.behaviours[min(self.connections, len(self.behaviours) - 1)]
            self.connections += 1
            worker = threading.Thread(target=self._handle, args=(conn, behaviour), daemon=True)
            self._threads.append(worker)
            worker.start()

    @staticmethod
    def _handle(conn: socket.socket, behaviour: Behaviour) -> None:
        with conn, contextlib.suppress(OSError):  # OSError: the client gave up first
            behaviour(conn)

    def __enter__(self) -> ScriptedServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        for worker in self._threads:
            worker.join(timeout=5)
        self._sock.close()


@pytest.fixture
def session() -> Iterator[requests.Session]:
    s = new_session()
    yield s
    s.close()


@pytest.fixture
def stop() -> Iterator[threading.Event]:
    event = threading.Event()
    yield event
    event.set()


def get(session: requests.Session, base: str, seconds: float = 5.0) -> dict[str, object]:
    client = FhirClient(session, FhirBase.parse(base), "t", Deadline(seconds), hook_instance="h", max_pages=5)
    return client.get_resource("patient", f"{base}/Patient/p1")


def test_answer_over_a_real_socket(session: requests.Session) -> None:
    with ScriptedServer(ok) as server:
        assert get(session, server.base)["id"] == "p1"


def test_connection_refused_is_not_reachable_and_not_retried(session: requests.Session) -> None:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]
    with pytest.raises(FhirConnectionError) as caught:
        get(session, f"http://127.0.0.1:{port}/fhir")
    assert type(caught.value) is FhirConnectionError


@pytest.mark.parametrize("first", [close_without_answer, reset, truncated_body], ids=lambda f: f.__name__)
def test_dropped_connection_then_success_is_retried_once(session: requests.Session, first: Behaviour) -> None:
    with ScriptedServer(first, ok) as server:
        assert get(session, server.base)["id"] == "p1"
    assert server.connections == 2


@pytest.mark.parametrize("behaviour", [close_without_answer, reset], ids=lambda f: f.__name__)
def test_dropped_connection_twice_is_a_reset(session: requests.Session, behaviour: Behaviour) -> None:
    with ScriptedServer(behaviour) as server, pytest.raises(FhirConnectionReset):
        get(session, server.base)
    assert server.connections == 2


def test_silent_server_times_out_by_the_deadline(session: requests.Session, stop: threading.Event) -> None:
    with ScriptedServer(silent(stop)) as server:
        started = time.monotonic()
        with pytest.raises(FhirTimeout):
            get(session, server.base, seconds=0.5)
        elapsed = time.monotonic() - started
        stop.set()
    assert elapsed < 0.5 + 1.5


def test_body_dripping_past_the_deadline_times_out(session: requests.Session, stop: threading.Event) -> None:
    with ScriptedServer(drip(stop)) as server:
        started = time.monotonic()
        with pytest.raises(FhirTimeout):
            get(session, server.base, seconds=0.5)
        elapsed = time.monotonic() - started
        stop.set()
    assert elapsed < 0.5 + 1.5


def test_html_instead_of_json_is_an_invalid_response(session: requests.Session) -> None:
    with ScriptedServer(not_json) as server, pytest.raises(FhirInvalidResponse):
        get(session, server.base)
    assert server.connections == 1
