"""Obtain the chart for one hook call: the prefetch as sent, and what the EHR did not send.

CDS Hooks 2.0 (https://cds-hooks.hl7.org/2.0/#prefetch-template):

* a key that is **present** is used as it is and never fetched again: a resource, a
  searchset Bundle (its ``next`` pages are followed and merged), or ``null`` (searched,
  nothing found); an **OperationOutcome** means the EHR already failed, so the key is
  unavailable and not retried;
* a key that is **absent** is fetched from ``fhirServer`` with the ``fhirAuthorization``
  bearer token (``cds_service.fhir``), concurrently, within one deadline per call;
  when it cannot be, it is unavailable with a plain reason. The pipeline answers 412 when a
  required key (Conditions) is unavailable; other keys only degrade the cards.

No usable ``fhirServer`` (none, not allowlisted, not https, empty allowlist) means no
outgoing request at all. Nothing is fetched either once a required key is known to be
unavailable: the answer is 412 whatever the other keys hold.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

import requests

from cds_service.calls.hook_request import HookRequest
from cds_service.core.fhir_base import FhirBase
from cds_service.core.settings import Settings
from cds_service.fhir.allowlist import resolve_base
from cds_service.fhir.client import FhirClient, next_link
from cds_service.fhir.deadline import Deadline
from cds_service.fhir.errors import FhirAccessError, FhirInvalidResponse, FhirTimeout
from cds_service.fhir.session import shared_session
from cds_service.fhir.templates import fill_template
from fhir_mappings.prefetch import ChartInput, PrefetchKind, classify
from fhir_mappings.requirements import PrefetchKey

__all__ = ["CLIENT_FAILED", "NOT_FHIR", "Gathered", "gather", "gather_chart"]

log = logging.getLogger(__name__)

CLIENT_FAILED = "the EHR could not fetch it (it sent an OperationOutcome)"
NOT_FHIR = "the prefetch value is not a FHIR resource"
REQUIRED_MISSING = "not fetched, because data the service requires is unavailable"
TIMED_OUT = FhirTimeout.default_reason
#: Most time between the requests' deadline and the hook call's (see ``gather_chart``).
MAX_GRACE_S = 0.1


@dataclass(frozen=True)
class Gathered:
    """The chart, plus which keys were fetched here (``fetched``)."""

    chart: ChartInput
    fetched: tuple[str, ...] = ()

    @property
    def incomplete(self) -> Mapping[str, str]:
        """Key -> why its search result is partial (also what the mapping sees)."""
        return self.chart.incomplete


@dataclass(frozen=True)
class _Outcome:
    value: dict[str, Any] | None = None
    incomplete: str | None = None
    error: FhirAccessError | None = None


@dataclass(frozen=True, eq=False)  # identity: jobs key dicts, and a prefetched page is unhashable
class _Job:
    """One key's work on the FHIR server: fetch a query, or finish a prefetched search's pages."""

    key: PrefetchKey
    query: str | None = None
    first_page: Mapping[str, Any] | None = None

    def run(self, client: FhirClient) -> _Outcome:
        try:
            if self.first_page is not None:
                paged = client.all_pages(self.key.key, self.first_page)
                return _Outcome(paged.bundle, paged.incomplete)
            assert self.query is not None
            return _fetch(client, self.key, self.query)
        except FhirAccessError as exc:
            return _Outcome(error=exc)
        # Anything else is a bug of ours: it propagates to a 500 with a logged stack rather
        # than passing for "FHIR server unavailable" (a 412 for every caller).


def _fetch(client: FhirClient, key: PrefetchKey, query: str) -> _Outcome:
    resource = client.get_resource(key.key, client.url_for(query))
    if key.read:
        if resource["resourceType"] != key.resource_type:
            raise FhirInvalidResponse(
                f"the FHIR server answered with another resource type than {key.resource_type}"
            )
        return _Outcome(resource)
    if resource["resourceType"] != "Bundle":
        raise FhirInvalidResponse("the FHIR server answered a search with something other than a Bundle")
    paged = client.all_pages(key.key, resource)
    # A search with no results is what an EHR reports as null (2.0): the same data, fetched
    # or prefetched, must give the same chart.
    return _Outcome(paged.bundle if paged.bundle.get("entry") else None, paged.incomplete)


def gather(
    request: HookRequest,
    keys: Sequence[PrefetchKey],
    settings: Settings,
    *,
    session: requests.Session | None = None,
) -> ChartInput:
    """The chart for ``request``: prefetch as sent, absent keys fetched; unusable keys say why."""
    return gather_chart(request, keys, settings, session=session).chart


def gather_chart(
    request: HookRequest,
    keys: Sequence[PrefetchKey],
    settings: Settings,
    *,
    session: requests.Session | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> Gathered:
    """``gather`` with what it knows beyond the chart (partial results, what was fetched)."""
    started = clock()
    deadline = Deadline(settings.fhir_timeout_s, clock)
    values: dict[str, Any] = {}
    unavailable: dict[str, str] = {}
    jobs = _plan(request, keys, values, unavailable)
    incomplete: dict[str, str] = {}
    if jobs:
        # The requests end a little before the wait for them does, so that a worker cut off
        # by its timeout still hands in what it has (earlier pages, the precise reason).
        grace = min(MAX_GRACE_S, settings.fhir_timeout_s / 10)
        outcomes = _outcomes(
            request,
            keys,
            jobs,
            settings,
            session=session,
            request_deadline=Deadline(settings.fhir_timeout_s - grace, clock),
            deadline=deadline,
            unavailable=unavailable,
        )
        _record(outcomes, values, unavailable, incomplete)
    chart = ChartInput(
        patient_id=request.patient_id,
        prefetch={k.key: values[k.key] for k in keys if k.key in values},
        unavailable={k.key: unavailable[k.key] for k in keys if k.key in unavailable},
        incomplete={k.key: incomplete[k.key] for k in keys if k.key in incomplete},
    )
    fetched = tuple(j.key.key for j in jobs if j.query is not None and j.key.key in values)
    # A call answered from its prefetch alone is said by the request's own log line; this
    # line is for the calls that went to the FHIR server or lack data (issue 18: one line
    # per ordinary call).
    log.log(
        logging.INFO if fetched or chart.unavailable else logging.DEBUG,
        "hook %s: %d key(s) usable (%d fetched), %d unavailable, in %.0f ms",
        request.hook_instance,
        len(chart.prefetch),
        len(fetched),
        len(chart.unavailable),
        (clock() - started) * 1000,
    )
    return Gathered(chart, fetched)


def _plan(
    request: HookRequest, keys: Sequence[PrefetchKey], values: dict[str, Any], unavailable: dict[str, str]
) -> list[_Job]:
    """Sort each key: usable as sent, unavailable, or work for the FHIR server."""
    jobs: list[_Job] = []
    for key in keys:
        if key.key not in request.prefetch:
            try:
                jobs.append(_Job(key, query=fill_template(key.template, request.context)))
            except FhirAccessError as exc:
                unavailable[key.key] = exc.reason
            continue
        value = request.prefetch[key.key]
        kind = classify(value)
        if kind is PrefetchKind.ERROR:
            unavailable[key.key] = CLIENT_FAILED
        elif kind is PrefetchKind.INVALID:
            unavailable[key.key] = NOT_FHIR
        else:
            values[key.key] = value
            if kind is PrefetchKind.BUNDLE and next_link(value) is not None:
                jobs.append(_Job(key, first_page=value))
    # Required keys first: with a bounded pool they must not wait behind optional ones.
    return sorted(jobs, key=lambda job: not job.key.required)


def _outcomes(
    request: HookRequest,
    keys: Sequence[PrefetchKey],
    jobs: list[_Job],
    settings: Settings,
    *,
    session: requests.Session | None,
    request_deadline: Deadline,
    deadline: Deadline,
    unavailable: Mapping[str, str],
) -> dict[_Job, _Outcome]:
    """Do ``jobs`` on the FHIR server, or say for each why it cannot be done."""
    try:
        if any(k.required and k.key in unavailable for k in keys):
            raise FhirAccessError(REQUIRED_MISSING)
        base = resolve_base(request.fhir_server, settings.fhir_allowlist)
    except FhirAccessError as exc:
        return {job: _Outcome(error=exc) for job in jobs}  # no request at all
    client = _client(request, base, request_deadline, settings, session)
    return _run_concurrently(client, jobs, settings, deadline)


def _record(
    outcomes: Mapping[_Job, _Outcome],
    values: dict[str, Any],
    unavailable: dict[str, str],
    incomplete: dict[str, str],
) -> None:
    """Put each job's outcome into the chart."""
    for job, outcome in outcomes.items():
        name = job.key.key
        if job.first_page is not None:
            # The prefetched first page stays usable; only the further pages are missing.
            values[name] = outcome.value if outcome.value is not None else job.first_page
            why = outcome.incomplete or (
                outcome.error and f"further pages were not read: {outcome.error.reason}"
            )
            if why:
                incomplete[name] = why
        elif outcome.error is not None:
            unavailable[name] = outcome.error.reason
        else:
            values[name] = outcome.value
            if outcome.incomplete:
                incomplete[name] = outcome.incomplete


