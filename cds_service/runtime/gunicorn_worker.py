"""gunicorn's gevent worker, with its own errors as OperationOutcome and without quoting,
fair to waiting connections, with a drain of the issued-card buffer when it stops, and
with each answer sent in one write.

Fairness: a hook call is CPU work with no I/O wait, and a keep-alive client sends its next
request at once, so a busy worker went from request to request without its event loop
looking at the listening socket: at 64 clients, 43-56 connections waited unaccepted for a
whole 4 s run. After each request the connection's greenlet now waits for the next turn
of the event loop (which polls for I/O, accepts waiting connections and serves the others
first), and a connection is closed after ``MAX_REQUESTS_PER_CONNECTION`` requests, so a
client reconnects and takes its turn in the listen queue like everyone else.

gunicorn answers a request it cannot parse (bad request line, 414, 431, bad chunked
encoding) itself, before the app sees it: as HTML that quotes the offending line, and it
logs that line, which may carry a query string. Here those answers are a FHIR
OperationOutcome naming only the status, and the log names only the exception type.

One write: gunicorn sends a response's head, then its body, in two ``sendall`` calls. A
hook call's answer is one piece of known length (Flask sets Content-Length), so its head
and body now go out together: one system call (and one loopback delivery) fewer per
request (issue 18). The head is the one gunicorn builds; every other answer (chunked, in
several pieces, without a body) is sent as gunicorn sends it. The head's Date is written
once per second rather than per request (``email.utils.formatdate``: 3.5 µs a call).

Memos (issue 18): gunicorn asks for every request whether the peer may set forwarding
headers (``forwarded_allow_ips``), parsing its address each time: the answer is kept per
peer address. A worker's settings are read as plain attributes of its configuration,
not through ``Config.__getattr__``.

Not covered (gunicorn closes the connection without an answer, or answers before any
worker code runs): a client that disconnects mid-request, TLS handshake failures when
gunicorn terminates TLS, and requests refused by the operating system's backlog.
"""

from __future__ import annotations

import contextlib
import email.utils
import inspect
import json
import ssl
import time
from datetime import UTC, datetime
from typing import Any

import gevent
from gevent.server import StreamServer
from gunicorn import util as gunicorn_util
from gunicorn.config import Config
from gunicorn.http import errors as http_errors
from gunicorn.http import message as gunicorn_message
from gunicorn.http import wsgi as gunicorn_wsgi
from gunicorn.workers import ggevent
from gunicorn.workers.ggevent import GeventWorker

from cds_service.core.errors import operation_outcome
from cds_service.runtime import logging_locks

#: gunicorn's parse errors by class name (some are absent from older gunicorn versions).
_STATUSES: tuple[tuple[str, int, str, str], ...] = (
    ("LimitRequestLine", 414, "URI Too Long", "request line too long"),
    ("LimitRequestHeaders", 431, "Request Header Fields Too Large", "request header fields too large"),
    ("ExpectationFailed", 417, "Expectation Failed", "Expect header not supported"),
    ("ForbiddenProxyRequest", 403, "Forbidden", "proxy request forbidden"),
    ("UnsupportedTransferCoding", 501, "Not Implemented", "transfer coding not supported"),
    ("ConfigurationProblem", 500, "Internal Server Error", "server configuration problem"),
    ("InvalidResponseHeader", 500, "Internal Server Error", "internal error"),
    ("InvalidResponseHeaderName", 500, "Internal Server Error", "internal error"),
)


def error_status(exc: BaseException) -> tuple[int, str, str]:
    """(status, reason phrase, diagnostics) for an error gunicorn raised on a request."""
    for name, status, reason, diagnostics in _STATUSES:
        cls = getattr(http_errors, name, None)
        if cls is not None and isinstance(exc, cls):
            return status, reason, diagnostics
    if isinstance(exc, http_errors.ParseException | ssl.SSLError):
        return 400, "Bad Request", "the request could not be parsed as HTTP/1.1"
    return 500, "Internal Server Error", "internal error"


