"""Strict in what a rule reads, liberal in the rest (spec revision 3, item 10).

A resource that fails FHIR R4 validation only in an element no fact reads still counts,
with a data-quality note naming the element; an error in an element a fact reads still
leaves the resource out. ``read_elements.json`` lists what the facts read; the last test
records what they actually read on every fixture, scenario and demo chart.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cds_service.calls.demo import as_of, parse_instant
from fhir_mappings import ChartInput, PatientFacts, map_chart
from fhir_mappings.facts import Status
from fhir_mappings.liberal import parse_read_elements, read_elements, verdict
from fhir_mappings.parse import KEY_LABELS
from hooks import evaluate, explain, explanation_text
from tests.fhir_mappings.charts import DATA, NOW, PATIENT, load, reasons
from tests.hooks.cases import DEMO_DIR, DEMOS

SCENARIO_DIR = Path(__file__).parents[1] / "hooks" / "scenarios"


def _resource(name: str) -> dict[str, Any]:
    resource: dict[str, Any] = copy.deepcopy(load(name)["entry"][0]["resource"])
    return resource


def _facts(**keys: dict[str, Any]) -> PatientFacts:
    prefetch: dict[str, Any] = {key: None for key in KEY_LABELS}
    for key, resource in keys.items():
        prefetch[key.replace("_", "-")] = {
            "resourceType": "Bundle",
            "type": "searchset",
            "entry": [{"resource": resource}],
        }
    return map_chart(ChartInput(PATIENT, prefetch), now=NOW)


def running_dobutamine(**extra: Any) -> dict[str, Any]:
    return {**_resource("meds/admin_dobutamine_in_progress.json"), **extra}


def sbp_89(**extra: Any) -> dict[str, Any]:
    return {**_resource("vitals/sbp_89_2h.json"), **extra}


# --- elements no fact reads ------------------------------------------------------------


def test_running_infusion_with_an_element_r4_lacks_still_counts() -> None:
    # The synthetic-data finding: an R5 element (``encounter``) on an R4 administration.
    result = _facts(medication_administrations=running_dobutamine(encounter={"reference": "Encounter/e-1"}))
    assert result.vasoactive_support.status is Status.PRESENT
    assert reasons(result)["MedicationAdministration/ma-1"] == [
        "used; not valid FHIR R4 and not read: encounter"
    ]


def test_the_note_on_a_used_resource_is_marked_kept() -> None:
    result = _facts(medication_administrations=running_dobutamine(isSubPotent=False))
    (note,) = result.data_quality
    assert note.kept


def test_sbp_with_a_malformed_note_still_counts_and_the_note_is_not_validated() -> None:
    # ``note`` is an R4 element no fact reads: it is not validated at all (issue 18).
    result = _facts(vital_signs=sbp_89(note="free text where a list belongs"))
    assert result.hypotension.status is Status.PRESENT
    assert "Observation/bp-1" not in reasons(result)


def test_several_undefined_elements_are_named_once_each_in_order() -> None:
    # ``note`` is defined (and not validated); ``_note`` (not a primitive) and ``zeta`` are not.
    result = _facts(vital_signs=sbp_89(zeta=1, note="x", _note={"bad": 1}))
    assert reasons(result)["Observation/bp-1"] == ["used; not valid FHIR R4 and not read: _note, zeta"]


def test_the_note_names_the_element_never_its_value() -> None:
    result = _facts(vital_signs=sbp_89(remark="Jane Doe 1970-01-01"))
    assert reasons(result)["Observation/bp-1"] == ["used; not valid FHIR R4 and not read: remark"]
    assert "Jane" not in json.dumps([n.reason for n in result.data_quality])


def test_an_overlong_unknown_element_name_is_cut() -> None:
    found = verdict(sbp_89(**{"x" * 5000: 1}))
    assert found.error is None
    assert [len(name) for name in found.tolerated] == [40]


def test_a_valid_resource_has_no_note() -> None:
    assert _facts(vital_signs=sbp_89()).data_quality == ()


# --- elements a fact reads -------------------------------------------------------------


def test_invalid_dosage_of_a_running_infusion_leaves_it_out() -> None:
    result = _facts(medication_administrations=running_dobutamine(dosage={"rateQuantity": {"value": "fast"}}))
    assert result.vasoactive_support.status is not Status.PRESENT
    (reason,) = reasons(result)["MedicationAdministration/ma-1"]
    assert reason.startswith("failed validation: dosage.rateQuantity.value")
    assert "fast" not in reason


def test_an_element_r4_lacks_but_a_fact_reads_is_still_validated() -> None:
    # Shared medication code reads ``authoredOn`` of an administration too: it is listed.
    result = _facts(medication_administrations=running_dobutamine(authoredOn="2026-11-20T08:00:00Z"))
    assert result.vasoactive_support.status is not Status.PRESENT
    (reason,) = reasons(result)["MedicationAdministration/ma-1"]
    assert reason.startswith("failed validation: authoredOn")


def test_an_unknown_element_beside_an_invalid_read_element_leaves_the_resource_out() -> None:
    found = verdict(sbp_89(encounterX=1, code={"coding": "8480-6"}))
    assert (found.error or "").startswith("code")


def test_a_rule_across_read_elements_is_checked_once_unread_ones_are_set_aside() -> None:
    # Two value[x] (only one allowed) hide behind the unknown element on the first pass.
    found = verdict(sbp_89(unknownElement=True, valueString="89"))
    assert found.error is not None


def test_an_invalid_subject_is_read_and_leaves_the_resource_out() -> None:
    found = verdict(sbp_89(subject={"reference": 5}))
    assert (found.error or "").startswith("subject")


def test_a_type_not_listed_is_validated_strictly() -> None:
    listed = parse_read_elements({"common": ["id"], "types": {"Observation": ["value[x]"]}})
    assert listed.reads("Patient", "anything")
    assert listed.reads("Observation", "valueQuantity")
    assert listed.reads("Observation", "_id")
    assert not listed.reads("Observation", "note")
    assert not listed.reads("Observation", "value")  # "value[x]" is a choice, not an element


def test_explain_lists_a_used_resource_apart_from_those_left_out() -> None:
    result = _facts(medication_administrations=running_dobutamine(encounter={"reference": "Encounter/e-1"}))
    text = explanation_text(explain(result), now=NOW, left_out=result.data_quality)
    assert "Left out of the assessment" not in text
    kept = text.split("Used, with a data-quality problem in elements no rule reads:", 1)[1]
    assert "MedicationAdministration/ma-1: used; not valid FHIR R4 and not read: encounter" in kept


def test_a_card_never_shows_the_note() -> None:
    result = _facts(vital_signs=sbp_89(remark="x"))
    assert result.data_quality
    cards = json.dumps(evaluate(result, now=NOW, ids=lambda: "00000000-0000-4000-8000-000000000000"))
    assert "not read" not in cards


# --- the list is true: everything a fact reads is listed -------------------------------


class _Recording(dict[str, Any]):
    """A resource that records which top-level elements the facts read."""

    reads: dict[str, set[str]] = {}

    def _seen(self, key: Any) -> None:
        kind = dict.get(self, "resourceType")
        _Recording.reads.setdefault(str(kind), set()).add(str(key))

    def get(self, key: Any, default: Any = None) -> Any:
        self._seen(key)
        return dict.get(self, key, default)

    def __getitem__(self, key: Any) -> Any:
        self._seen(key)
        return dict.__getitem__(self, key)

    def __contains__(self, key: Any) -> bool:
        self._seen(key)
        return dict.__contains__(self, key)


def _recording(value: Any) -> Any:
    if isinstance(value, list):
        return [_recording(v) for v in value]
    if not isinstance(value, dict):
        return value
    inner = {k: _recording(v) for k, v in value.items()}
    kind = inner.get("resourceType")
    return _Recording(inner) if isinstance(kind, str) and kind != "Bundle" else inner


def _every_chart() -> Iterator[tuple[ChartInput, Any]]:
    for path in sorted(DATA.rglob("*.json")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        # Under every key: each fact meets each resource, wherever an EHR put it.
        yield ChartInput(PATIENT, {key: doc for key in KEY_LABELS}), NOW
    for path in sorted(SCENARIO_DIR.glob("*.json")):
        case = json.loads(path.read_text(encoding="utf-8"))
        request = case["request"]
        now = parse_instant(case["expect"]["now"])
        yield ChartInput(request["context"]["patientId"], request["prefetch"]), now
    for demo in DEMOS:
        request = json.loads((DEMO_DIR / f"{demo.name}.json").read_text(encoding="utf-8"))
        yield ChartInput(request["context"]["patientId"], request["prefetch"]), as_of(request)


def test_every_element_a_fact_reads_is_listed_as_read() -> None:
    _Recording.reads = {}
    for chart, now in _every_chart():
        prefetch = {key: _recording(value) for key, value in chart.prefetch.items()}
        map_chart(ChartInput(chart.patient_id, prefetch), now=now)
    listed = read_elements()
    assert {"Observation", "MedicationAdministration", "Condition"} <= _Recording.reads.keys()
    unlisted = {
        f"{kind}.{element}"
        for kind, elements in _Recording.reads.items()
        for element in elements
        if not listed.reads(kind, element)
    }
    assert unlisted == set(), "read by a fact: add to fhir_mappings/read_elements.json"


@pytest.mark.parametrize("kind", sorted(read_elements().by_type))
def test_every_listed_type_is_an_r4_resource_whose_common_elements_are_read(kind: str) -> None:
    from fhir.resources.R4B import get_fhir_model_class

    assert get_fhir_model_class(kind).model_fields  # a real resource type, not a typo
    # Names may be R4-foreign (read anyway: MedicationRequest.effective[x]); the common ones
    # are always read.
    names, _ = read_elements().by_type[kind]
    assert {"resourceType", "id", "meta", "subject", "status"} <= names
