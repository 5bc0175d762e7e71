"""Evidence in clinical words: one short line per fact ("SBP 78 mmHg, 1 h ago").

``fhir_mappings`` gives structured evidence (what, value, unit, time, status, reason);
every word a clinician reads on a card is written here, from ``guideline.json`` labels.
"""

from __future__ import annotations

from datetime import datetime

from fhir_mappings.facts import Evidence
from fhir_mappings.mr_grade import grade_name
from fhir_mappings.numbers import fmt
from hooks.guideline import Guideline
from hooks.text import ago, collapse, duration

_MEASURED = {
    "sbp": "SBP",
    "map": "MAP",
    "lactate": "Lactate",
    "creatinine": "Creatinine",
    "bilirubin-total": "Bilirubin",
    "platelets": "Platelets",
}


def measured_name(what: str) -> str:
    """The short name of a measurement: "SBP", "MAP", "Lactate" (the key itself if unknown)."""
    return _MEASURED.get(what, what)


def phrase(ev: Evidence, g: Guideline, now: datetime) -> str:
    """One line for the card's "Why" list; never a resource id, code system or raw unit."""
    what = ev.what or ""
    if ev.resource_type == "Condition" and what not in _NOT_PROBLEM_LINE:
        # A problem-list line (a long stay lists many Conditions): the branches before
        # _phrase's Condition one cannot take it, so this is that branch, sooner
        # (tests/hooks/test_fast_paths.py compares the two ways).
        label = g.value_set_labels.get(what)
        if label:
            return _condition(ev, what, label, g, now)
    return _phrase(ev, g, now)


def _phrase(ev: Evidence, g: Guideline, now: datetime) -> str:
    """``phrase`` the long way: every branch in turn."""
    what = ev.what or ""
    if what in _MEASURED and ev.value is not None:
        when = _when(ev, now)
        unit = g.units.get(ev.unit or "", ev.unit or "")
        computed = " (computed from the BP panel)" if ev.status == "computed" else ""
        value = ev.value_text or fmt(ev.value, ev.unit)  # a bound keeps its comparator: ">15"
        text = f"{_MEASURED[what]} {value} {unit}".rstrip() + computed
        if ev.status == "time-unknown" and ev.time is not None:
            when = f"of {ev.time.day} {ev.time.strftime('%b')}"  # no time to count hours from
        if ev.status == "confirmed":
            text += f" ({g.texts['reading_confirmed']})"
        reason = g.texts.get(f"reading_{(ev.reason or '').replace('-', '_')}") if ev.reason else None
        return _join(text, when) + (f": {reason}" if reason else "")
    if what in ("echo-grade", "condition-grade"):
        return _grade(ev, _when(ev, now), g)
    label = g.value_set_labels.get(what)
    if ev.resource_type in ("MedicationRequest", "MedicationAdministration"):
        return _drug(ev, g, now)
    if what == "echocardiography" and label:
        return g.texts["echo_done"].format(label=label, when=_when(ev, now)).replace("  ", " ")
    if ev.resource_type in ("Procedure", "Device", "DeviceUseStatement") and label:
        return _support(ev, label, g, now)
    if ev.resource_type == "Condition" and label:
        return _condition(ev, what, label, g, now)
    return collapse(ev.display or ev.resource_type, 80)


#: What phrase() says by its ``what`` before the Condition branch (a measurement, a grade, an echo).
_NOT_PROBLEM_LINE = frozenset({*_MEASURED, "echo-grade", "condition-grade", "echocardiography"})


def _condition(ev: Evidence, what: str, label: str, g: Guideline, now: datetime) -> str:
    """A Condition's line (``phrase`` takes it first, ``_phrase`` last), the wording kept per
    label (``Guideline.on_problem_list``)."""
    if ev.status == "resolved":
        return _join(f"{label} resolved", _when(ev, now))
    unconfirmed = g.texts["unconfirmed_word"] if ev.status == "unconfirmed" else ""
    # Only a trigger's onset is said: a long stay's many old Conditions are not timed.
    if what not in g.trigger_value_sets:
        return g.on_problem_list(label) + unconfirmed
    when = _when(ev, now)
    onset = f"onset {when}" if when else ""
    return _join(g.on_problem_list(label) + unconfirmed, onset)


def _when(ev: Evidence, now: datetime) -> str:
    """How long ago (empty without a time); worded only by a line that says it."""
    return ago(ev.time, now) if ev.time is not None else ""


def _grade(ev: Evidence, when: str, g: Guideline) -> str:
    """An echo grade ("Echo (preliminary): severe MR (4+), 2 h ago") or a problem-list severity."""
    status = ev.status or ""
    if status == "not-graded":
        return g.texts["echo_newest_not_graded"].format(when=when)
    if ev.what == "condition-grade" and ev.value is not None:
        grade = int(ev.value)
        name = grade_name(grade).capitalize()
        recorded = g.texts["recorded_when"].format(when=when) if when else ""
        return g.texts["grade_on_problem_list"].format(name=name, grade=grade, when=recorded)
    source = "Echo" if ev.what == "echo-grade" else "MR Condition severity"
    source += g.texts["preliminary_label"] if status.endswith("preliminary") else ""
    if ev.value is not None:
        grade = int(ev.value)
        return _join(f"{source}: {grade_name(grade)} MR ({grade}+)", when)
    if status.startswith("range") and ev.value_text:
        return _join(f"{source}: MR {ev.value_text}", when)
    shown = f" '{ev.value_text}'" if ev.value_text else ""
    return _join(f"{source}: MR grade{shown} not machine-readable", when)


#: States that last: said with how long ("running for 3 days"), not when they began.
_ONGOING = frozenset({"running", "in-progress", "active-device"})


def _drug(ev: Evidence, g: Guideline, now: datetime) -> str:
    name = (ev.what or ev.display or "drug").capitalize()
    state = g.texts.get(f"drug_{(ev.status or '').replace('-', '_')}", "")
    text = f"{name} {state}".strip()
    if ev.status in _ONGOING and ev.time is not None:
        text = f"{text} {duration(ev.time, now)}".rstrip()
    if ev.reason == "name-match":  # counted, but only by its name: the clinician verifies
        text += f" ({g.texts['drug_name_match']})"
    elif ev.reason:
        text += f" ({g.texts['not_counted_' + ev.reason.replace('-', '_')]})"
    return text


def _support(ev: Evidence, label: str, g: Guideline, now: datetime) -> str:
    when = _when(ev, now)
    if ev.reason == "end-not-recorded":
        return g.texts["check_end"].format(kind=label, when=when)
    if ev.reason == "configuration-not-coded":
        return g.texts["check_configuration_not_coded"].format(kind=label)
    if ev.reason == "temporary-or-durable":
        return g.texts["check_temporary_or_durable"].format(kind=label)
    if ev.what == "ecmo-respiratory":
        return g.texts["vv_ecmo"]
    state = g.texts.get(f"support_{(ev.status or '').replace('-', '_')}", "")
    if "{when}" in state:  # "inserted 5 days ago, no removal recorded"
        return collapse(f"{label} {state.format(when=when)}")
    text = f"{label} {state}".strip()
    if ev.status in _ONGOING and ev.time is not None:
        return f"{text} {duration(ev.time, now)}".rstrip()
    return _join(text, when)


def _join(text: str, when: str) -> str:
    return f"{text}, {when}" if when else text
