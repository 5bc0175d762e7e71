"""Run one synthetic hook call at start-up, so no clinician's request pays for it.

The first call in a process imports the FHIR models, builds the JSON Schema validators and
loads the value sets, thresholds and guideline texts: about 80 ms here, against 2-4 ms for
every later call. ``warmup_request.json`` is a synthetic chart (a copy of demo patient 02,
patient id ``warm-up``) that exercises the mapping and most rules.
"""

from __future__ import annotations

import gc
import json
import logging
import time
from importlib import resources
from typing import Any

from cds_service.calls.demo import as_of
from cds_service.calls.pipeline import run_hook
from cds_service.calls.services import registry
from cds_service.core.settings import Settings

log = logging.getLogger(__name__)


def warmup_request() -> dict[str, Any]:
    text = resources.files("cds_service.calls").joinpath("warmup_request.json").read_text(encoding="utf-8")
    body: dict[str, Any] = json.loads(text)
    return body


def warm_up(settings: Settings) -> int:
    """Evaluate the synthetic request once; return its card count (0 if it failed)."""
    started = time.perf_counter()
    service = registry()["severe-mitral-regurgitation"]
    try:
        body = warmup_request()
        # The synthetic chart is evaluated as of its own pinned instant, like a demo.
        when = as_of(body)
        if when is None:
            raise ValueError("the warm-up request has no evaluation instant")
        cards = run_hook(service, body, settings=settings, now=when)["cards"]
    except Exception:
        # A broken warm-up must not keep the service down: each request reports its own errors.
        log.exception("warm-up evaluation failed")
        return 0
    log.info("warm-up: %d card(s) in %.0f ms", len(cards), (time.perf_counter() - started) * 1000)
    return len(cards)


#: Young-generation collections between two full ones (Python's default is 10).
FULL_COLLECTION_EVERY = 100


def settle_heap() -> int:
    """Move every object alive now (modules, models, value sets) out of the collector's sight.

    Called once in the gunicorn master after the app and its warm-up are built. A full
    collection otherwise walks these hundreds of thousands of long-lived objects again and
    again while a large chart is parsed (9-17% of a big request), and the walk dirties the
    pages workers share with the master (copy-on-write). Objects still die by reference
    counting; only cycles among them are never collected, and there are none worth it.

    Full collections are then spaced by ``FULL_COLLECTION_EVERY``: Python also waits until
    the objects promoted since the last full collection are a quarter of those it kept, but
    after the freeze it keeps only a few thousand, so that rule no longer spaces them and a
    4,400-resource chart in flight was walked by a full collection every second call or so
    (3-4 ms of a 140 ms call; issue 18). Cycles still die in the young generations as
    before; only those that outlive two young collections wait longer for theirs (a served
    worker makes a few dozen such objects per hundred calls). Returns the number of objects
    frozen.
    """
    gc.collect()
    gc.freeze()
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, FULL_COLLECTION_EVERY)
    return gc.get_freeze_count()
