"""Shared fixtures: an app per test with its own SQLite file, and request builders."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import settings

from cds_service.db.store import Store
from cds_service.http.app import create_app

# No timing assertions in tests: hypothesis's per-example deadline (200 ms by default) fails
# on a loaded machine, not on a slow service. Each test's @settings says deadline=None too
# (tests/test_test_layout.py), so that it also holds when run without this conftest.
settings.register_profile("mr-cds", deadline=None)
settings.load_profile("mr-cds")

#: Tests that take seconds each, left out of the fast loop (`pytest -m "not slow and not e2e"`,
#: README "Development"); CI runs them. Listed here, by node id without parameters, so that
#: the test files stay as they are; tests/test_test_layout.py checks that each still exists.
SLOW = frozenset(
    {
        # Property searches over hundreds of generated charts.
        "tests/hooks/test_properties.py::test_evaluate_never_raises_and_cards_stay_valid",
        "tests/fhir_mappings/test_lazy_validation.py::test_lazy_validation_gives_the_facts_and_cards_of_full_validation",
        "tests/fhir_mappings/test_lazy_validation.py::test_cards_are_byte_identical_when_every_resource_is_valid",
        "tests/fhir_mappings/test_fast_validation.py::test_a_mutated_real_resource_is_cleared_only_when_the_model_accepts_it",
        "tests/fhir_mappings/test_fast_validation.py::test_a_generated_primitive_is_cleared_only_when_the_model_accepts_it",
        "tests/fhir_mappings/test_fast_validation.py::test_a_mutated_real_resource_is_passed_in_place_only_when_the_model_accepts_its_projection",
        "tests/cds_service/test_structure_check.py::test_quick_pass_decides_as_the_exact_walk",
        # Requests generated from openapi.yaml.
        "tests/cds_service/test_schemathesis.py::test_no_server_error_and_every_response_as_documented",
        # Each starts `mr-cds serve` in a new process, which must refuse to start.
        "tests/cds_service/test_settings.py::test_a_bad_setting_stops_serve_with_one_line_naming_the_variable",
        "tests/cds_service/test_storage_cli.py::test_serve_refuses_a_database_it_cannot_reach_in_one_line",
        "tests/cds_service/test_site_codes.py::test_a_bad_site_file_stops_serve_with_one_line_naming_the_variable",
        "tests/cds_service/test_secret_files.py::test_serve_reads_the_file_and_says_the_database_without_the_password",
        "tests/cds_service/test_secret_files.py::test_an_issuers_file_mounted_as_a_folder_says_so_in_one_line",
        "tests/cds_service/test_metrics_port.py::test_serve_refuses_a_metrics_port_equal_to_its_own",
    }
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.nodeid.split("[", 1)[0] in SLOW:
            item.add_marker(pytest.mark.slow)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    # tests/serving.py refuses to start a server for a test that is neither e2e nor slow,
    # so that the fast loop never waits for one.
    from tests import serving

    serving.RUNNING_TEST = item


SERVICE_ID = "severe-mitral-regurgitation"
SERVICE_URL = f"/cds-services/{SERVICE_ID}"
DATA = Path(__file__).parent / "cds_service" / "data"


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file at the newest schema revision, migrated once per test session: each app
    gets a copy, so only the migration tests pay for migrating (fsync makes it slow here)."""
    path = tmp_path_factory.mktemp("template") / "migrated.sqlite3"
    Store.open(f"sqlite:///{path}", upgrade=True).dispose()
    return path


@pytest.fixture
def make_app(tmp_path: Path, migrated_sqlite: Path) -> Callable[..., Flask]:
    def factory(**config: Any) -> Flask:
        if "database_url" not in config:
            database = tmp_path / "feedback.sqlite3"
            if not database.exists():
                shutil.copyfile(migrated_sqlite, database)
            config["database_url"] = f"sqlite:///{database}"
        return create_app(config)

    return factory


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Flask:
    return make_app()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def load_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def hook_request(prefetch: dict[str, Any] | None = None, **overrides: Any) -> dict[str, Any]:
    """A minimal valid patient-view request for our service."""
    body: dict[str, Any] = {
        "hook": "patient-view",
        "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
        "context": {"userId": "Practitioner/example", "patientId": "pat-1"},
    }
    if prefetch is not None:
        body["prefetch"] = prefetch
    body.update(overrides)
    return body


def all_keys_null() -> dict[str, Any]:
    """Every prefetch key searched and empty."""
    from fhir_mappings.requirements import prefetch_keys

    return {k.key: None for k in prefetch_keys()}
