"""A small FHIR R4 server on loopback for end-to-end tests and the fetch benchmark.

It answers the service's reads and searches for one chart (``chart/*.json``: a patient
with severe mitral regurgitation, hypotension and multi-organ failure, coded only with
codes from ``fhir_mappings/valuesets``) and pages its search results, as EHR FHIR servers
do. Times in the fixture files are written relative to ``now`` (``"$now-3h"``) and filled
in when the server starts, so the chart is always current.

Supported search parameters (the ones our prefetch templates use): ``patient``, ``code``
and ``type`` (comma-separated ``system|code`` tokens), ``status``, ``_sort`` (``-date``,
``-effective-time``), ``_count`` (capped at the server's page size) and ``_offset``
(paging). Other parameters are ignored, as lenient servers do.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

CHART = Path(__file__).parent / "chart"
PATIENT_ID = "mr-shock-1"
FHIR_PATH = "/fhir"

_RELATIVE_TIME = re.compile(r"^\$now(?:([+-])(\d+)([mhd]))?$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}
_DATE_FIELDS = (
    ("effectiveDateTime",),
    ("effectivePeriod", "start"),
    ("performedDateTime",),
    ("performedPeriod", "start"),
    ("onsetDateTime",),
    ("authoredOn",),
    ("recordedDate",),
)

Resource = dict[str, Any]


def load_chart(now: datetime) -> dict[str, list[Resource]]:
    """Resource type -> resources, with every ``$now±N[mhd]`` replaced by a UTC time."""
    return {
        path.stem: _fill_times(json.loads(path.read_text(encoding="utf-8")), now)
        for path in sorted(CHART.glob("*.json"))
    }


def _fill_times(value: Any, now: datetime) -> Any:
    if isinstance(value, dict):
        return {k: _fill_times(v, now) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill_times(v, now) for v in value]
    if isinstance(value, str) and (match := _RELATIVE_TIME.match(value)):
        sign, amount, unit = match.groups()
        delta = timedelta(**{_UNITS[unit]: int(amount)}) if unit else timedelta()
        moment = now - delta if sign == "-" else now + delta
        return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return value


class FixtureFhirServer:
    """A threaded HTTP FHIR server on 127.0.0.1; use as a context manager.

    ``token``: the bearer token it requires (401 otherwise); ``delay_s``: added before
    every answer (only before second and later pages with ``delay_later_pages_only``);
    ``page_size``: most entries per page, whatever ``_count`` asks; ``failing_searches``:
    (resource type, patient id) pairs whose searches answer 500, as an EHR's failing
    service would.
    """

    def __init__(
        self,
        chart: Mapping[str, list[Resource]],
        *,
        token: str | None = None,
        delay_s: float = 0.0,
        page_size: int = 3,
        delay_later_pages_only: bool = False,
        failing_searches: frozenset[tuple[str, str]] = frozenset(),
    ) -> None:
        self.chart = chart
        self.failing_searches = failing_searches
        self.token = token
        self.delay_s = delay_s
        self.delay_later_pages_only = delay_later_pages_only
        self.page_size = page_size
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self.request_count = 0
        self.requested_paths: list[str] = []
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.fixture = self
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="fixture-fhir", daemon=True)

    @property
    def base(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}{FHIR_PATH}"

    def __enter__(self) -> FixtureFhirServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()  # ends any delay at once
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def count(self, path: str) -> None:
        with self._lock:
            self.request_count += 1
            self.requested_paths.append(path)

    # ------------------------------------------------------------------ the data, unpaged

    def answer(self, query: str) -> Resource | None:
        """What a CDS client would prefetch for relative ``query``: the resource, the complete
        searchset (one page, every match), or ``None`` when nothing matches (CDS Hooks 2.0)."""
        parts = urlsplit(query)
        segments = [s for s in parts.path.split("/") if s]
        if len(segments) == 2:
            return self.read(*segments)
        matches = self.search(segments[0], parse_qs(parts.query))
        if not matches:
            return None
        return searchset(self.base, segments[0], parse_qs(parts.query), matches, matches, None)

    def read(self, resource_type: str, resource_id: str) -> Resource | None:
        for resource in self.chart.get(resource_type, []):
            if resource.get("id") == resource_id:
                return resource
        return None

    def search(self, resource_type: str, params: Mapping[str, list[str]]) -> list[Resource]:
        found = [r for r in self.chart.get(resource_type, []) if _matches(r, params)]
        sort = (params.get("_sort") or [""])[0]
        if sort.startswith("-"):
            found.sort(key=_date_of, reverse=True)
        elif sort:
            found.sort(key=_date_of)
        return found


def searchset(
    base: str,
    resource_type: str,
    params: Mapping[str, list[str]],
    matches: list[Resource],
    page: list[Resource],
    next_offset: int | None,
) -> Resource:
    query = {k: v for k, v in params.items() if k != "_offset"}
    self_url = f"{base}/{resource_type}?{urlencode(query, doseq=True)}"
    bundle: Resource = {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(matches),
        "link": [{"relation": "self", "url": self_url}],
    }
    if next_offset is not None:
        next_query = {**query, "_offset": [str(next_offset)]}
        bundle["link"].append(
            {"relation": "next", "url": f"{base}/{resource_type}?{urlencode(next_query, doseq=True)}"}
        )
    if page:
        bundle["entry"] = [
            {"fullUrl": f"{base}/{resource_type}/{r['id']}", "resource": r, "search": {"mode": "match"}}
            for r in page
        ]
    return bundle


def _matches(resource: Resource, params: Mapping[str, list[str]]) -> bool:
    for name, values in params.items():
        wanted = ",".join(values).split(",")
        if name == "patient":
            refs = {_ref(resource.get("subject")), _ref(resource.get("patient"))}
            if not {f"Patient/{w}" for w in wanted} & refs:
                return False
        elif name in ("code", "type"):
            tokens = {f"{c.get('system')}|{c.get('code')}" for c in _codings(resource.get(name))}
            if not tokens & set(wanted):
                return False
        elif name == "status" and resource.get("status") not in wanted:
            return False
    return True


def _ref(value: Any) -> str | None:
    return value.get("reference") if isinstance(value, dict) else None


def _codings(concept: Any) -> Iterator[dict[str, Any]]:
    if isinstance(concept, dict):
        yield from (c for c in concept.get("coding", []) if isinstance(c, dict))


def _date_of(resource: Resource) -> str:
    for path in _DATE_FIELDS:
        value: Any = resource
        for step in path:
            value = value.get(step) if isinstance(value, dict) else None
        if isinstance(value, str):
            return value
    return ""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # The service opens one connection per prefetch key at once (ten); the standard
    # library's backlog of 5 would drop the rest until a SYN retry a second later.
    request_queue_size = 64
    block_on_close = False
    fixture: FixtureFhirServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that gave up (deadline) makes the late answer fail: expected here


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so the client's connection pool is exercised
    # Headers and body go out as two writes; without this, Nagle plus the client's delayed
    # ACK add ~40 ms to every answer and would distort the timings.
    disable_nagle_algorithm = True
    server: _Server

    def do_GET(self) -> None:
        fixture = self.server.fixture
        parts = urlsplit(self.path)
        fixture.count(parts.path)
        delayed = not fixture.delay_later_pages_only or "_offset" in parse_qs(parts.query)
        if fixture.delay_s and delayed and fixture.stopping.wait(fixture.delay_s):
            return self._send(503, _outcome("shutting down"))
        if fixture.token is not None and self.headers.get("Authorization") != f"Bearer {fixture.token}":
            return self._send(401, _outcome("a valid bearer token is required"))
        if not parts.path.startswith(FHIR_PATH + "/"):
            return self._send(404, _outcome("not a FHIR endpoint"))
        segments = [s for s in parts.path[len(FHIR_PATH) :].split("/") if s]
        if len(segments) == 2:
            resource = fixture.read(*segments)
            return self._send(200, resource) if resource else self._send(404, _outcome("no such resource"))
        if len(segments) != 1:
            return self._send(400, _outcome("unsupported interaction"))
        return self._search(fixture, segments[0], parse_qs(parts.query))

    def _search(self, fixture: FixtureFhirServer, resource_type: str, params: dict[str, list[str]]) -> None:
        patients = ",".join(params.get("patient", [])).split(",")
        if any((resource_type, p) in fixture.failing_searches for p in patients):
            return self._send(500, _outcome("the search failed"))
        matches = fixture.search(resource_type, params)
        count = min(int((params.get("_count") or [str(fixture.page_size)])[0]), fixture.page_size)
        offset = int((params.get("_offset") or ["0"])[0])
        page = matches[offset : offset + count]
        next_offset = offset + count if offset + count < len(matches) else None
        self._send(200, searchset(fixture.base, resource_type, params, matches, page, next_offset))

    def _send(self, status: int, body: Resource) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/fhir+json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet test output


def _outcome(text: str) -> Resource:
    return {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": "processing", "diagnostics": text}],
    }
