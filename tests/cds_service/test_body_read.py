"""A body with Content-Length is read as ``request.get_data()`` would read it.

Under gunicorn (``wsgi.input_terminated``) the view asks the server's stream for the whole
body at once instead of werkzeug's 64 KiB steps (issue 18). Whatever the stream does
(short reads, more bytes than declared, an early end, a failed read), the bytes or the
error are those of werkzeug's ``get_data`` on the same request.
"""

from __future__ import annotations

import io
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from werkzeug.exceptions import ClientDisconnected
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from cds_service.http.input import read_body

LIMIT = 1000


class Dribbling:
    """A server's input stream like gunicorn's (``read`` only): at most ``step`` bytes per
    read, then ``fail`` if set."""

    def __init__(self, data: bytes, step: int, fail: BaseException | None = None) -> None:
        self._data = io.BytesIO(data)
        self._step = step
        self._fail = fail
        self.reads = 0

    def read(self, size: int | None = -1) -> bytes:
        self.reads += 1
        wanted = self._step if size is None or size < 0 else min(size, self._step)
        piece = self._data.read(wanted)
        if not piece and self._fail is not None:
            raise self._fail
        return piece


def _request(
    sent: bytes, declared: int, step: int, *, terminated: bool, fail: BaseException | None = None
) -> Request:
    environ: dict[str, Any] = EnvironBuilder(
        method="POST", path="/x", data=b"", content_type="application/json"
    ).get_environ()
    environ["CONTENT_LENGTH"] = str(declared)
    environ["wsgi.input"] = Dribbling(sent, step, fail)
    if terminated:
        environ["wsgi.input_terminated"] = True
    request = Request(environ)
    request.max_content_length = LIMIT  # as create_app sets MAX_CONTENT_LENGTH
    return request


def _outcome(read: Any) -> tuple[str, bytes | type[BaseException]]:
    try:
        return "bytes", read()
    except Exception as exc:
        return "error", type(exc)


@settings(max_examples=200, deadline=None)
@given(
    body=st.binary(max_size=300),
    extra=st.binary(max_size=20),
    short_by=st.integers(min_value=0, max_value=5),
    step=st.integers(min_value=1, max_value=400),
    terminated=st.booleans(),
    fail=st.sampled_from([None, OSError("reset"), ValueError("closed")]),
)
def test_the_body_read_is_what_get_data_reads(
    body: bytes, extra: bytes, short_by: int, step: int, terminated: bool, fail: BaseException | None
) -> None:
    # The stream may hold more than declared (the next request's bytes) or less (a client
    # that stopped sending), deliver it in pieces, and fail once it runs dry short of the
    # declared length (a server's reader never fails once the declared body is in: gunicorn's
    # answers b"", as werkzeug's extra read after the body then gets).
    declared = len(body)
    sent = body[: max(0, declared - short_by)] + (extra if short_by == 0 else b"")
    if len(sent) >= declared:
        fail = None
    ours = _outcome(
        lambda: read_body(_request(sent, declared, step, terminated=terminated, fail=fail), LIMIT)
    )
    werkzeugs = _outcome(
        lambda: _request(sent, declared, step, terminated=terminated, fail=fail).get_data(cache=False)
    )
    if terminated and extra and short_by == 0:
        # A server that ends the input does so at the body's end: werkzeug would read on
        # to the limit, which gunicorn never lets it; we stop at Content-Length.
        assert ours == ("bytes", body)
    else:
        assert ours == werkzeugs


def test_a_whole_body_is_asked_for_in_one_read_where_the_server_ends_the_input() -> None:
    body = b'{"a": "' + b"x" * 900 + b'"}'
    request = _request(body, len(body), step=len(body), terminated=True)
    assert read_body(request, LIMIT) == body
    assert request.environ["wsgi.input"].reads == 1


def test_a_failed_read_is_werkzeugs_400_where_the_server_ends_the_input() -> None:
    request = _request(b"{}", 10, step=1, terminated=True, fail=OSError("reset"))
    with pytest.raises(ClientDisconnected):
        read_body(request, LIMIT)
