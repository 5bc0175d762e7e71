"""The order-sign demo requests of examples/orders, generated from this file
(`.venv/bin/python -m tests.cds_service.order_demos` writes them; a test says when they are
stale). One patient, ``demo-orders-1``, with severe MR; the blood pressure and the order
being signed differ."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.cds_service.order_requests import INTRAVENOUS, NITROPRUSSIDE, PHENYLEPHRINE, draft
from tests.hooks import chartkit as ck

ORDER_DIR = Path(__file__).resolve().parents[2] / "examples" / "orders"
PATIENT = "demo-orders-1"

#: name -> (SBP in mmHg, the draft's id suffix, its drug, its route, what it shows)
DEMOS: dict[str, tuple[float, str, tuple[str, str, str], tuple[str, str, str] | None, str]] = {
    "01-nitroprusside-at-sbp-78": (
        78,
        "draft-1",
        NITROPRUSSIDE,
        INTRAVENOUS,
        "Severe MR (echo 4+ two days ago), SBP 78 mmHg an hour ago; an IV nitroprusside order is "
        "being signed: one critical card whose suggestion deletes the draft.",
    ),
    "02-phenylephrine-with-severe-mr": (
        104,
        "draft-2",
        PHENYLEPHRINE,
        INTRAVENOUS,
        "Severe MR, SBP 104 mmHg; an IV phenylephrine order is being signed: a warning that it "
        "raises afterload and can worsen MR.",
    ),
    "03-lisinopril-at-sbp-118": (
        118,
        "draft-3",
        ck.LISINOPRIL,
        None,
        "Severe MR at a normal pressure (SBP 118 mmHg); a lisinopril order is being signed: no card.",
    ),
}


def request(name: str) -> dict[str, Any]:
    sbp, suffix, drug, route, description = DEMOS[name]
    chart = [
        ck.condition(f"{PATIENT}-mr", ck.MR),
        ck.echo(f"{PATIENT}-echo", ck.at(days=2), concept=ck.SEVERE),
        ck.sbp(f"{PATIENT}-bp", sbp, ck.at(hours=1)),
    ]
    body = ck.hook_request(PATIENT, chart, name=name)
    order = draft(f"{PATIENT}-{suffix}", drug, route=route)
    order["subject"] = {"reference": f"Patient/{PATIENT}"}
    body["hook"] = "order-sign"
    body["context"]["draftOrders"] = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": order}],
    }
    body["extension"]["org.mr-cds-hooks.demo"]["description"] = description
    return body


def rendered() -> dict[Path, str]:
    return {
        ORDER_DIR / f"{name}.json": json.dumps(request(name), indent=2, ensure_ascii=False) + "\n"
        for name in DEMOS
    }


def main() -> None:
    ORDER_DIR.mkdir(parents=True, exist_ok=True)
    for path, text in rendered().items():
        path.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
