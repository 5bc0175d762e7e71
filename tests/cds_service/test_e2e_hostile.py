"""Against a real `mr-cds serve`: chunked bodies, gunicorn's own errors, slow clients,
and one jti accepted once across workers and instances."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from tests.cds_service import jwt_tokens as t
from tests.conftest import SERVICE_URL, all_keys_null, hook_request
from tests.serving import Served, serve

pytestmark = pytest.mark.e2e

MAX_BODY = 20_000


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    tmp = tmp_path_factory.mktemp("hostile")
    env = {"XDG_DATA_HOME": str(tmp / "data"), "MRCDS_MAX_BODY_BYTES": str(MAX_BODY)}
    with serve(tmp, env) as served:
        yield served


def _port(server: Served) -> int:
    return int(server.base.rsplit(":", 1)[1])


def _raw(server: Served, data: bytes, *, timeout: float = 10) -> tuple[int, dict[str, str], bytes]:
    """Send ``data`` as is; the status, headers and body of the answer."""
    with socket.create_connection(("127.0.0.1", _port(server)), timeout=timeout) as sock:
        sock.sendall(data)
        received = b""
        while b"\r\n\r\n" not in received or not _complete(received):
            chunk = sock.recv(65536)
            if not chunk:
                break
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
    return int(lines[0].split()[1]), {k.lower(): v for k, v in headers.items()}, body


def _complete(received: bytes) -> bool:
    head, _, body = received.partition(b"\r\n\r\n")
    for line in head.decode("latin-1").split("\r\n"):
        if line.lower().startswith("content-length:"):
            return len(body) >= int(line.split(":")[1])
    return False


def _chunked(path: str, chunks: list[bytes], *, raw_tail: bytes | None = None) -> bytes:
    head = (
        f"POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
        "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    ).encode()
    body = b"".join(f"{len(c):x}\r\n".encode() + c + b"\r\n" for c in chunks)
    return head + body + (raw_tail if raw_tail is not None else b"0\r\n\r\n")


def _is_operation_outcome(body: bytes) -> bool:
    return bool(json.loads(body)["resourceType"] == "OperationOutcome")


def test_chunked_valid_json_padded_over_the_limit_is_413(server: Served) -> None:
    body = json.dumps(hook_request(all_keys_null())).encode()
    chunks = [body] + [b" " * 4096] * 6
    status, _, answer = _raw(server, _chunked(SERVICE_URL, chunks))
    assert status == 413
    assert _is_operation_outcome(answer)


def test_chunked_long_string_over_the_limit_is_413_not_invalid_json(server: Served) -> None:
    body = json.dumps(hook_request(all_keys_null(), extension={"x": "y" * (2 * MAX_BODY)})).encode()
    pieces = [body[i : i + 8192] for i in range(0, len(body), 8192)]
    status, _, _ = _raw(server, _chunked(SERVICE_URL, pieces))
    assert status == 413


def test_chunked_body_within_the_limit_is_served(server: Served) -> None:
    body = json.dumps(hook_request(all_keys_null())).encode()
    status, _, answer = _raw(server, _chunked(SERVICE_URL, [body[:50], body[50:]]))
    assert status == 200
    assert json.loads(answer) == {"cards": []}


def test_invalid_chunk_size_is_400(server: Served) -> None:
    data = _chunked(SERVICE_URL, [], raw_tail=b"zz\r\n{}\r\n0\r\n\r\n")
    status, headers, answer = _raw(server, data)
    assert status == 400
    assert headers["content-type"] == "application/json"
    assert _is_operation_outcome(answer)


def test_bad_request_line_is_an_operation_outcome_without_echo(server: Served) -> None:
    status, headers, answer = _raw(server, b"GET /x?name=Maria-Rossi HTTP/1.1 extra\r\nHost: x\r\n\r\n")
    assert status == 400
    assert headers["content-type"] == "application/json"
    assert _is_operation_outcome(answer)
    assert b"Maria" not in answer
    assert "Maria" not in server.log()


def test_too_long_request_line_is_414_operation_outcome(server: Served) -> None:
    status, _, answer = _raw(server, b"GET /" + b"a" * 10_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    assert status == 414
    assert _is_operation_outcome(answer)


def test_too_many_headers_is_431_operation_outcome(server: Served) -> None:
    headers = b"".join(b"X-H%d: v\r\n" % i for i in range(150))
    status, _, answer = _raw(server, b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + headers + b"\r\n")
    assert status == 431
    assert _is_operation_outcome(answer)


def test_fifty_slow_clients_do_not_starve_health_or_hook_calls(server: Served) -> None:
    request = (
        f"POST {SERVICE_URL} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
        "Content-Length: 100000\r\n\r\n"
    ).encode()
    sockets = [socket.create_connection(("127.0.0.1", _port(server)), timeout=5) for _ in range(50)]
    stop = threading.Event()

    def trickle() -> None:
        # One byte per second on every connection, as a slowloris client does.
        position = 0
        while not stop.is_set() and position < len(request):
            for sock in sockets:
                with contextlib.suppress(OSError):
                    sock.send(request[position : position + 1])
            position += 1
            stop.wait(1.0)

    sender = threading.Thread(target=trickle, daemon=True)
    sender.start()
    try:
        time.sleep(2.5)  # every slow connection has been accepted and is mid-request
        for _ in range(3):
            health = requests.get(f"{server.base}/healthz", timeout=1)
            assert health.status_code == 200
            hook = requests.post(f"{server.base}{SERVICE_URL}", json=hook_request(all_keys_null()), timeout=1)
            assert hook.status_code == 200
            time.sleep(0.5)
    finally:
        stop.set()
        sender.join(timeout=5)
        for sock in sockets:
            sock.close()


def test_idle_and_slow_header_connections_are_closed(server: Served) -> None:
    # gunicorn's keep-alive timeout (5 s) bounds the wait for a whole request head.
    with socket.create_connection(("127.0.0.1", _port(server)), timeout=15) as idle:
        started = time.monotonic()
        assert idle.recv(1) == b""
        assert time.monotonic() - started < 15


# ---------------------------------------------------------------- one jti, once


@pytest.fixture(scope="module")
def signing_key() -> t.SigningKey:
    return t.es384_key("e2e-key")


def _jwt_env(tmp: Path, key: t.SigningKey, database: Path) -> dict[str, str]:
    issuers = tmp / "issuers.json"
    issuers.write_text(json.dumps([{"iss": t.ISS, "jwks": t.jwks(key)}]))
    return {
        "XDG_DATA_HOME": str(tmp / "data"),
        "MRCDS_TRUSTED_ISSUERS": str(issuers),
        "MRCDS_PUBLIC_BASE_URL": t.PUBLIC_BASE,
        "MRCDS_DATABASE_URL": f"sqlite:///{database}",
    }


def _call(served: Served, token: str) -> int:
    return requests.post(
        f"{served.base}{SERVICE_URL}",
        json=hook_request(all_keys_null()),
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    ).status_code


def test_a_token_is_accepted_once_across_workers_and_instances(
    tmp_path: Path, signing_key: t.SigningKey
) -> None:
    database = tmp_path / "shared.sqlite3"
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with (
        serve(tmp_path / "a", _jwt_env(tmp_path / "a", signing_key, database), workers=2) as first,
        serve(tmp_path / "b", _jwt_env(tmp_path / "b", signing_key, database), workers=2) as second,
    ):
        token = t.sign(signing_key, t.claims(t.PUBLIC_BASE + SERVICE_URL))
        assert _call(first, token) == 200
        assert _call(second, token) == 401
        assert _call(first, token) == 401

        # The same fresh token at once on many connections to both instances' workers.
        burst = t.sign(signing_key, t.claims(t.PUBLIC_BASE + SERVICE_URL))
        targets = [first, second] * 8
        with ThreadPoolExecutor(len(targets)) as pool:
            statuses = list(pool.map(lambda served: _call(served, burst), targets))
        assert sorted(statuses) == [200] + [401] * (len(targets) - 1)
        assert burst not in first.log() + second.log()
        assert "replayed" in first.log() + second.log()


def test_huge_charts_are_413_while_health_keeps_answering(tmp_path: Path) -> None:
    # The shape that took 16 s each before: one Bundle of 40,000 Conditions (about 2.5 MB).
    prefetch = all_keys_null()
    prefetch["conditions"] = {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [{"resource": {"resourceType": "Condition", "id": f"c{i}"}} for i in range(40_000)],
    }
    data = json.dumps(hook_request(prefetch))
    with serve(tmp_path, {"XDG_DATA_HOME": str(tmp_path / "data")}) as served:

        def huge() -> int:
            return requests.post(
                f"{served.base}{SERVICE_URL}",
                data=data,
                headers={"Content-Type": "application/json"},
                timeout=30,
            ).status_code

        with ThreadPoolExecutor(8) as pool:
            calls = [pool.submit(huge) for _ in range(8)]
            while not all(call.done() for call in calls):
                assert requests.get(f"{served.base}/healthz", timeout=2).status_code == 200
                time.sleep(0.1)
        assert [call.result() for call in calls] == [413] * 8
