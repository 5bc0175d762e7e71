"""openapi.yaml: generated from the schemas, valid, served, and naming exactly the app's routes."""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from flask import Flask
from flask.testing import FlaskClient
from openapi_spec_validator import validate

from cds_service.http.openapi_doc import render

ROOT = Path(__file__).resolve().parents[2]


def _spec() -> dict[str, object]:
    return yaml.safe_load((ROOT / "openapi.yaml").read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def test_committed_openapi_is_what_the_generator_writes() -> None:
    assert (ROOT / "openapi.yaml").read_text(encoding="utf-8") == render(), (
        "openapi.yaml is out of date: run `python -m cds_service.http.openapi_doc > openapi.yaml`"
    )


def test_openapi_is_a_valid_3_1_document() -> None:
    spec = _spec()
    assert spec["openapi"] == "3.1.0"
    validate(spec)


def test_app_routes_and_openapi_paths_are_the_same_set(app: Flask) -> None:
    routes = {
        re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        for rule in app.url_map.iter_rules()
        if rule.endpoint != "static"
    }
    assert routes == set(_spec()["paths"])  # type: ignore[arg-type]


def test_every_openapi_operation_matches_a_route_method(app: Flask) -> None:
    methods = {
        re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule): {m.lower() for m in rule.methods or ()}
        for rule in app.url_map.iter_rules()
    }
    for path, item in _spec()["paths"].items():  # type: ignore[attr-defined]
        assert set(item) <= methods[path], path


def test_openapi_is_served_as_yaml(client: FlaskClient) -> None:
    response = client.get("/openapi.yaml")
    assert response.status_code == 200
    assert response.mimetype == "application/yaml"
    assert response.get_data(as_text=True) == (ROOT / "openapi.yaml").read_text(encoding="utf-8")


def test_openapi_can_be_hidden(make_app) -> None:  # type: ignore[no-untyped-def]
    assert make_app(expose_openapi=False).test_client().get("/openapi.yaml").status_code == 404
