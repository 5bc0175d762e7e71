"""gunicorn's access log under ``mr-cds serve``: off for real, while its error log still
writes JSON lines (issue 18). Run in a child process: gunicorn's logger configures the
process's logging, which this test process must keep."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

_SCRIPT = textwrap.dedent(
    """
    import datetime, json, sys
    from gunicorn.config import Config
    from cds_service.runtime.server import options

    cfg = Config()
    for key, value in options("127.0.0.1", 8080, 1).items():
        cfg.set(key, value)
    log = cfg.logger_class(cfg)

    class Untouchable:
        # gunicorn's access record reads the response, the request and the environ.
        def __getattr__(self, name):
            raise AssertionError(f"access log read {name}")

    class Environ(dict):
        def get(self, *args):
            raise AssertionError("access log read the environ")

    outcome = {"class": type(log).__name__, "enabled": log.access_log_enabled}
    try:
        log.access(Untouchable(), Untouchable(), Environ(), datetime.timedelta(milliseconds=3))
        outcome["access"] = "nothing"
    except AssertionError as exc:
        outcome["access"] = str(exc)
    log.error("worker %s failed", "w1")
    log.info("listening")
    sys.stderr.flush()
    print(json.dumps(outcome))
    """
)


def _run() -> tuple[dict[str, object], list[dict[str, object]]]:
    done = subprocess.run(
        [sys.executable, "-c", _SCRIPT], capture_output=True, text=True, timeout=60, check=True
    )
    return json.loads(done.stdout), [json.loads(line) for line in done.stderr.splitlines()]


def test_served_gunicorn_never_builds_an_access_record_and_its_error_log_still_writes_json() -> None:
    outcome, lines = _run()
    assert outcome == {"class": "NoAccessLogger", "enabled": False, "access": "nothing"}
    assert [(line["logger"], line["level"], line["message"]) for line in lines] == [
        ("gunicorn.error", "ERROR", "worker w1 failed"),
        ("gunicorn.error", "INFO", "listening"),
    ]
    assert all(str(line["time"]).endswith("+00:00") for line in lines)
