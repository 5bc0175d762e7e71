"""gunicorn's logger with its access log switched off for real.

The app writes one JSON line per request (``cds_service.http.request_log``), so gunicorn's
own access log stays silent. Setting ``logconfig_dict`` (as ``mr-cds serve`` does, for its
JSON error log) makes gunicorn count its access log as on: after every request it built
its access "atoms" (every request and response header, and the WSGI environ) and logged
them to ``gunicorn.access``, a logger with no handler at CRITICAL (issue 18: 2.9% of a
worker's CPU on the demo chart). Here that path returns at once; the error log is
gunicorn's own, unchanged.
"""

from __future__ import annotations

from typing import Any

from gunicorn.glogging import Logger


class NoAccessLogger(Logger):  # type: ignore[misc]
    """gunicorn's ``Logger`` whose access log is off whatever the configuration says."""

    @property
    def access_log_enabled(self) -> bool:
        # Read by gunicorn's asyncio workers before they time a request.
        return False

    def access(self, resp: Any, req: Any, environ: Any, request_time: Any) -> None:
        """Nothing: the app logs each request itself."""
