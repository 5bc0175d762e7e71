"""Finding the linters the deployment tests run: present in CI, maybe absent elsewhere."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def tool(name: str, why: str) -> str:
    """The path of ``name`` (the test environment's own first), or skip: but never in CI,
    whose script installs every tool these tests need."""
    # /usr/sbin: where Debian puts nginx, not always on a non-root PATH.
    search = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", ""), "/usr/sbin"])
    found = shutil.which(name, path=search)
    if found is None:
        if os.environ.get("CI"):
            pytest.fail(f"{name} is missing in CI; .ci/run installs it ({why})")
        pytest.skip(f"{name} is not installed ({why})")
    return found
