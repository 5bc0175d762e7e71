"""Whatever the EHR sends, map_chart answers: bad input is left out and reported, never raised."""

from __future__ import annotations

import contextlib
import copy
from datetime import timedelta
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fhir_mappings import ChartInput, map_chart
from fhir_mappings.facts import Status
from fhir_mappings.parse import KEY_LABELS
from fhir_mappings.timing import TimeProblem, parse_time, within
from tests.fhir_mappings.charts import DATA, NOW, PATIENT, load

FIXTURES = sorted(str(p.relative_to(DATA)) for p in Path(DATA).rglob("*.json"))

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)


def _resources(doc: Any) -> list[dict[str, Any]]:
    if isinstance(doc, dict) and doc.get("resourceType") == "Bundle":
        return [e["resource"] for e in doc.get("entry", [])]
    return [doc]


def _items(node: Any) -> list[tuple[Any, Any]]:
    if isinstance(node, dict):
        return sorted(node.items(), key=lambda kv: str(kv[0]))
    if isinstance(node, list):
        return list(enumerate(node))
    return []


@st.composite
def damaged_bundles(draw: st.DrawFn) -> dict[str, Any]:
    """A fixture bundle with one element of one resource replaced by arbitrary JSON."""
    doc = copy.deepcopy(load(draw(st.sampled_from(FIXTURES))))
    resources = _resources(doc)
    target: Any = draw(st.sampled_from(resources))
    # Walk down a few levels (components, codings, quantities) and damage what is there.
    for _ in range(draw(st.integers(0, 3))):
        children = [k for k, v in _items(target) if isinstance(v, dict | list) and v]
        if not children:
            break
        target = target[draw(st.sampled_from(children))]
    keys = [k for k, _ in _items(target)]
    if keys:
        target[draw(st.sampled_from(keys))] = draw(json_values)
    entries = [{"resource": r} for r in resources] + [draw(json_values)]
    return {"resourceType": "Bundle", "type": "searchset", "entry": entries}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(key=st.sampled_from(sorted(KEY_LABELS)), value=damaged_bundles() | json_values)
def test_damaged_prefetch_never_raises(key: str, value: Any) -> None:
    prefetch: dict[str, Any] = {k: None for k in KEY_LABELS}
    prefetch[key] = value
    facts = map_chart(ChartInput(PATIENT, prefetch), now=NOW)
    assert facts.hypotension.status in set(Status)
    for note in facts.data_quality:
        assert len(note.reason) <= 200


@st.composite
def fhir_dates(draw: st.DrawFn) -> str:
    """A FHIR-shaped date of any precision; integers reach their bounds (year 1, year 9999)."""
    year, month, day = draw(st.integers(1, 9999)), draw(st.integers(1, 12)), draw(st.integers(1, 31))
    zone = draw(st.sampled_from(["Z", "+14:00", "-12:00", ""]))
    forms = [f"{year:04d}", f"{year:04d}-{month:02d}", f"{year:04d}-{month:02d}-{day:02d}"]
    forms.append(f"{forms[2]}T23:59:59{zone}")
    return draw(st.sampled_from(forms))


@settings(deadline=None)
@given(raw=fhir_dates())
def test_any_fhir_shaped_date_parses_or_is_refused_with_a_reason(raw: str) -> None:
    try:
        time = parse_time(raw)
    except TimeProblem:
        return
    for window in (timedelta(hours=24), timedelta(days=30), timedelta(days=365)):
        with contextlib.suppress(TimeProblem):
            within(time, NOW, window, need_time_of_day=False)