def _client(
    request: HookRequest,
    base: FhirBase,
    deadline: Deadline,
    settings: Settings,
    session: requests.Session | None,
) -> FhirClient:
    token = request.fhir_authorization.access_token if request.fhir_authorization else None
    return FhirClient(
        session or shared_session(),
        base,
        token,
        deadline,
        hook_instance=request.hook_instance,
        max_pages=settings.fhir_max_pages,
    )


def _run_concurrently(
    client: FhirClient, jobs: list[_Job], settings: Settings, deadline: Deadline
) -> dict[_Job, _Outcome]:
    """Run ``jobs`` on a bounded pool; return by the deadline even if a request is stuck."""
    outcomes: dict[_Job, _Outcome] = {}
    executor = ThreadPoolExecutor(
        max_workers=min(settings.fhir_max_workers, len(jobs)), thread_name_prefix="fhir"
    )
    try:
        futures: dict[Future[_Outcome], _Job] = {executor.submit(job.run, client): job for job in jobs}
        pending = set(futures)
        stop_reason = TIMED_OUT
        while pending:
            done, pending = wait(pending, timeout=deadline.remaining(), return_when=FIRST_COMPLETED)
            if not done:
                break  # the deadline passed
            for future in done:
                job = futures[future]
                outcomes[job] = future.result()
                if job.key.required and job.first_page is None and outcomes[job].error is not None:
                    stop_reason = REQUIRED_MISSING
            if stop_reason is REQUIRED_MISSING:
                break  # the answer is 412 whatever the rest returns: do not wait for it
        for future in pending:
            outcomes[futures[future]] = _Outcome(error=FhirAccessError(stop_reason))
    finally:
        # Never wait for a worker still blocked on the network: its own timeouts end it soon.
        executor.shutdown(wait=False, cancel_futures=True)
    return outcomes
