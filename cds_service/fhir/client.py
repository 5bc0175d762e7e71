"""A small, careful FHIR R4 client for the data the EHR did not prefetch (CDS Hooks 2.0).

What it guarantees, and why (each section of the old single module is now its own):

* **Only allowed servers.** ``fhir.allowlist.resolve_base`` accepts ``fhirServer`` only when
  it is on ``MRCDS_FHIR_ALLOWLIST`` (exact base, normalised), and https unless the host is
  loopback. Redirects are never followed automatically; a redirect within the same base is
  followed by hand here, anything else fails. ``next`` links must stay on the same base.
* **Bounded time.** Every request has connect and read timeouts cut to the hook call's one
  ``fhir.deadline.Deadline``; bodies are read in chunks and the deadline is checked between
  them. One quick retry on 502/503/504 or a dropped connection, only if the deadline leaves room.
* **One pooled session per process** (``fhir.session``), created lazily and re-created after
  ``fork`` (gunicorn workers), with cookies refused so nothing leaks from one user's call to
  another.
* **The token stays secret.** It is attached by an auth object whose repr hides it, never
  logged, stored or put in an exception; logs carry the hookInstance, key, status and time.
* **Foreign errors are translated at the boundary**: every ``requests`` exception goes
  through ``fhir.transport_errors.REQUESTS_EXCEPTION_MAP`` into ``cds_service.fhir.errors``.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

import requests
import urllib3.exceptions
import urllib3.response
from requests import exceptions as rexc

from cds_service.core import metrics
from cds_service.core.fhir_base import FhirBase
from cds_service.fhir.deadline import Deadline
from cds_service.fhir.errors import (
    FhirAccessError,
    FhirAccessRefused,
    FhirInvalidResponse,
    FhirRedirected,
    FhirRequestError,
    FhirResponseTooLarge,
    FhirStatusError,
    FhirTimeout,
)
from cds_service.fhir.session import BearerAuth
from cds_service.fhir.transport_errors import TRANSPORT_ERRORS, translate_exception

log = logging.getLogger(__name__)

#: A server that cannot accept a TCP connection within this is down; the rest of the
#: deadline is left for reading.
CONNECT_TIMEOUT_S = 1.0
#: Do not start a request with less time than this left: it could not finish.
MIN_ATTEMPT_S = 0.05
#: The pause before the one retry (a restarting gateway needs a moment, the deadline is short).
RETRY_PAUSE_S = 0.05
#: Largest body accepted per page; a chart page is far smaller, anything bigger is a mistake.
MAX_BODY_BYTES = 20 * 1024 * 1024
MAX_REDIRECTS = 3
_CHUNK = 64 * 1024
_REDIRECTS = frozenset({301, 302, 303, 307, 308})


@dataclass(frozen=True)
class Paged:
    """A search result with its pages merged, and why it is partial (``None``: complete)."""

    bundle: dict[str, Any]
    incomplete: str | None = None


class FhirClient:
    """GETs on one allowed FHIR base for one hook call, within that call's deadline."""

    def __init__(
        self,
        session: requests.Session,
        base: FhirBase,
        access_token: str | None,
        deadline: Deadline,
        *,
        hook_instance: str,
        max_pages: int,
    ) -> None:
        self._session = session
        self.base = base
        self._auth = BearerAuth(access_token)
        self.deadline = deadline
        self.hook_instance = hook_instance
        self.max_pages = max_pages

    def __repr__(self) -> str:
        return f"FhirClient({self.base.url!r}, hook_instance={self.hook_instance!r})"

    def url_for(self, query: str) -> str:
        """``{fhirServer}/{query}`` for a filled, relative template."""
        url = f"{self.base.url}/{query.lstrip('/')}"
        if not self.base.contains(url):
            raise FhirRequestError("the query would leave the FHIR server's base")
        return url

    def get_resource(self, key: str, url: str) -> dict[str, Any]:
        """GET one FHIR resource, retrying once on a gateway error or a dropped connection."""
        try:
            return self._get_resource(key, url)
        except FhirAccessError as exc:
            if not exc.retryable or self.deadline.remaining() < RETRY_PAUSE_S + MIN_ATTEMPT_S:
                raise
            log.info("fhir %s %s: retrying once (%s)", self.hook_instance, key, exc.reason)
            time.sleep(RETRY_PAUSE_S)
            return self._get_resource(key, url)

    def all_pages(self, key: str, first: Mapping[str, Any]) -> Paged:
        """Follow ``next`` links from ``first`` on this base, up to the page cap, within the deadline."""
        entries = list(first.get("entry") or [])
        visited: set[str] = set()
        link = next_link(first)
        incomplete: str | None = None
        while link is not None:
            if len(visited) >= self.max_pages:
                incomplete = f"only the first {self.max_pages + 1} pages of results were read (page limit)"
                break
            url = urljoin(self.base.url + "/", link)
            if not self.base.contains(url):
                incomplete = "a further page is on another server and was not read"
                break
            if url in visited:
                incomplete = "the FHIR server's next links go round in a loop"
                break
            visited.add(url)
            try:
                page = self.get_resource(key, url)
            except FhirAccessError as exc:
                incomplete = f"a further page could not be read: {exc.reason}"
                break
            if page.get("resourceType") != "Bundle":
                incomplete = "a further page is not a Bundle"
                break
            entries.extend(page.get("entry") or [])
            link = next_link(page)
        if incomplete:
            log.warning("fhir %s %s: partial results: %s", self.hook_instance, key, incomplete)
        return Paged(merge_pages(first, entries), incomplete)

    # ------------------------------------------------------------------ one GET

    def _get_resource(self, key: str, url: str) -> dict[str, Any]:
        for _hop in range(MAX_REDIRECTS + 1):
            status, location, body = self._get_once(key, url)
            if status in _REDIRECTS:
                target = urljoin(url, location or "")
                if not location or not self.base.contains(target):
                    raise FhirRedirected()
                url = target  # same base: the same token may go there
                continue
            if status in (401, 403):
                raise FhirAccessRefused(status)
            if not 200 <= status < 300:
                raise FhirStatusError(status)
            return parse_resource(body)
        raise FhirRedirected("the FHIR server redirected too many times")

    def _get_once(self, key: str, url: str) -> tuple[int, str | None, bytes]:
        remaining = self.deadline.remaining()
        if remaining < MIN_ATTEMPT_S:
            raise FhirTimeout()
        started = time.monotonic()
        status: int | str = "-"
        try:
            with self._session.get(
                url,
                auth=self._auth,
                timeout=(min(CONNECT_TIMEOUT_S, remaining), remaining),
                allow_redirects=False,
                stream=True,
            ) as response:
                status = response.status_code
                if status in _REDIRECTS or not 200 <= status < 300:
                    return status, response.headers.get("Location"), b""
                return status, None, self._read_body(response)
        except FhirAccessError as exc:
            status = type(exc).__name__
            raise
        except TRANSPORT_ERRORS as exc:
            error = translate_exception(exc)
            status = type(error).__name__
            # "from None": requests' messages carry the URL, which carries the patient id.
            raise error from None
        finally:
            elapsed_s = time.monotonic() - started
            log.info("fhir %s %s: %s in %.0f ms", self.hook_instance, key, status, elapsed_s * 1000)
            metrics.fhir_fetched(elapsed_s, _error_label(status))

    def _read_body(self, response: requests.Response) -> bytes:
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
            raise FhirResponseTooLarge()
        chunks: list[bytes] = []
        size = 0
        for chunk in _arriving(response.raw):
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                raise FhirResponseTooLarge()
            chunks.append(chunk)
            if self.deadline.expired:
                raise FhirTimeout()
        return b"".join(chunks)


