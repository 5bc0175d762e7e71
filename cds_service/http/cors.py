"""CORS on every response, preflight included.

The public CDS Hooks sandbox is a browser app calling from its own origin: without these
headers (and a 2xx preflight allowing ``Authorization``) it never POSTs. The CDS Hooks spec
defines no header values (2.0 #cross-origin-resource-sharing); origins are configurable.
"""

from __future__ import annotations

from flask import Request, Response

ALLOW_METHODS = "GET, POST, OPTIONS"
ALLOW_HEADERS = "Authorization, Content-Type"
MAX_AGE_S = "600"


def apply_cors(request: Request, response: Response, allowed_origins: tuple[str, ...]) -> Response:
    """Add CORS headers when the request comes from an allowed origin."""
    if allowed_origins and "*" not in allowed_origins:
        # The answer depends on Origin whether or not this request sent one: a shared cache
        # must not hand one origin's answer (or a no-origin answer) to another.
        response.vary.add("Origin")
    origin = request.headers.get("Origin")
    if not origin:
        return response
    if "*" in allowed_origins:
        response.headers["Access-Control-Allow-Origin"] = "*"
    elif origin in allowed_origins:
        response.headers["Access-Control-Allow-Origin"] = origin
    else:
        return response
    response.headers["Access-Control-Allow-Methods"] = ALLOW_METHODS
    response.headers["Access-Control-Allow-Headers"] = ALLOW_HEADERS
    response.headers["Access-Control-Max-Age"] = MAX_AGE_S
    return response
