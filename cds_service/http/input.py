"""Reading a JSON body safely, whatever the caller sends.

Order: size from ``Content-Length`` (413 before reading), media type (415), then the body
read in bounded pieces (a chunked body over the limit is 413, never silently cut off; a
broken chunked encoding is 400) within a deadline (408: under ``mr-cds serve`` a client
dribbling its body holds a connection that long at most), then JSON (400), then a walk that
bounds nesting depth, keys per object and resource count, and refuses strings no database
can store (unpaired surrogates, and NUL, which PostgreSQL text cannot hold and FHIR strings
never contain). Every message names a position or a JSON path, never what the caller sent:
it may be patient data.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
from collections.abc import Iterable, Iterator
from typing import Any

from flask import Request
from gunicorn.http.errors import ParseException
from werkzeug.exceptions import ClientDisconnected

from cds_service.core.errors import (
    BadRequest,
    MalformedJson,
    PayloadTooLarge,
    RequestTimeout,
    SchemaViolation,
    UnsupportedMediaType,
)
from cds_service.core.json_codec import PARSER_REFUSES_SURROGATES, WRITER_DEPTH_LIMIT, loads, written_or_none
from cds_service.core.json_path import json_path
from cds_service.db.offload import gevent_active

#: Deeper than any CDS Hooks message needs (a FHIR resource with 120 nested extensions in
#: a prefetch Bundle is about 250 levels); well below Python's recursion limit, which the
#: schema validator and the FHIR models would otherwise hit.
MAX_DEPTH = 400
#: More keys than any FHIR resource or CDS Hooks object has (a Patient with every element
#: and extension is under 100): an object with more is refused before any schema sees it.
MAX_KEYS = 1000
_READ_SIZE = 64 * 1024
#: A "resourceType" key as written in JSON text (escaped spellings are left to the walk).
_RESOURCE_KEY = re.compile(rb'"resourceType"\s*:')
_QUOTED_RESOURCE_TYPE = b'"resourceType"'
#: JSON can carry NUL only escaped; a body without this text holds no NUL.
_ESCAPED_NUL = re.compile(rb"\\u0000")
#: Any \u escape (it may spell a NUL, a surrogate or a key's letters).
_UNICODE_ESCAPE = re.compile(rb"\\u")


def read_json_object(
    request: Request,
    max_bytes: int,
    *,
    max_resources: int | None = None,
    deadline_s: float | None = None,
) -> dict[str, Any]:
    """The body as a JSON object, or one of the 4xx errors (413, 415, 408, 400)."""
    if request.content_length is not None and request.content_length > max_bytes:
        raise PayloadTooLarge(
            f"request body exceeds the limit of {max_bytes} bytes", expression=["Content-Length"]
        )
    if not _is_json(request.mimetype):
        raise UnsupportedMediaType("Content-Type must be application/json", expression=["Content-Type"])
    return checked_json_object(read_body(request, max_bytes, deadline_s), max_resources)


def checked_json_object(raw: bytes, max_resources: int | None) -> dict[str, Any]:
    """The raw body parsed and checked (400 or 413 as ``read_json_object`` says)."""
    quoted = 0
    if max_resources is not None:
        # Each match of _RESOURCE_KEY starts with its own "resourceType", and bytes.count
        # finds at least as many of those apart: within the bound, no regex is needed.
        quoted = raw.count(_QUOTED_RESOURCE_TYPE)
        if quoted > max_resources and len(_RESOURCE_KEY.findall(raw)) > max_resources:
            # Before parsing: a huge chart costs a scan, not a parse (the walk below is exact).
            raise _too_many_resources(max_resources)
    body = parse_json_object(raw)
    # Without a \u escape no NUL is in the text (JSON writes one only so), and every key
    # "resourceType" is spelled so (the other escapes stand for characters it does not
    # hold), which ``quoted`` counted: then within the bound, the resources need no count
    # after parsing. A narrative's escaped quotes (\") keep a body plain.
    plain = not _holds_escape(raw, _UNICODE_ESCAPE)
    strings_checked = PARSER_REFUSES_SURROGATES and (plain or not _holds_escape(raw, _ESCAPED_NUL))
    if plain and max_resources is not None and quoted <= max_resources:
        max_resources = None
    # A small body is written back whole at once: one write clears it (its levels above
    # the Bundle entries were walked in Python, 6 of the check's 8 us on a demo chart).
    write_from = 1 if len(raw) <= WRITE_WHOLE_UP_TO else None
    check_structure(body, max_resources, strings_checked=strings_checked, write_from=write_from)
    return body


def _holds_escape(raw: bytes, escape: re.Pattern[bytes]) -> bool:
    """Whether ``raw`` holds the text of ``escape`` (which starts with a backslash): what
    ``in`` answers, faster (issue 18). For a two-byte text ``bytes.__contains__`` reads at
    about 1 GB/s (0.28 ms at 450 resources, 2.9 ms at 4,400), the regex's search about 3 GB/s,
    and finding a single byte (memchr) is faster still: a body with no backslash at all,
    which is most bodies without narratives, is answered by that alone.
    """
    first = raw.find(b"\\")
    return first >= 0 and escape.search(raw, first) is not None


def read_body(request: Request, max_bytes: int, deadline_s: float | None = None) -> bytes:
    """The raw body, at most ``max_bytes``: with Content-Length as declared, without it
    (chunked) read piece by piece and refused once over the limit; 408 past ``deadline_s``."""
    if deadline_s is None or not gevent_active():
        # Elsewhere the server's own socket timeouts apply.
        return _read_body(request, max_bytes)
    return _read_within(request, max_bytes, deadline_s)


def _read_within(request: Request, max_bytes: int, deadline_s: float) -> bytes:
    """Under gevent, the read interrupted after ``deadline_s``; then no more is read from the
    client (the rest of its body is never waited for, and the connection closes after the
    408). The timeout raises itself, and the 408 is made only when it fires: building the
    error for every request, and a generator context manager, were half of this (issue 18).
    """
    import gevent

    timeout = gevent.Timeout(deadline_s)
    timeout.start()
    try:
        return _read_body(request, max_bytes)
    except gevent.Timeout as fired:
        if fired is not timeout:
            raise
        client = request.environ.get("gunicorn.socket")
        if client is not None:
            with contextlib.suppress(OSError):
                client.shutdown(socket.SHUT_RD)
        raise RequestTimeout(f"request body not received within {deadline_s:g} s") from None
    finally:
        timeout.close()


def _read_body(request: Request, max_bytes: int) -> bytes:
    try:
        if request.content_length is not None:
            return _read_declared(request, request.content_length)
        stream = request.environ.get("wsgi.input")
        if stream is None:
            return b""
        pieces: list[bytes] = []
        size = 0
        while piece := stream.read(_READ_SIZE):
            size += len(piece)
            if size > max_bytes:
                raise PayloadTooLarge(
                    f"request body exceeds the limit of {max_bytes} bytes", expression=["(body)"]
                )
            pieces.append(piece)
        return b"".join(pieces)
    except (OSError, ParseException):
        # The server's body reader failed: a bad chunk size or a body cut short.
        raise BadRequest(
            "request body could not be read (malformed chunked encoding or truncated body)",
            expression=["(body)"],
        ) from None


def _read_declared(request: Request, length: int) -> bytes:
    """A body of declared length (at most the limit, checked before): what
    ``request.get_data()`` returns, with fewer copies of a large body.

    werkzeug reads its stream 64 KiB at a time, and on each step gunicorn's reader copied
    all it held read ahead (up to 1 MiB): 13 ms for a 3.2 MB chart, against 4 ms for the
    bare app's one read (issue 18). Where the server ends the input at the body's end
    (``wsgi.input_terminated``: gunicorn does), werkzeug's stream only adds the limit (never
    reached: we ask for ``length``) and turns a failed read into its 400, which is raised
    here too; the body is then asked for in one read. Elsewhere werkzeug's stream is read
    the same way. The loop only matters for a stream that returns less than asked; an empty
    read ends it, as it ends ``get_data``.
    """
    direct = "wsgi.input_terminated" in request.environ
    stream = request.input_stream if direct else request.stream
    pieces: list[bytes] = []
    left = length
    while left > 0:
        try:
            piece = stream.read(left)
        except (OSError, ValueError):
            if not direct:
                raise
            raise ClientDisconnected() from None  # what werkzeug's stream raises
        if not piece:
            break
        pieces.append(piece)
        left -= len(piece)
    return pieces[0] if len(pieces) == 1 else b"".join(pieces)


def parse_json_object(raw: bytes) -> dict[str, Any]:
    try:
        body = loads(raw)
    except UnicodeDecodeError:
        raise MalformedJson("request body is not UTF-8 encoded JSON", expression=["(body)"]) from None
    except json.JSONDecodeError as exc:
        # Position only: the text around it may be patient data.
        raise MalformedJson(
            f"request body is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})",
            expression=["(body)"],
        ) from None
    except RecursionError:
        raise MalformedJson(
            f"request body is nested deeper than {MAX_DEPTH} levels", expression=["(body)"]
        ) from None
    except ValueError:
        # Python refuses integers of more than 4,300 digits; NaN and Infinity are not JSON.
        raise MalformedJson(
            "request body holds a number that cannot be used (too many digits, NaN or Infinity)",
            expression=["(body)"],
        ) from None
    if not isinstance(body, dict):
        raise SchemaViolation("request body must be a JSON object", expression=["(body)"])
    return body


def _too_many_resources(max_resources: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"request holds more than {max_resources} FHIR resources (MRCDS_MAX_RESOURCES)",
        expression=["prefetch"],
    )


def check_structure(
    body: dict[str, Any],
    max_resources: int | None,
    *,
    strings_checked: bool = False,
    write_from: int | None = None,
) -> None:
    """Depth, resource count and encodable strings, in one walk without recursion.

    ``strings_checked``: the parser already refused unpaired surrogates (orjson does), so
    strings need no look. A quick pass over the containers clears almost every body; only
    one it cannot clear takes the exact walk, which names the first offending path.
    ``write_from``: the depth from which containers are written back rather than walked
    (``WRITE_FROM_DEPTH`` when None).
    """
    if strings_checked and _cleared_by_writer(body, max_resources, write_from):
        return
    if _plainly_fine(body, max_resources, strings_checked):
        return
    _exact_walk(body, max_resources)


#: A key "resourceType" as orjson writes it (compact, never escaped: its letters need none).
_WRITTEN_RESOURCE_KEY = b'"resourceType":'
#: Every key ends so when written (in a string, an escaped quote may add to the count).
_WRITTEN_KEY_END = b'":'
#: The fewest bytes a key adds to what orjson writes: ``"":``, a one-character value and a
#: comma. An object of k keys is at least 5k + 1 bytes (braces, no last comma), so no
#: object in a written container of at most ``5 * MAX_KEYS`` bytes holds more than
#: ``MAX_KEYS`` keys: its length answers without counting them.
_BYTES_PER_KEY = 5
#: Containers this deep and deeper are checked by writing them back (resources in a
#: prefetch Bundle are at depth 6: body, prefetch, Bundle, entry, entry item, resource).
WRITE_FROM_DEPTH = 5
#: A body of at most this many bytes is written back whole (from depth 1): a demo chart's
#: 3-11 KB hold a few hundred keys, so one write clears it.
WRITE_WHOLE_UP_TO = 16 * 1024


def _cleared_by_writer(
    body: dict[str, Any], max_resources: int | None, write_from: int | None = None
) -> bool:
    """True when the exact walk would find nothing, mostly decided in C (issue 18).

    The top levels are walked here; each container at ``write_from`` (``WRITE_FROM_DEPTH``
    by default: a Bundle entry, in a chart; 1 for a small body, which is then written
    whole) is written back with orjson instead of walked. Depth: orjson refuses
    nesting of ``WRITER_DEPTH_LIMIT`` (255) containers, so what it writes ends well above
    ``MAX_DEPTH``. Keys: each key is written once ending in ``":``, so a written container
    with at most ``MAX_KEYS`` of those has no object with more (one with more is walked
    into); one short enough cannot hold such an object, and is not counted (0.7 -> 0.45 ms
    at 450 resources). Resources: each dict with a "resourceType" key is written with
    ``"resourceType":`` once; inside a string a quote is written ``\\"``, so text never
    adds to either count, and only a key ending in ``"resourceType`` can (a higher count,
    which leaves the body to the passes below). 0.7 against 2.2-2.5 ms at 450 resources,
    8 against 31-41 ms at 4,400. Strings: only when the parser refused unpaired surrogates.
    """
    if WRITER_DEPTH_LIMIT is None:
        return False
    if write_from is None:
        write_from = WRITE_FROM_DEPTH
    resources = 0
    level: list[Any] = [body]
    depth = 1
    while level:
        if depth >= MAX_DEPTH:
            return False
        write = depth >= write_from
        if write and depth + WRITER_DEPTH_LIMIT - 2 >= MAX_DEPTH:
            return False  # what orjson writes from here could reach MAX_DEPTH
        below: list[Any] = []
        for value in level:
            if write:
                written = written_or_none(value)
                if written is None:
                    return False  # deeper than orjson writes, or a value it cannot write
                if _few_keys(written):
                    if max_resources is not None:
                        resources += written.count(_WRITTEN_RESOURCE_KEY)
                    continue
            children: Iterable[Any]
            if isinstance(value, dict):
                if len(value) > MAX_KEYS:
                    return False
                if "resourceType" in value:
                    resources += 1
                children = value.values()
            else:
                children = value
            below.extend([c for c in children if isinstance(c, _CONTAINERS)])
        level = below
        depth += 1
    return max_resources is None or resources <= max_resources


def _few_keys(written: bytes) -> bool:
    """No object in ``written`` (compact JSON as orjson writes it) has more than MAX_KEYS keys.

    Cheapest test first: the length (see ``_BYTES_PER_KEY``); then the quotes, of which a
    key has two (so keys <= quotes / 2), counted as one byte, three times faster than the
    two-byte ``":`` (5 us on a 6 KB demo chart); then the ``":`` that ends each key.
    """
    return (
        len(written) <= _BYTES_PER_KEY * MAX_KEYS
        or written.count(b'"') <= 2 * MAX_KEYS
        or written.count(_WRITTEN_KEY_END) <= MAX_KEYS
    )


_CONTAINERS = (dict, list)  # a tuple: isinstance with one is faster than with dict | list


def _plainly_fine(body: dict[str, Any], max_resources: int | None, strings_checked: bool) -> bool:
    """True when the exact walk would find nothing. Level by level over containers only, no
    paths built: 1.2-2 ms on a 450-resource chart where the exact walk takes 6-7 ms."""
    resources = 0
    level: list[Any] = [body]
    depth = 1
    while level:
        if depth >= MAX_DEPTH:
            return False  # a child may be deeper than allowed: the exact walk says where
        below: list[Any] = []
        for value in level:
            children: Iterable[Any]
            if isinstance(value, dict):
                if "resourceType" in value:
                    resources += 1
                if len(value) > MAX_KEYS:
                    return False
                if not strings_checked and not _all_encodable(value):
                    return False
                children = value.values()
            else:
                children = value
            if not strings_checked and not _all_encodable(c for c in children if isinstance(c, str)):
                return False
            below.extend([c for c in children if isinstance(c, _CONTAINERS)])
        level = below
        depth += 1
    return max_resources is None or resources <= max_resources


def _all_encodable(texts: Iterable[str]) -> bool:
    return all("\x00" not in text and (text.isascii() or _encodable(text)) for text in texts)


def _exact_walk(body: dict[str, Any], max_resources: int | None) -> None:
    resources = 0
    for trail, depth, value in _walk(body):
        if depth > MAX_DEPTH:
            raise MalformedJson(
                f"request body is nested deeper than {MAX_DEPTH} levels", expression=[_path(trail)]
            )
        if isinstance(value, str):
            if not value.isascii() and not _encodable(value):
                raise MalformedJson(
                    "a string holds an unpaired surrogate (not valid Unicode)", expression=[_path(trail)]
                )
            if "\x00" in value:
                raise MalformedJson("a string holds a NUL character", expression=[_path(trail)])
        elif isinstance(value, dict):
            if len(value) > MAX_KEYS:
                raise PayloadTooLarge(f"an object holds more than {MAX_KEYS} keys", expression=[_path(trail)])
            if any(not key.isascii() and not _encodable(key) for key in value):
                raise MalformedJson("a key holds an unpaired surrogate", expression=[_path(trail)])
            if any("\x00" in key for key in value):
                raise MalformedJson("a key holds a NUL character", expression=[_path(trail)])
            if "resourceType" in value:
                resources += 1
                if max_resources is not None and resources > max_resources:
                    raise _too_many_resources(max_resources)


#: Where a value sits: (parent trail, key or index); rendered only for an error.
_Trail = tuple[Any, str | int] | None


def _walk(body: Any) -> Iterator[tuple[_Trail, int, Any]]:
    stack: list[tuple[_Trail, int, Any]] = [(None, 1, body)]
    while stack:
        trail, depth, value = stack.pop()
        yield trail, depth, value
        if isinstance(value, dict):
            stack.extend(((trail, k), depth + 1, v) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend(((trail, i), depth + 1, v) for i, v in enumerate(value))


def _path(trail: _Trail) -> str:
    steps: list[str | int] = []
    while trail is not None:
        trail, step = trail
        steps.append(step)
    return json_path(reversed(steps))


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _is_json(mimetype: str) -> bool:
    return mimetype == "application/json" or (
        mimetype.startswith("application/") and mimetype.endswith("+json")
    )
