"""The floor: a Flask app under gunicorn that only parses the request body.

    gunicorn --workers 1 --worker-class gevent --preload benchmarks.bare_app:app

Same framework, same server and the same body as the service; it answers ``{"cards": []}``.
It parses with the standard library's ``json.loads``, the floor issue 12 defines.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Flask, request

app = Flask(__name__)


@app.post("/cds-services/<service_id>")
def call_service(service_id: str) -> dict[str, Any]:
    body = json.loads(request.get_data(cache=False))
    return {"cards": [] if isinstance(body, dict) else None}


@app.get("/healthz")
def health() -> dict[str, str]:
    return {"status": "ok"}
