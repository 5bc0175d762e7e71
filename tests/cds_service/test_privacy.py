"""Privacy: a chart with a distinctive name, birth date and note text goes through every
endpoint, the error paths included; none of it appears in the logs, nor in any response
body other than the cards."""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask

from cds_service.calls.demo import shift_times
from tests.cds_service import jwt_tokens as t
from tests.conftest import SERVICE_URL
from tests.serving import serve

ROOT = Path(__file__).resolve().parents[2]
NAME = "Zebulon Quixtable"
BIRTH_DATE = "1931-03-17"
NOTE = "Qx7 lemon-scented confidential remark"
SECRETS = (NAME, "Quixtable", BIRTH_DATE, NOTE, "Qx7")
FEEDBACK_URL = f"{SERVICE_URL}/feedback"


def _chart() -> dict[str, Any]:
    """A demo patient (cards expected) carrying the distinctive data."""
    path = ROOT / "examples" / "patients" / "02-cardiogenic-shock.json"
    from datetime import UTC, datetime

    body = shift_times(json.loads(path.read_text(encoding="utf-8")), datetime.now(UTC))
    patient = body["prefetch"]["patient"]
    patient["name"] = [{"text": NAME, "family": "Quixtable", "given": ["Zebulon"]}]
    patient["birthDate"] = BIRTH_DATE
    for entry in body["prefetch"]["conditions"]["entry"]:
        entry["resource"]["note"] = [{"text": NOTE}]
    return body


def _requests() -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(method, path, keyword arguments for the client) for every endpoint and error path."""
    chart = _chart()
    yield "POST", SERVICE_URL, {"json": chart}
    yield "GET", "/cds-services", {}
    yield "GET", "/healthz", {}
    # 400: schema violations carrying the data in the offending field
    yield "POST", SERVICE_URL, {"json": {**chart, "hookInstance": NAME}}
    yield "POST", SERVICE_URL, {"json": {**chart, "hook": NAME}}
    yield "POST", SERVICE_URL, {"json": {**chart, "context": {"patientId": BIRTH_DATE + " " + NAME}}}
    bad_prefetch = copy.deepcopy(chart)
    bad_prefetch["prefetch"][NAME] = NOTE
    yield "POST", SERVICE_URL, {"json": bad_prefetch}
    wrong_patient = {
        **chart,
        "fhirServer": "https://fhir.example.org",
        "fhirAuthorization": {"access_token": NOTE, "token_type": "Bearer", "patient": NAME},
    }
    yield "POST", SERVICE_URL, {"json": wrong_patient}
    # 400: not JSON, not Unicode, too deep, a number too long
    text = json.dumps(chart)
    for raw in (
        text[: len(text) // 2],
        text.replace(NAME, NAME + "\\ud800"),
        '{"a": "' + NAME + '", "b": ' + "[" * 5000,
    ):
        yield "POST", SERVICE_URL, {"data": raw, "content_type": "application/json"}
    # 404, 405, 413, 415 with the data in the path, the method's path and the type
    yield "POST", f"/cds-services/{NAME}", {"json": chart}
    yield "GET", f"/{NAME}/{BIRTH_DATE}", {}
    yield "PUT", SERVICE_URL, {"json": chart}
    yield "POST", SERVICE_URL, {"data": json.dumps(chart), "content_type": f"text/{BIRTH_DATE}"}
    # Feedback: stored (the comment is the note), a duplicate, and a violation
    item = {
        "card": "9368d37b-283f-44a0-93ea-547cebab93ed",
        "outcome": "overridden",
        "overrideReason": {"reason": {"code": "x", "system": "urn:x"}, "userComment": NOTE},
        "outcomeTimestamp": "2026-11-30T10:00:00Z",
    }
    yield "POST", FEEDBACK_URL, {"json": {"feedback": [item]}}
    yield "POST", FEEDBACK_URL, {"json": {"feedback": [item]}}
    invalid = {**item, "card": NAME, "outcomeTimestamp": BIRTH_DATE}
    yield "POST", FEEDBACK_URL, {"json": {"feedback": [invalid]}}


def _assert_clean(text: str, where: str) -> None:
    for secret in SECRETS:
        assert secret not in text, f"{secret!r} found in {where}"


def test_nothing_distinctive_in_logs_or_non_card_bodies(
    make_app: Callable[..., Flask], caplog: pytest.LogCaptureFixture
) -> None:
    client = make_app(max_resources=1000).test_client()
    with caplog.at_level(logging.DEBUG):
        for method, path, kwargs in _requests():
            response = client.open(path, method=method, **kwargs)
            assert response.status_code < 500, (method, path)
            body = response.get_data(as_text=True)
            if response.status_code == 200 and path == SERVICE_URL:
                assert response.get_json()["cards"], "the chart should give cards"
                continue  # card texts may speak of the patient's own facts
            _assert_clean(body, f"{method} {path} -> {response.status_code}")
    _assert_clean(caplog.text, "the logs")


@pytest.mark.e2e
def test_nothing_distinctive_in_the_logs_of_a_served_instance_with_jwt(tmp_path: Path) -> None:
    key = t.es384_key("privacy")
    issuers = tmp_path / "issuers.json"
    issuers.write_text(json.dumps([{"iss": t.ISS, "jwks": t.jwks(key)}]))
    env = {
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "MRCDS_TRUSTED_ISSUERS": str(issuers),
        "MRCDS_PUBLIC_BASE_URL": t.PUBLIC_BASE,
        "MRCDS_LOG_LEVEL": "DEBUG",
    }
    tokens: list[str] = []
    with serve(tmp_path, env, workers=1) as served:
        for method, path, kwargs in _requests():
            token = t.sign(key, t.claims(t.PUBLIC_BASE + path, tenant=NAME))
            tokens.append(token)
            headers = {"Authorization": f"Bearer {token}"}
            if "content_type" in kwargs:
                headers["Content-Type"] = kwargs.pop("content_type")
            response = requests.request(method, served.base + path, headers=headers, timeout=10, **kwargs)
            assert response.status_code < 500, (method, path)
            if not (response.status_code == 200 and path == SERVICE_URL):
                _assert_clean(response.text, f"{method} {path} -> {response.status_code}")
        # A refused token with the data in its claims.
        refused = t.sign(key, t.claims("https://elsewhere.example.org", tenant=NAME))
        headers = {"Authorization": f"Bearer {refused}"}
        requests.get(served.base + "/cds-services", headers=headers, timeout=10)
        log = served.log()
    _assert_clean(log, "the server log")
    for token in [*tokens, refused]:
        assert token.split(".")[2] not in log
