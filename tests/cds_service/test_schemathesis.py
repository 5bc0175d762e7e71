"""schemathesis against openapi.yaml: generated requests (valid and invalid) never get a
5xx or a response the document does not describe. The example count is bounded so the
suite stays fast; raise it locally with MRCDS_TEST_SCHEMATHESIS_EXAMPLES."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import checks

from cds_service.http.app import create_app

MAX_EXAMPLES = int(os.environ.get("MRCDS_TEST_SCHEMATHESIS_EXAMPLES", "25"))
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
]


# One app for every generated case: authentication off on loopback (as the quick start),
# a feedback store in a new SQLite file (an in-memory database loses its schema with the
# connection that made it, and /readyz rightly says so).
_FOLDER = Path(tempfile.mkdtemp(prefix="mrcds-schemathesis-"))
atexit.register(shutil.rmtree, _FOLDER, ignore_errors=True)
_DATABASE = _FOLDER / "feedback.sqlite3"
APP = create_app({"database_url": f"sqlite:///{_DATABASE}", "warm_up": False})
schema = schemathesis.openapi.from_wsgi("/openapi.yaml", APP)


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)
def test_no_server_error_and_every_response_as_documented(case: Any) -> None:
    case.call_and_validate(checks=CHECKS)
