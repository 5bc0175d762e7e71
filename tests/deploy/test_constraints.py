"""constraints.txt: pins from a real resolve that agree with pyproject.toml's bounds, used by
every documented install."""

from __future__ import annotations

import re
import tomllib

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.deploy.tooling import ROOT

PIN = re.compile(r"([A-Za-z0-9._-]+)==([A-Za-z0-9.+!-]+)")


def pins() -> dict[str, str]:
    out = {}
    for line in (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            match = PIN.fullmatch(line)
            assert match, f"not a plain pin: {line!r}"
            out[canonicalize_name(match.group(1))] = match.group(2)
    return out


def requirements() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    listed = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        listed.extend(extra)
    return [Requirement(text) for text in listed]


def test_every_pin_satisfies_the_bounds_of_pyproject() -> None:
    pinned = pins()
    for requirement in requirements():
        version = pinned.get(canonicalize_name(requirement.name))
        # A dependency added since the last resolve is not pinned yet: it installs unpinned.
        if version is not None:
            assert requirement.specifier.contains(version, prereleases=True), (requirement, version)


def test_the_project_itself_is_not_pinned() -> None:
    assert "mr-cds-hooks" not in pins()


def test_every_documented_pip_install_uses_the_constraints() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for marker in ("install-command", "plain-install"):
        block = re.search(rf"<!-- {marker} -->\n```sh\n(.+?)\n```", readme, flags=re.S)
        assert block
        assert "pip install -c constraints.txt " in block.group(1)


def test_every_runtime_dependency_has_an_upper_bound() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    for text in project["dependencies"]:
        assert any(spec.operator in {"<", "<=", "==", "~="} for spec in Requirement(text).specifier), text
