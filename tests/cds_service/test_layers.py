"""``cds_service``'s subpackages import one way only: each from the layers below it.

The layers are those of ``docs/architecture.md``. Read by ``ast``, not by pattern: an import
hidden in a function (``runtime.server`` imports the app late, after gevent has patched)
counts as much as one at the top; a module named in a docstring does not.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "cds_service"

#: Bottom first. A subpackage may import its own modules and those of lower layers; two
#: subpackages on one layer do not import each other.
LAYERS: tuple[frozenset[str], ...] = (
    frozenset({"core"}),
    frozenset({"fhir", "db"}),
    frozenset({"auth"}),
    frozenset({"calls"}),
    frozenset({"http"}),
    frozenset({"runtime"}),
    frozenset({"cli"}),
)
RANK = {name: rank for rank, layer in enumerate(LAYERS) for name in layer}
#: ``cds_service/__main__.py`` only: ``python -m cds_service`` is the CLI.
ENTRY_POINTS = frozenset({"__init__.py", "__main__.py"})


def sources() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def subpackage(path: Path) -> str | None:
    """The subpackage ``path`` belongs to, None for a module at the package root."""
    parts = path.relative_to(PACKAGE).parts
    return parts[0] if len(parts) > 1 else None


def imported_subpackages(source: str) -> set[str]:
    """The ``cds_service`` subpackages ``source`` imports, wherever the import stands."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "cds_service":
                names = [f"cds_service.{a.name}" for a in node.names]
            else:
                names = [node.module]
        else:
            continue
        for name in names:
            parts = name.split(".")
            if parts[0] == "cds_service" and len(parts) > 1:
                found.add(parts[1])
    return found


def upward_imports(source: str, own: str) -> list[str]:
    """Imports in ``source`` (a module of subpackage ``own``) of its own layer or above."""
    imported = imported_subpackages(source) - {own}
    return sorted(f"{own} -> {other}" for other in imported if RANK.get(other, len(LAYERS)) >= RANK[own])


def test_every_subpackage_has_a_layer() -> None:
    subpackages = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}
    assert subpackages == set(RANK)


def test_only_the_entry_points_sit_at_the_package_root() -> None:
    assert {p.name for p in PACKAGE.glob("*.py")} == ENTRY_POINTS


@pytest.mark.parametrize("path", sources(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_module_imports_only_from_layers_below(path: Path) -> None:
    own = subpackage(path)
    if own is not None:
        assert upward_imports(path.read_text(encoding="utf-8"), own) == []


def test_the_architecture_document_lists_the_same_layers() -> None:
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    table = re.findall(r"^\| (\d) \| ([a-z/, `]+) \|", text, flags=re.M)
    documented = tuple(frozenset(re.findall(r"`(\w+)/`", names)) for _, names in table)
    assert documented == LAYERS


@pytest.mark.parametrize(
    ("source", "found"),
    [
        ("from cds_service.http.app import create_app", {"http"}),
        ("def f():\n    from cds_service.runtime import server", {"runtime"}),
        ("import cds_service.cli.mr_cds", {"cli"}),
        ("from cds_service import calls", {"calls"}),
        ('"""Built by cds_service.cli.mr_cds."""', set()),
        ("from fhir_mappings.prefetch import classify", set()),
    ],
)
def test_each_import_of_a_subpackage_is_found(source: str, found: set[str]) -> None:
    assert imported_subpackages(source) == found


def test_an_import_from_a_higher_layer_is_refused() -> None:
    # The check itself must be able to fail: db importing http's errors was the old shape.
    source = (PACKAGE / "db" / "engine.py").read_text(encoding="utf-8")
    assert upward_imports(source, "db") == []
    assert upward_imports(source + "\nfrom cds_service.http.app import create_app\n", "db") == ["db -> http"]
    assert upward_imports("from cds_service.fhir.client import FhirClient", "db") == ["db -> fhir"]
