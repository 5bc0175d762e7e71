"""JSON in and out of the service: orjson when it is installed, else the standard library.

orjson (https://github.com/ijl/orjson) parses a chart 1.3-1.8x faster than ``json.loads``
and serialises the response faster too. Both paths accept and reject the same requests
where it matters for safety, and every refusal is a ``json.JSONDecodeError`` (a
``ValueError``) whose message names a position, never the text around it:

* nesting deeper than 1024 levels: orjson refuses it ("depth limit exceeded"); the
  standard library would recurse until ``RecursionError``, so the fallback maps that too;
* integers too long to be a number we could use: orjson reads integers beyond 64 bits as
  floats and refuses a 5,000-digit one ("number is infinity when parsed as double"); the
  standard library refuses more than 4,300 digits (``sys.int_info``) with a plain
  ``ValueError``, mapped here;
* bytes that are not UTF-8: orjson says "str is not valid UTF-8"; the standard library
  raises ``UnicodeDecodeError``, mapped here;
* ``NaN`` and ``Infinity``, which RFC 8259 does not allow, are refused by both.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from flask import Response
from flask.json.provider import DefaultJSONProvider

try:
    import orjson
except ImportError:  # pragma: no cover - a dependency; the fallback serves platforms without a wheel
    orjson = None  # type: ignore[assignment]

#: What parses requests and serialises responses: "orjson" or "json".
BACKEND = "json" if orjson is None else "orjson"
#: orjson refuses unpaired surrogates (escaped or not); the standard library returns them.
PARSER_REFUSES_SURROGATES = orjson is not None
_ORJSON_OPTIONS = (
    0
    if orjson is None
    else orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_NON_STR_KEYS
)


def loads(raw: bytes | str) -> Any:
    """Parse a JSON document; every refusal is a ``json.JSONDecodeError``."""
    if orjson is not None:
        return orjson.loads(raw)  # orjson.JSONDecodeError subclasses json.JSONDecodeError
    return _stdlib_loads(raw)


def _stdlib_loads(raw: bytes | str) -> Any:
    try:
        return json.loads(raw, parse_constant=_refuse_constant)
    except json.JSONDecodeError:
        raise
    except UnicodeDecodeError as exc:
        raise json.JSONDecodeError("str is not valid UTF-8", "", exc.start) from None
    except RecursionError:
        raise json.JSONDecodeError("depth limit exceeded", "", 0) from None
    except ValueError:  # an integer beyond sys.int_info's digit limit, NaN or Infinity
        raise json.JSONDecodeError("number cannot be used", "", 0) from None


def _refuse_constant(name: str) -> Any:
    raise ValueError("NaN and Infinity are not JSON numbers")


def dumps(value: Any, default: Callable[[Any], Any] | None = None) -> bytes:
    """Compact UTF-8 JSON, keys in insertion order.

    ``default`` converts what JSON has no type for; datetimes and dataclasses go to it too,
    so both backends write them the same way. Non-string keys become strings, as with the
    standard library; what orjson cannot write (an integer beyond 64 bits) is written by
    the standard library.
    """
    if orjson is not None:
        try:
            return orjson.dumps(value, default=default, option=_ORJSON_OPTIONS)
        except orjson.JSONEncodeError:
            pass  # the standard library writes it, or raises its own TypeError
    return json.dumps(value, default=default, ensure_ascii=False, separators=(",", ":")).encode()


def written_or_none(value: Any) -> bytes | None:
    """``value`` as orjson writes it with no options, or None (no orjson, or it refused).

    For the structure check (``cds_service.http.input``): orjson refuses to write nesting
    deeper than ``WRITER_DEPTH_LIMIT`` containers, and writes a key as its characters
    between quotes, escaping only ``"``, ``\\`` and control characters.
    """
    if orjson is None:
        return None
    try:
        return orjson.dumps(value)
    except orjson.JSONEncodeError:
        return None


def _writer_depth_limit() -> int | None:
    """The container nesting orjson refuses to write (255 in orjson 3), found by trying."""
    if orjson is None:
        return None
    nested: list[Any] = []
    for depth in range(2, 2049):
        nested = [nested]
        try:
            orjson.dumps(nested)
        except orjson.JSONEncodeError:
            return depth
    return None


#: Nesting (in containers) that ``written_or_none`` refuses; None when it has no such limit.
WRITER_DEPTH_LIMIT = _writer_depth_limit()


class JsonProvider(DefaultJSONProvider):
    """Flask's JSON provider with ``dumps`` / ``loads`` above; keys keep their order.

    Responses are compact UTF-8 (Flask's default escapes non-ASCII as ``\\uXXXX``: the same
    JSON, in more bytes). Anything Flask passes extra arguments for (debug indentation)
    takes Flask's own path.
    """

    sort_keys = False

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        if kwargs:
            return super().dumps(obj, **kwargs)
        return dumps(obj, default=self.default).decode()

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return super().loads(s, **kwargs) if kwargs else loads(s)

    def response(self, *args: Any, **kwargs: Any) -> Response:
        obj = self._prepare_response_obj(args, kwargs)
        if (self.compact is None and self._app.debug) or self.compact is False:
            text = super().dumps(obj, indent=2).encode()  # readable while debugging
        else:
            text = dumps(obj, default=self.default)
        return Response(text + b"\n", mimetype=self.mimetype)
