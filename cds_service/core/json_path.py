"""Where a value sits in a JSON body, as text safe for diagnostics and logs.

Shared by the body reader (``cds_service.http.input``) and the schema check
(``cds_service.calls.schemas``), which sit in different layers.
"""

from __future__ import annotations

from collections.abc import Iterable


def json_path(steps: Iterable[str | int]) -> str:
    """A path such as ``prefetch.conditions.entry.0.resource`` (``(body)`` for the root).

    Paths go into diagnostics and logs, and a key is the caller's text: a key that is not
    a plain identifier is shown as ``*``."""
    parts = [str(s) if isinstance(s, int) or _plain(s) else "*" for s in steps]
    return ".".join(parts) if parts else "(body)"


def _plain(key: str) -> bool:
    return key.isascii() and key.isidentifier() and len(key) <= 64
