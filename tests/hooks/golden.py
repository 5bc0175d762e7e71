"""Golden hook responses: every card and every ``--explain`` trail, byte for byte.

Written from the code as it was before issue 18 reworked the rules and cards for speed, so
that the rework (and any later one that means to keep behaviour) is checked byte for byte:
``tests/hooks/test_golden_responses.py`` compares. The responses to the demo patients and
order examples are kept whole (a readable diff); every chart's response, explanation text
and explanation JSON also as a SHA-256 (the scenario suite and the benchmark charts only
so: a change names the chart and the part; check out the old code and rerun to see it).

Regenerate (only when a change of behaviour is intended, and say so in the commit):
``python -m tests.hooks.golden``.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from cds_service.calls.demo import as_of, parse_instant
from cds_service.calls.pipeline import run_hook_detailed
from cds_service.calls.services import registry
from cds_service.core.settings import Settings
from hooks import explanation_json, explanation_text
from tests.hooks.factories import counter_ids

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).parent / "golden" / "responses.json"
SCENARIO_DIR = Path(__file__).parent / "scenarios"


def answer(body: dict[str, Any], now_text: str | None = None) -> dict[str, Any]:
    """The response, the explanation text and the explanation JSON for one request."""
    service = next(s for s in registry().values() if s.hook == body["hook"])
    now = parse_instant(now_text) if now_text else as_of(body)
    assert now is not None, "a golden request names its evaluation time"
    result = run_hook_detailed(
        service, body, settings=Settings.load({}, environ={}), now=now, ids=counter_ids()
    )
    evaluation = result.evaluation
    results = evaluation.results if evaluation else ()
    left_out = evaluation.left_out if evaluation else ()
    return {
        "response": result.response,
        "explain_text": explanation_text(results, now=now, left_out=left_out, g=service.guideline),
        "explain": explanation_json(results, service.guideline),
    }


def _selected(body: dict[str, Any]) -> dict[str, Any]:
    """An order-sign example as order-select, every draft selected."""
    select = copy.deepcopy(body)
    select["hook"] = "order-select"
    entries = select["context"]["draftOrders"]["entry"]
    select["context"]["selections"] = [
        f"{e['resource']['resourceType']}/{e['resource']['id']}" for e in entries
    ]
    return select


def whole() -> Iterator[tuple[str, dict[str, Any], str | None]]:
    """(name, request, now) of the charts whose response is kept whole: demo patients, order
    examples (signed, and selected)."""
    for path in sorted((ROOT / "examples" / "patients").glob("*.json")):
        yield f"patients/{path.stem}", json.loads(path.read_text(encoding="utf-8")), None
    for path in sorted((ROOT / "examples" / "orders").glob("*.json")):
        body = json.loads(path.read_text(encoding="utf-8"))
        yield f"orders/{path.stem}", body, None
        yield f"orders/{path.stem} (order-select)", _selected(body), None


def charts() -> Iterator[tuple[str, dict[str, Any], str | None]]:
    """(name, request, now) of every golden chart: the whole ones, the scenarios, the benchmark's."""
    yield from whole()
    for path in sorted(SCENARIO_DIR.glob("*.json")):
        case = json.loads(path.read_text(encoding="utf-8"))
        yield f"scenarios/{path.stem}", case["request"], case["expect"]["now"]
    from benchmarks.charts import charts  # the benchmark's own charts, as it builds them

    for name, body in charts().items():
        yield f"benchmark/{name}", body, None


def digests(answered: dict[str, Any]) -> dict[str, str]:
    """A SHA-256 of each part (response, explanation text, explanation JSON), in key order."""
    return {part: hashlib.sha256(dump(value).encode("utf-8")).hexdigest() for part, value in answered.items()}


def dump(data: Any) -> str:
    """JSON in the dicts' own key order (the order a client receives)."""
    return json.dumps(data, indent=1, ensure_ascii=False) + "\n"


def generate() -> dict[str, Any]:
    return {
        "responses": {name: answer(body, now)["response"] for name, body, now in whole()},
        "digests": {name: digests(answer(body, now)) for name, body, now in charts()},
    }


def main() -> None:
    GOLDEN.parent.mkdir(exist_ok=True)
    GOLDEN.write_text(dump(generate()), encoding="utf-8")


if __name__ == "__main__":
    main()
