"""``mr-cds evaluate`` and ``mr-cds demo``: hook request files through the HTTP code path.

``evaluate`` runs a request file (prefetch included) through ``pipeline.run_hook``, the
function the HTTP view calls, and prints the cards; ``--explain`` adds every rule, fired
or not, with the facts that decided it. ``demo`` prints a demo request with its times
shifted to now, for posting to a server that uses the real clock.

Exit status: 0 success, 2 invalid input (one line on stderr, no traceback), 1 internal error.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import hooks
from cds_service.calls.demo import as_of, parse_instant, shift_times, transaction_bundle
from cds_service.calls.pipeline import run_hook_detailed
from cds_service.calls.services import Service, registry
from cds_service.core.errors import BadRequest, ConfigurationError, DataUnavailable
from cds_service.core.settings import Settings
from fhir_mappings.facts import DataQualityNote
from hooks.guideline import Guideline

SERVICE_ID = "severe-mitral-regurgitation"


class InputError(Exception):
    """The request file or an argument cannot be used; the message is the one-line reason."""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``evaluate`` and ``demo`` subcommands."""
    evaluate = subparsers.add_parser(
        "evaluate",
        help="run a hook request file through the service and print the cards",
        description="Run a CDS Hooks request file (prefetch included) through the same code path as "
        "POST /cds-services/severe-mitral-regurgitation and print the cards.",
    )
    evaluate.add_argument("request", metavar="REQUEST.json", help="hook request file ('-' reads stdin)")
    evaluate.add_argument(
        "--now",
        metavar="ISO-8601",
        help="evaluation instant, e.g. 2026-01-15T10:30:00Z "
        "(default: the demo request's asOf, else the clock)",
    )
    evaluate.add_argument("--explain", action="store_true", help="show every rule, fired or not, and why")
    evaluate.add_argument("--format", choices=("text", "json"), default="text", help="output format")
    evaluate.set_defaults(handler=_evaluate)
    demo = subparsers.add_parser(
        "demo",
        help="print a demo request with its times shifted to now (for curl against a server)",
        description="Print the demo request with every FHIR date and time moved by (now - asOf) and the "
        "org.mr-cds-hooks.demo extension removed, so that a server using the real clock "
        "gives the documented cards.",
    )
    demo.add_argument("request", metavar="REQUEST.json", help="demo request file ('-' reads stdin)")
    demo.add_argument("--now", metavar="ISO-8601", help="shift to this instant instead of the clock")
    demo.add_argument(
        "--fhir-transaction",
        action="store_true",
        help="print a FHIR transaction Bundle of the (shifted) prefetch resources instead, "
        "to load the patient into a FHIR server",
    )
    demo.set_defaults(handler=_demo)


def _evaluate(args: argparse.Namespace) -> int:
    return _guarded("evaluate", lambda: _run_evaluate(args))


def _demo(args: argparse.Namespace) -> int:
    def run() -> str:
        body = _read(args.request)
        to = _instant(args.now) if args.now else datetime.now(UTC)
        try:
            shifted = shift_times(body, to)
            output = transaction_bundle(shifted) if args.fhir_transaction else shifted
            return json.dumps(output, indent=2, ensure_ascii=False)
        except ValueError as exc:
            raise InputError(str(exc)) from None

    return _guarded("demo", run)


def _guarded(command: str, run: Callable[[], str]) -> int:
    """Print the output, or one line on stderr: 2 for invalid input, 1 for an internal error."""
    try:
        output = run()
    except InputError as exc:
        return _fail(command, str(exc), 2)
    except (BadRequest, DataUnavailable, ConfigurationError) as exc:
        return _fail(command, exc.diagnostics, 2)
    except Exception as exc:  # an internal error: no traceback, no patient data
        return _fail(command, f"internal error ({type(exc).__name__})", 1)
    sys.stdout.write(output if output.endswith("\n") else output + "\n")
    return 0


