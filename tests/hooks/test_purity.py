"""``hooks`` and ``fhir_mappings`` stay pure: no Flask, no HTTP, no clock, no environment.

Read by ``ast``, not by pattern: an import hidden in a function, ``from os import environ``
or ``datetime.now`` called through an alias are all found; a word in a docstring is not.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted([*(ROOT / "hooks").glob("*.py"), *(ROOT / "fhir_mappings").glob("*.py")])
FORBIDDEN_MODULES = frozenset({"flask", "requests", "cds_service", "werkzeug", "gunicorn", "sqlalchemy"})
#: Attribute calls that read the clock or the environment.
FORBIDDEN_CALLS = frozenset({"now", "utcnow", "today", "time", "getenv", "monotonic", "perf_counter"})
FORBIDDEN_NAMES = frozenset({"environ", "getenv"})


def impurities(source: str) -> list[str]:
    """What in ``source`` reaches outside the pure core (imports, clock, environment)."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [f"import {a.name}" for a in node.names if a.name.split(".")[0] in FORBIDDEN_MODULES]
        elif isinstance(node, ast.ImportFrom) and node.module:
            if node.module.split(".")[0] in FORBIDDEN_MODULES:
                found.append(f"from {node.module} import ...")
            found += [f"from {node.module} import {a.name}" for a in node.names if a.name in FORBIDDEN_NAMES]
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr in FORBIDDEN_CALLS:
                found.append(f"call .{node.func.attr}()")
        elif isinstance(node, ast.Attribute) and node.attr in FORBIDDEN_NAMES:
            found.append(f".{node.attr}")
    return found


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_module_is_pure(path: Path) -> None:
    assert impurities(path.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize(
    "source",
    [
        "import flask",
        "def f():\n    import requests",
        "from cds_service.core.settings import Settings",
        "from os import environ",
        "import os\nx = os.environ['A']",
        "from datetime import datetime as d\nd.now()",
        "import time\ntime.time()",
    ],
)
def test_each_impurity_is_found(source: str) -> None:
    assert impurities(source)


def test_a_docstring_mentioning_flask_is_not_an_import() -> None:
    assert impurities('"""Never import flask here; datetime.now() is the caller\'s."""') == []