def error_response(status: int, reason: str, diagnostics: str) -> bytes:
    code = "exception" if status >= 500 else "too-long" if status in (414, 431) else "structure"
    body = json.dumps(operation_outcome(code, diagnostics)).encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode("latin-1") + body


#: How long a stopping worker spends writing its buffered issued-card records (gunicorn's
#: graceful timeout, 10 s, bounds the whole stop).
DRAIN_S = 5.0
#: Requests on one keep-alive connection before the worker closes it.
MAX_REQUESTS_PER_CONNECTION = 100
#: Any positive sleep resumes on the loop's next iteration, after it polled for I/O
#: (``gevent.sleep(0)`` may resume before that).
_NEXT_TURN_S = 1e-6
#: Connections a worker accepts per turn of its event loop. gunicorn sets 1 with several
#: workers, so that one worker does not take a whole burst; but a busy worker's turn lasts
#: as long as all its ready requests, so 64 connections took seconds to be accepted. A few
#: per turn still leaves the other worker its share.
ACCEPT_PER_TURN = 8


class _TurnTakingServer(StreamServer):  # type: ignore[misc]
    """gevent's server, accepting ``ACCEPT_PER_TURN`` connections per turn whatever
    gunicorn's worker sets."""

    @property
    def max_accept(self) -> int:
        return ACCEPT_PER_TURN

    @max_accept.setter
    def max_accept(self, _value: int) -> None:
        pass


# gunicorn's GeventWorker.run builds its servers from this module-level name.
ggevent.StreamServer = _TurnTakingServer


class _Head:
    """Stands in for the client socket while gunicorn writes a response's head."""

    def __init__(self) -> None:
        self.data = b""

    def sendall(self, data: bytes) -> None:
        self.data += data


class OneWriteResponse(gunicorn_wsgi.Response):  # type: ignore[misc]
    """gunicorn's response, sending head and body in one write when the body is one piece
    of the declared length (see the module's docstring)."""

    sock: Any
    sent: int

    def write(self, arg: Any) -> None:
        if (
            self.headers_sent
            or self.sent
            or self.chunked
            or not isinstance(arg, bytes)
            or not arg
            or self.response_length != len(arg)
            # gunicorn versions without the flag (before 27) take their own path.
            or getattr(self, "_omits_body", True)
        ):
            super().write(arg)
            return
        client: Any = self.sock
        head = _Head()
        self.sock = head
        try:
            self.send_headers()  # gunicorn's own head, written to `head`
        finally:
            self.sock = client
        self.sent = len(arg)
        client.sendall(head.data + arg)


# gunicorn's wsgi.create builds each request's response from this module-level name.
gunicorn_wsgi.Response = OneWriteResponse


#: The last second's Date text, as one (second, text) pair so that a reader never sees one
#: second's time with another's text.
_date_of_second: list[tuple[int | None, str]] = [(None, "")]


def http_date(timestamp: float | None = None) -> str:
    """gunicorn's ``util.http_date``, the same text, written once per second. It is
    ``email.utils.formatdate(timestamp, usegmt=True)``, which is the format of
    ``datetime.fromtimestamp(timestamp, UTC)`` (rounded to the microsecond) in whole
    seconds: away from the end of a second, the timestamp's whole seconds."""
    now = time.time() if timestamp is None else timestamp
    second = int(now)
    if not 0 <= now - second < _CLEAR_OF_ROUNDING:
        # Before 1970, or where rounding to the microsecond may reach the next second.
        second = int(datetime.fromtimestamp(now, UTC).replace(microsecond=0).timestamp())
    cached_second, text = _date_of_second[0]
    if second != cached_second:
        text = email.utils.format_datetime(datetime.fromtimestamp(second, UTC), usegmt=True)
        _date_of_second[0] = (second, text)
    return text


_CLEAR_OF_ROUNDING = 0.999999


# gunicorn's response head reads the date through this module-level name.
gunicorn_util.http_date = http_date


