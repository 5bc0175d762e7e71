"""Prometheus metrics: what the service did, never about whom.

Labels are our own names only (endpoint rules, status codes, recommendation codes, error
classes): never a path as sent, a hookInstance, a patient id or a FHIR URL.

Under ``mr-cds serve`` several gunicorn workers answer requests; prometheus-client's
multiprocess mode (a directory of per-process files, ``PROMETHEUS_MULTIPROC_DIR``) lets
``GET /metrics`` in any worker report the sum of all of them. prometheus-client decides
between in-process and multiprocess values when its modules are imported, so the
instruments are created on first use, after ``enable_multiprocess`` has run.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

_LATENCY_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


@dataclass(frozen=True)
class _Instruments:
    requests: Any
    request_seconds: Any
    cards: Any
    fhir_seconds: Any
    fhir_errors: Any
    jwt_rejections: Any
    rule_failures: Any
    issued_written: Any
    issued_dropped: Any


def enable_multiprocess(directory: Path) -> None:
    """Share metrics between the processes that fork from this one, through ``directory``.

    Call before the first metric is recorded. Files left by an earlier run are removed:
    counters start at zero with each start of the service.
    """
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.db"):
        stale.unlink()
    os.environ[MULTIPROC_ENV] = str(directory)
    if _created:
        raise RuntimeError("enable_multiprocess must run before the first metric is recorded")
    from prometheus_client import values

    values.ValueClass = values.get_value_class()  # type: ignore[no-untyped-call]


_lock = threading.Lock()
_created: list[_Instruments] = []  # at most one; a list so that no ``global`` is needed


class _Recording:
    """Whether the recording functions below touch the instruments at all.

    Off (the default, as ``MRCDS_METRICS``) they return at once: no instrument is created
    and no label is looked up, since nothing would ever read them (issue 18: the counters
    cost 5.6% of a demo call with metrics off). The instruments live in one registry per
    process, so the switch is per process too; ``create_app`` sets it from the settings.
    """

    on = False


def set_recording(on: bool) -> None:
    _Recording.on = on


def recording() -> bool:
    return _Recording.on


def _instruments() -> _Instruments:
    """The instruments, created once per process even when threads race to record first
    (a second registration of the same names would raise)."""
    if _created:
        return _created[0]
    with _lock:
        if not _created:
            _created.append(_create())
    return _created[0]


def _create() -> _Instruments:
    from prometheus_client import Counter, Histogram

    return _Instruments(
        requests=Counter(
            "mrcds_http_requests", "HTTP requests answered, by endpoint and status", ["endpoint", "status"]
        ),
        request_seconds=Histogram(
            "mrcds_http_request_duration_seconds",
            "Time to answer an HTTP request, by endpoint",
            ["endpoint"],
            buckets=_LATENCY_BUCKETS_S,
        ),
        cards=Counter(
            "mrcds_cards_issued",
            "Cards returned to the EHR, by recommendation and indicator",
            ["recommendation", "indicator"],
        ),
        fhir_seconds=Histogram(
            "mrcds_fhir_fetch_duration_seconds",
            "Time of one GET to an EHR's FHIR server, whatever its outcome",
            buckets=_LATENCY_BUCKETS_S,
        ),
        fhir_errors=Counter(
            "mrcds_fhir_fetch_errors", "Failed GETs to an EHR's FHIR server, by reason", ["reason"]
        ),
        jwt_rejections=Counter(
            "mrcds_jwt_rejections", "Requests refused because of their JWT, by reason", ["reason"]
        ),
        rule_failures=Counter(
            "mrcds_rule_failures", "Guideline rules that raised instead of deciding, by rule", ["rule"]
        ),
        issued_written=Counter(
            "mrcds_issued_cards_written", "Issued-card records stored by the background writer"
        ),
        issued_dropped=Counter(
            "mrcds_issued_cards_dropped",
            "Issued-card records never stored, by reason (buffer full, stopping)",
            ["reason"],
        ),
    )


def request_answered(endpoint: str, status: int, seconds: float) -> None:
    if not _Recording.on:
        return
    metrics = _instruments()
    metrics.requests.labels(endpoint, str(status)).inc()
    metrics.request_seconds.labels(endpoint).observe(seconds)


def cards_issued(cards: Iterable[Mapping[str, Any]]) -> None:
    if not _Recording.on:
        return
    metrics = _instruments()
    for card in cards:
        metrics.cards.labels(card_topic(card), str(card.get("indicator", "unknown"))).inc()


def card_topic(card: Mapping[str, Any]) -> str:
    """The recommendation a card carries out (``source.topic.code``), ``unknown`` if absent."""
    topic = (card.get("source") or {}).get("topic") or {}
    return str(topic.get("code") or "unknown")


def fhir_fetched(seconds: float, error: str | None) -> None:
    """One GET to a FHIR server; ``error`` is the failure's class (or ``http_<status>``)."""
    if not _Recording.on:
        return
    metrics = _instruments()
    metrics.fhir_seconds.observe(seconds)
    if error is not None:
        metrics.fhir_errors.labels(error).inc()


def jwt_rejected(reason: str) -> None:
    """For client authentication: call with a short fixed reason (e.g. ``expired``, ``bad-signature``)."""
    if not _Recording.on:
        return
    _instruments().jwt_rejections.labels(reason).inc()


def rules_failed(rule_ids: Iterable[str]) -> None:
    if not _Recording.on:
        return
    metrics = _instruments()
    for rule_id in rule_ids:
        metrics.rule_failures.labels(rule_id).inc()


def issued_cards_written(count: int) -> None:
    if not _Recording.on:
        return
    _instruments().issued_written.inc(count)


def issued_cards_dropped(reason: str, count: int) -> None:
    if not _Recording.on:
        return
    _instruments().issued_dropped.labels(reason).inc(count)


def exposition() -> bytes:
    """Every metric in the Prometheus text format, summed over processes in multiprocess mode."""
    from prometheus_client import REGISTRY, CollectorRegistry, generate_latest, multiprocess

    _instruments()  # every family is listed, at zero, from the first scrape
    directory = os.environ.get(MULTIPROC_ENV)
    if not directory:
        return generate_latest(REGISTRY)
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
    return generate_latest(registry)