def _arriving(raw: urllib3.response.BaseHTTPResponse) -> Iterator[bytes]:
    """The body as it arrives, one socket read at a time.

    ``iter_content`` waits until a whole chunk is in, so a server dripping bytes (each well
    within the read timeout) could hold the worker far past the deadline; ``read1`` returns
    after one read and the caller checks the deadline in between. urllib3's errors become
    the ``requests`` exceptions ``iter_content`` would raise (a read timeout as a timeout),
    so that they too go through ``REQUESTS_EXCEPTION_MAP``.
    """
    while True:
        try:
            chunk = raw.read1(_CHUNK, decode_content=True)
        except urllib3.exceptions.ReadTimeoutError as exc:
            raise rexc.ReadTimeout(exc) from exc
        except urllib3.exceptions.ProtocolError as exc:
            raise rexc.ChunkedEncodingError(exc) from exc
        except urllib3.exceptions.DecodeError as exc:
            raise rexc.ContentDecodingError(exc) from exc
        except urllib3.exceptions.SSLError as exc:
            raise rexc.SSLError(exc) from exc
        if not chunk:
            return
        yield chunk


def _error_label(status: int | str) -> str | None:
    """The metrics reason of one GET: None on success (or a redirect), else the error class or
    ``http_<status>``."""
    if isinstance(status, str):
        return status
    return None if 200 <= status < 400 else f"http_{status}"


def parse_resource(body: bytes) -> dict[str, Any]:
    """The FHIR resource in ``body``; ``FhirInvalidResponse`` for anything else."""
    try:
        value = json.loads(body)
    except ValueError:
        raise FhirInvalidResponse() from None
    if not isinstance(value, dict) or not isinstance(value.get("resourceType"), str):
        raise FhirInvalidResponse("the FHIR server's answer is not a FHIR resource")
    if value["resourceType"] == "OperationOutcome":
        raise FhirInvalidResponse("the FHIR server answered with an OperationOutcome instead of data")
    return value


def next_link(bundle: Mapping[str, Any]) -> str | None:
    """The bundle's ``next`` link, if any."""
    links = bundle.get("link")
    if not isinstance(links, list):
        return None
    for link in links:
        if isinstance(link, Mapping) and link.get("relation") == "next" and isinstance(link.get("url"), str):
            return str(link["url"])
    return None


def merge_pages(first: Mapping[str, Any], entries: list[Any]) -> dict[str, Any]:
    """``first`` with every page's entries, and without paging links (it is no longer a page)."""
    merged = {k: v for k, v in first.items() if k not in ("entry", "link")}
    links = [
        link
        for link in first.get("link") or []
        if not (isinstance(link, Mapping) and link.get("relation") in ("next", "previous", "prev", "last"))
    ]
    if links:
        merged["link"] = links
    if entries:
        merged["entry"] = entries  # FHIR JSON has no empty arrays
    return merged
