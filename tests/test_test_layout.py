"""How the suite is laid out: the fast loop's slow list is current, and no property test
depends on the machine's speed."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import SLOW

ROOT = Path(__file__).resolve().parents[1]
TEST_FILES = sorted((ROOT / "tests").rglob("test_*.py"))


@pytest.mark.parametrize("node_id", sorted(SLOW))
def test_every_test_listed_as_slow_still_exists(node_id: str) -> None:
    path, name = node_id.split("::")
    tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
    assert name in {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}


def _decorator_name(node: ast.expr) -> str:
    target = node.func if isinstance(node, ast.Call) else node
    if isinstance(target, ast.Attribute):
        return target.attr
    return target.id if isinstance(target, ast.Name) else ""


def _property_tests() -> list[tuple[str, ast.FunctionDef]]:
    found = []
    for path in TEST_FILES:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef) and any(
                _decorator_name(d) == "given" for d in node.decorator_list
            ):
                found.append((f"{path.relative_to(ROOT)}::{node.name}", node))
    return found


def test_the_suite_has_property_tests() -> None:
    assert len(_property_tests()) >= 5


@pytest.mark.parametrize(("name", "test"), _property_tests(), ids=[name for name, _ in _property_tests()])
def test_every_property_test_has_no_deadline(name: str, test: ast.FunctionDef) -> None:
    # hypothesis fails an example that takes over 200 ms by default: on a loaded machine that
    # is a failure of the machine, not of the code. The conftest profile says the same.
    settings = [
        d for d in test.decorator_list if isinstance(d, ast.Call) and _decorator_name(d) == "settings"
    ]
    deadlines = [k.value for d in settings for k in d.keywords if k.arg == "deadline"]
    assert any(isinstance(v, ast.Constant) and v.value is None for v in deadlines), name
