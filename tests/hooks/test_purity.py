"""``hooks`` stays pure: no Flask, no HTTP, no clock, no environment."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

SOURCES = sorted((Path(__file__).resolve().parents[2] / "hooks").glob("*.py"))
FORBIDDEN = [
    r"^\s*(import|from)\s+(flask|requests|cds_service)\b",
    r"\bdatetime\.now\(|\bdatetime\.utcnow\(|\bdate\.today\(|\btime\.time\(",
    r"\bos\.environ\b|\bgetenv\(",
]


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_module_is_pure(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    for pattern in FORBIDDEN:
        assert not re.search(pattern, text, re.MULTILINE), f"{path.name}: {pattern}"