#: gunicorn's own check of a peer against an allow list of addresses and networks (gunicorn
#: 24 and later; before, the check was a list lookup, with nothing to remember).
_gunicorn_ip_in_allow_list = getattr(gunicorn_message, "_ip_in_allow_list", None)
if _gunicorn_ip_in_allow_list is not None and list(
    inspect.signature(_gunicorn_ip_in_allow_list).parameters
) != ["ip_str", "allow_list", "networks"]:
    _gunicorn_ip_in_allow_list = None  # another gunicorn's check: left as it is
#: Peers' answers, by (address, the allow list's identity): (allow list, networks, answer).
_peer_answers: dict[tuple[str, int], tuple[Any, Any, bool]] = {}
#: Distinct peers remembered before the memo starts again (a client per address).
MAX_PEERS_REMEMBERED = 1024


def ip_in_allow_list(ip_str: str, allow_list: Any, networks: Any) -> bool:
    """gunicorn's ``_ip_in_allow_list``, remembered per peer address and allow list.

    gunicorn asks it for every request: is this peer a proxy allowed to set forwarding
    headers (``forwarded_allow_ips``)? It parses the address with ``ipaddress`` and tests
    it against each network: ~3.4 us a request, the same answer for every request of a
    connection (issue 18). The allow list and its networks are the worker's configuration,
    the same objects for its whole life; an answer is reused only for those same objects.
    """
    key = (ip_str, id(allow_list))
    known = _peer_answers.get(key)
    if known is not None and known[0] is allow_list and known[1] is networks:
        return known[2]
    assert _gunicorn_ip_in_allow_list is not None  # installed only where gunicorn has it
    answer = bool(_gunicorn_ip_in_allow_list(ip_str, allow_list, networks))
    if len(_peer_answers) >= MAX_PEERS_REMEMBERED:
        _peer_answers.clear()
    _peer_answers[key] = (allow_list, networks, answer)
    return answer


if _gunicorn_ip_in_allow_list is not None:
    # gunicorn's request parser looks the check up through this module-level name.
    gunicorn_message._ip_in_allow_list = ip_in_allow_list


def freeze_settings(cfg: Config) -> None:
    """Every gunicorn setting of this worker as a plain attribute of its ``cfg``.

    gunicorn reads settings through ``Config.__getattr__`` (a dictionary lookup and a
    method call each time), ~15 times a request: 1% of a served demo call (issue 18). A
    worker's settings never change (a reload starts new workers), so each is stored once
    on the worker's own copy of the configuration, where ordinary attribute lookup finds
    it first; ``Config``'s properties (``is_ssl``, ``address`` ...) stay properties.
    """
    for name, setting in cfg.settings.items():
        if not hasattr(type(cfg), name):
            cfg.__dict__[name] = setting.get()


class OperationOutcomeWorker(GeventWorker):  # type: ignore[misc]
    def init_process(self) -> None:
        freeze_settings(self.cfg)  # in the worker, after the fork: the master's stays as it is
        logging_locks.use_native_locks()  # shared with the database thread (logging_locks)
        super().init_process()  # runs the worker until it stops

    def handle_request(self, listener_name: Any, req: Any, sock: Any, addr: Any) -> bool:
        if getattr(req, "req_number", 1) >= MAX_REQUESTS_PER_CONNECTION:
            req.must_close = True  # answered with Connection: close
        try:
            return bool(super().handle_request(listener_name, req, sock, addr))
        finally:
            gevent.sleep(_NEXT_TURN_S)

    def run(self) -> None:
        super().run()  # returns once the worker stops accepting and its requests are done
        store = getattr(self.wsgi, "extensions", {}).get("mrcds_store")
        if store is not None:
            dropped = store.issued_writer.close(DRAIN_S)
            if dropped:
                self.log.error("stopping with %d issued-card record(s) not written", dropped)

    def handle_error(self, req: Any, client: Any, addr: Any, exc: BaseException) -> None:
        status, reason, diagnostics = error_status(exc)
        if status >= 500:
            self.log.error("error handling a request: %s", type(exc).__name__)
        else:
            self.log.warning("invalid request -> %d: %s", status, type(exc).__name__)
        with contextlib.suppress(OSError):  # the client may be gone
            client.sendall(error_response(status, reason, diagnostics))