def _fail(command: str, reason: str, status: int) -> int:
    print(f"mr-cds {command}: {' '.join(reason.split())}", file=sys.stderr)
    return status


def _read(path: str) -> dict[str, Any]:
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(
            f"cannot read {path}: {getattr(exc, 'strerror', None) or type(exc).__name__}"
        ) from None
    try:
        body = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{path} is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})"
        ) from None
    if not isinstance(body, dict):
        raise InputError(f"{path} is not a JSON object (a CDS Hooks request)")
    return body


def _instant(text: str) -> datetime:
    try:
        return parse_instant(text)
    except ValueError:
        raise InputError(
            f"--now {text!r} is not an ISO-8601 instant with a timezone, e.g. 2026-01-15T10:30:00Z"
        ) from None


def _evaluation_time(args: argparse.Namespace, body: Mapping[str, Any]) -> tuple[datetime, str]:
    """``--now``, else the demo's ``asOf``, else the clock; and where it came from."""
    if args.now:
        return _instant(args.now), "--now"
    try:
        demo_as_of = as_of(body)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    if demo_as_of is not None:
        return demo_as_of, "the demo request's asOf"
    return datetime.now(UTC), "the clock"


def _run_evaluate(args: argparse.Namespace) -> str:
    body = _read(args.request)
    now, now_source = _evaluation_time(args, body)
    service = _service_for(body)
    result = run_hook_detailed(service, body, settings=Settings.load(), now=now)
    response = result.response
    # The pipeline's own rule decisions: nothing is mapped or fetched a second time.
    results = (result.evaluation.results if result.evaluation else ()) if args.explain else None
    left_out = result.evaluation.left_out if result.evaluation else ()
    if args.format == "json":
        data: dict[str, Any] = response
        if results is not None:
            data = {"response": response, "explain": hooks.explanation_json(results, service.guideline)}
        return json.dumps(data, indent=2, ensure_ascii=False)
    return _text(response, body, now, now_source, results, left_out, service.guideline)


def _service_for(body: Mapping[str, Any]) -> Service:
    """The service answering the request's hook (patient-view: the severe MR service); a hook
    no service answers goes to that one, which says what it expects."""
    answering = [s for s in registry().values() if s.hook == body.get("hook")]
    return answering[0] if len(answering) == 1 else registry()[SERVICE_ID]


def _text(
    response: Mapping[str, Any],
    body: Mapping[str, Any],
    now: datetime,
    now_source: str,
    results: tuple[hooks.RuleResult, ...] | None,
    left_out: tuple[DataQualityNote, ...] = (),
    g: Guideline | None = None,
) -> str:
    cards = response["cards"]
    patient = body.get("context", {}).get("patientId")
    when = now.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [f"Patient {patient}, as of {when} ({now_source}): {len(cards)} card(s)", ""]
    for number, card in enumerate(cards, 1):
        lines += _card_text(number, card)
    if results is not None:
        lines.append("=" * 78)
        if results:
            lines.append(hooks.explanation_text(results, now=now, left_out=left_out, g=g))
        else:
            lines.append("No rule was evaluated: every prefetch key was searched and held no data.")
    return "\n".join(lines)


def _card_text(number: int, card: Mapping[str, Any]) -> list[str]:
    topic = card.get("source", {}).get("topic", {}).get("code", "?")
    lines = [f"{number}. [{card['indicator'].upper()}] {topic}", f"   {card['summary']}", ""]
    # Plain text for a terminal: the card's Markdown emphasis is dropped, not shown as source.
    detail = card.get("detail", "").replace("**", "")
    lines += [f"   {line}".rstrip() for line in detail.splitlines()]
    lines += [f"   Link: {link['label']} <{link['url']}>" for link in card.get("links", [])]
    for suggestion in card.get("suggestions", []):
        lines.append(f"   Suggestion ({card.get('selectionBehavior')}): {suggestion['label']}")
    lines.append("")
    return lines
