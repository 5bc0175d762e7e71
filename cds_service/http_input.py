"""Reading a JSON body safely: size from Content-Length first, then type, then JSON."""

from __future__ import annotations

import json
from typing import Any

from flask import Request

from cds_service.errors import MalformedJson, PayloadTooLarge, SchemaViolation, UnsupportedMediaType
from cds_service.json_codec import loads


def read_json_object(request: Request, max_bytes: int) -> dict[str, Any]:
    """The body as a JSON object, or one of the 4xx errors (413, 415, 400)."""
    if request.content_length is not None and request.content_length > max_bytes:
        raise PayloadTooLarge(
            f"request body of {request.content_length} bytes exceeds the limit of {max_bytes} bytes",
            expression=["Content-Length"],
        )
    if not _is_json(request.mimetype):
        shown = request.mimetype or "none"
        raise UnsupportedMediaType(
            f"Content-Type must be application/json (got {shown})", expression=["Content-Type"]
        )
    raw = request.get_data(cache=False)  # bounded by MAX_CONTENT_LENGTH when no Content-Length
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
    if not isinstance(body, dict):
        raise SchemaViolation("request body must be a JSON object", expression=["(body)"])
    return body


def _is_json(mimetype: str) -> bool:
    return mimetype == "application/json" or (
        mimetype.startswith("application/") and mimetype.endswith("+json")
    )
