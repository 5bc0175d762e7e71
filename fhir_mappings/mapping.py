"""Prefetch -> PatientFacts: the single entry point of the package (docs/clinical-rules.md).

A fact is PRESENT when its criterion is met by data that counts; ABSENT only when the
data needed to decide was there and did not meet it; UNKNOWN otherwise, with ``missing``
saying why. A key that could not be obtained never lets a fact be ABSENT.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime

from fhir_mappings.conditions import ActiveCondition, active_in, resolved_in
from fhir_mappings.elements import Resource, codings
from fhir_mappings.facts import Evidence, Fact, MedicationClasses, PatientFacts, Status
from fhir_mappings.gaps import Gap, Missing, part_of
from fhir_mappings.keys import Key
from fhir_mappings.labs import (
    BILIRUBIN_RULE,
    CREATININE_RULE,
    LACTATE_RULE,
    PLATELETS_RULE,
    LabFinding,
    LabRule,
    assess,
    assess_series,
)
from fhir_mappings.medications import MedicationFindings, medications
from fhir_mappings.mr_grade import (
    decide_echo,
    echo_graded_recently,
    echo_grades,
    mr_grade,
    mr_on_echo,
    mr_on_echo_any,
    recent_echo,
    superseded,
)
from fhir_mappings.parse import Collected, Report, collect
from fhir_mappings.prefetch import ChartInput
from fhir_mappings.procedures import (
    RESPIRATORY,
    SUPPORT_SEARCH,
    VV_ECMO,
    Support,
    Supports,
    devices,
    echo_procedures,
    interventions,
    procedures,
)
from fhir_mappings.thresholds import Thresholds, load_thresholds
from fhir_mappings.timing import TimeProblem, describe_window, within
from fhir_mappings.valuesets import value_sets_of
from fhir_mappings.vitals import blood_pressures, hypotension

log = logging.getLogger(__name__)

ORGAN_SYSTEMS = ("renal", "hepatic", "respiratory", "coagulation")
TRIGGERS = ("acute-myocardial-infarction", "infective-endocarditis", "papillary-muscle-or-chordal-rupture")


def map_chart(
    chart: ChartInput, *, now: datetime, thresholds: Thresholds | None = None, validate_all: bool = False
) -> PatientFacts:
    """Map the chart to the facts of docs/clinical-rules.md as of ``now`` (timezone-aware UTC).

    ``validate_all``: validate every resource first, not only those that decide or are
    shown (the reference the lazy path is tested against; only notes can differ).
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    limits = thresholds or load_thresholds()
    chart_data = collect(chart)
    report = Report(chart_data.notes)
    if validate_all:
        for resource in chart_data.resources:
            report.valid(resource)
    facts = _Mapper(chart_data, report, now, limits).facts(chart.patient_id)
    # Counts and key names only: never a patient id, a name or a value.
    log.debug(
        "mapped %d resources: %d left out, unavailable keys: %s",
        len(chart_data.resources),
        len(facts.data_quality),
        ", ".join(k for k, _ in facts.unavailable) or "none",
    )
    return facts


class _Mapper:
    """One evaluation: the collected chart, the data-quality log, ``now`` and thresholds."""

    def __init__(self, chart: Collected, report: Report, now: datetime, thresholds: Thresholds) -> None:
        self.chart = chart
        self.report = report
        self.now = now
        self.thresholds = thresholds
        # One pass over the Conditions and the Observations: each fact then reads only those
        # coded for it (a dozen value sets are asked of the Conditions alone), in chart order.
        self.conditions_in = _by_value_set(chart.of_type("Condition"))
        self.observations_in = _by_value_set(chart.of_type("Observation"))
        self.procedures = chart.of_type("Procedure")
        self.devices = chart.of_type("Device", "DeviceUseStatement")
        self.medication_use = chart.of_type("MedicationRequest", "MedicationAdministration")
        self._active: dict[str, tuple[ActiveCondition, ...]] = {}
        self._respiratory: tuple[Support, ...] | None = None

    def facts(self, patient_id: str) -> PatientFacts:
        mr = self.active("mitral-regurgitation")
        pressures = blood_pressures(
            self.coded("systolic-bp", "mean-arterial-pressure"),
            now=self.now,
            thresholds=self.thresholds,
            report=self.report,
        )
        meds = medications(self.medication_use, self.chart.by_reference, report=self.report)
        # Under mechanical circulatory support only the MAP is read (a durable VAD, once it is
        # a fact, joins here through the same ``map_only`` parameter of ``hypotension``).
        support = self.mechanical_support()
        organs = self.organ_dysfunction()
        echoes = echo_grades(
            self.coded("echo-mr-grade"), now=self.now, thresholds=self.thresholds, report=self.report
        )
        decision = decide_echo(echoes, thresholds=self.thresholds, report=self.report)
        unavailable = self.chart.missing(Key.MR_GRADE)
        grade = mr_grade(decision, mr, now=self.now, thresholds=self.thresholds, unavailable=unavailable)
        # Any completed repair or replacement after the echo supersedes it, whatever the problem
        # list still says; a resolved MR Condition only when no MR Condition is active.
        resolutions = (
            ()
            if mr
            else resolved_in(
                self.conditions_in.get("mitral-regurgitation", ()), "mitral-regurgitation", self.report
            )
        )
        grade = superseded(grade, interventions(self.procedures, self.report), resolutions)
        on_echo = mr_on_echo(
            decision, grade, now=self.now, thresholds=self.thresholds, unavailable=unavailable
        )
        done = echo_procedures(self.procedures, self.report)
        recent = recent_echo(echoes, done, self.report, now=self.now, thresholds=self.thresholds)
        return PatientFacts(
            as_of=self.now,
            patient_id=patient_id,
            mr_documented=self.condition_fact("mr_documented", mr),
            mr_unconfirmed=bool(mr) and all(c.unconfirmed for c in mr),
            mr_grade=grade,
            mr_on_echo=on_echo,
            hypotension=hypotension(
                pressures, self.thresholds, self.chart.missing(Key.VITAL_SIGNS), map_only=support.present
            ),
            hypoperfusion=self.lab_fact("hypoperfusion", self.lactate()),
            cardiogenic_shock=self.condition_fact("cardiogenic_shock", self.active("cardiogenic-shock")),
            vasoactive_support=self.vasoactive_support(meds),
            mechanical_support=support,
            respiratory_ecmo=self.respiratory_ecmo(),
            organ_dysfunction=organs,
            multi_organ_failure=self.multi_organ_failure(organs),
            acute_mr_trigger=self.acute_mr_trigger(),
            pulmonary_edema=self.condition_fact("pulmonary_edema", self.active("acute-pulmonary-edema")),
            heart_failure_symptoms=self.condition_fact(
                "heart_failure_symptoms",
                self.active("heart-failure") + self.active("dyspnea") + self.active("acute-pulmonary-edema"),
            ),
            medications=self.medication_classes(meds),
            data_quality=self.report.notes,
            unavailable=tuple(sorted(self.chart.unavailable.items())),
            mr_on_echo_any=mr_on_echo_any(echoes, self.report, unavailable),
            recent_echo=recent,
            echo_graded_recently=echo_graded_recently(grade, now=self.now, thresholds=self.thresholds),
        )

    # -- Conditions --------------------------------------------------------------------

    def active(self, value_set_id: str) -> tuple[ActiveCondition, ...]:
        if value_set_id not in self._active:
            coded = self.conditions_in.get(value_set_id, ())
            self._active[value_set_id] = active_in(coded, value_set_id, self.report)
        return self._active[value_set_id]

    def condition_fact(self, name: str, found: tuple[ActiveCondition, ...]) -> Fact:
        """PRESENT on an active Condition; ABSENT only when the conditions were obtained."""
        return _decide(name, [c.evidence for c in found], [], self.chart.missing(Key.CONDITIONS))

    def acute_mr_trigger(self) -> Fact:
        """Active acute MI, endocarditis or papillary/chordal rupture with onset in 30 days."""
        window = self.thresholds.acute_trigger_window
        evidence: list[Evidence] = []
        undated: list[str] = []
        for vs_id in TRIGGERS:
            for condition in self.active(vs_id):
                try:
                    onset = condition.onset
                    inside = onset.start <= self.now and within(
                        onset, self.now, window, need_time_of_day=False
                    )
                except TimeProblem as problem:
                    undated.append(f"an acute trigger Condition: {problem}, not counted")
                    self.report.note(condition.resource, f"acute trigger not counted: {problem}")
                    continue
                if inside:
                    note = f"{vs_id}: onset within {describe_window(window)}"
                    evidence.append(_with_note(condition.evidence, note, onset.start))
                else:
                    self.report.note(
                        condition.resource,
                        f"{vs_id}: onset outside the {describe_window(window)} window",
                        routine=True,
                    )
        unavailable = self.chart.missing(Key.CONDITIONS)
        if not evidence and undated:
            return Fact("acute_mr_trigger", Status.UNKNOWN, (), tuple(undated) + _opt(unavailable))
        return _decide("acute_mr_trigger", evidence, undated, unavailable)

    # -- Observations ------------------------------------------------------------------

    def lab(self, rule: LabRule) -> LabFinding:
        return assess(
            rule, self.coded(rule.value_set), now=self.now, thresholds=self.thresholds, report=self.report
        )

    def lactate(self) -> LabFinding:
        """Lactate is a time series: the newest reading decides (docs/clinical-rules.md)."""
        return assess_series(
            LACTATE_RULE,
            self.coded(LACTATE_RULE.value_set),
            now=self.now,
            thresholds=self.thresholds,
            report=self.report,
        )

    def lab_fact(self, name: str, finding: LabFinding) -> Fact:
        unavailable = self.chart.missing(Key.LABS)
        if finding.status is Status.PRESENT:
            return Fact(name, Status.PRESENT, finding.evidence, finding.missing, finding.shown)
        if unavailable is not None:
            missing: tuple[Missing, ...] = (unavailable, *finding.missing)
            return Fact(name, Status.UNKNOWN, finding.evidence, missing, finding.shown)
        return Fact(name, finding.status, finding.evidence, finding.missing, finding.shown)

    # -- Organ dysfunction -------------------------------------------------------------

    def organ_dysfunction(self) -> dict[str, Fact]:
        respiratory = self.respiratory_support()
        return {
            "renal": self.organ("renal", self.active("acute-kidney-injury"), self.lab(CREATININE_RULE)),
            "hepatic": self.organ("hepatic", self.active("liver-failure"), self.lab(BILIRUBIN_RULE)),
            "respiratory": _decide(
                "respiratory",
                [c.evidence for c in self.active("acute-respiratory-failure")]
                + [s.evidence for s in respiratory],
                [],
                *self.keys_missing(Key.CONDITIONS, Key.PROCEDURES),
            ),
            "coagulation": self.lab_fact("coagulation", self.lab(PLATELETS_RULE)),
        }

    def organ(self, name: str, conditions: tuple[ActiveCondition, ...], finding: LabFinding) -> Fact:
        """An active organ-failure Condition, or the lab criterion (docs/clinical-rules.md)."""
        evidence = tuple(c.evidence for c in conditions) + finding.evidence
        if conditions or finding.status is Status.PRESENT:
            return Fact(name, Status.PRESENT, evidence, finding.missing)
        gaps = tuple(self.keys_missing(Key.CONDITIONS, Key.LABS))
        if gaps or finding.status is Status.UNKNOWN:
            return Fact(name, Status.UNKNOWN, evidence, gaps + finding.missing)
        return Fact(name, Status.ABSENT, evidence, finding.missing)

    def multi_organ_failure(self, organs: dict[str, Fact]) -> Fact:
        """An active multiple-organ-failure Condition, or >= 2 organ systems failing."""
        condition = self.active("multiple-organ-failure")
        present = [name for name, fact in organs.items() if fact.status is Status.PRESENT]
        unknown = [name for name, fact in organs.items() if fact.status is Status.UNKNOWN]
        evidence = [c.evidence for c in condition] + [e for n in present for e in organs[n].evidence]
        if condition or len(present) >= 2:
            return Fact("multi_organ_failure", Status.PRESENT, tuple(evidence))
        # Say why each organ is unknown ("renal: no creatinine in the last 48 h"), so a card
        # tells the clinician what to measure, not only that something is missing.
        missing: list[Missing] = []
        for name in unknown:
            texts = [m for m in organs[name].missing if isinstance(m, str)]
            gaps = [part_of(name, m) for m in organs[name].missing if isinstance(m, Gap)]
            if texts or not gaps:
                missing.append(f"{name}: {'; '.join(texts) or 'not assessed'}")
            missing.extend(gaps)
        missing.extend(self.keys_missing(Key.CONDITIONS))
        if len(present) + len(unknown) >= 2 or self.chart.missing(Key.CONDITIONS):
            return Fact("multi_organ_failure", Status.UNKNOWN, tuple(evidence), tuple(missing))
        return Fact("multi_organ_failure", Status.ABSENT, tuple(evidence), tuple(missing))

    # -- Support -----------------------------------------------------------------------

    def respiratory_support(self) -> tuple[Support, ...]:
        if self._respiratory is None:
            window = self.thresholds.support_procedure_window
            found = procedures(self.procedures, RESPIRATORY, now=self.now, window=window, report=self.report)
            on_devices = devices(self.devices, self.chart.by_reference, RESPIRATORY, self.report)
            self._respiratory = found + on_devices.found
        return self._respiratory

    def respiratory_ecmo(self) -> Fact:
        """Veno-venous ECMO: named on circulatory-support cards as respiratory support only."""
        evidence = [s.evidence for s in self.respiratory_support() if s.value_set == VV_ECMO]
        return _decide("respiratory_ecmo", evidence, [], self.chart.missing(Key.PROCEDURES))

    def mechanical_support(self) -> Fact:
        """PRESENT on certain support; UNKNOWN when support may be running but cannot be told
        (ECMO configuration not coded, removal not recorded), with that support ``shown``."""
        window = self.thresholds.support_procedure_window
        found = procedures(self.procedures, SUPPORT_SEARCH, now=self.now, window=window, report=self.report)
        on_devices: Supports = devices(self.devices, self.chart.by_reference, SUPPORT_SEARCH, self.report)
        supports = found + on_devices.found
        evidence = [s.evidence for s in supports if s.certain]
        uncertain = tuple(s.evidence for s in supports if not s.certain)
        partial: list[Missing] = [
            *self.keys_missing(Key.DEVICES, Key.DEVICE_USE_STATEMENTS),
            *on_devices.unresolved,
        ]
        if not evidence and (on_devices.unresolved or uncertain):
            missing = tuple(partial) + _opt(self.chart.missing(Key.PROCEDURES))
            return Fact("mechanical_support", Status.UNKNOWN, (), missing, uncertain)
        fact = _decide("mechanical_support", evidence, partial, self.chart.missing(Key.PROCEDURES))
        return replace(fact, shown=uncertain)

    # -- Medications -------------------------------------------------------------------

    def vasoactive_support(self, meds: MedicationFindings) -> Fact:
        """Running or actively ordered IV vasopressors/inotropes matched by code; the rest shown."""
        evidence = [m.evidence for m in meds.vasoactive]
        partial: list[Missing] = [*self.keys_missing(Key.MEDICATION_ADMINISTRATIONS), *meds.unidentified]
        if not evidence and meds.unidentified:
            missing = tuple(partial) + _opt(self.chart.missing(Key.MEDICATION_REQUESTS))
            return Fact("vasoactive_support", Status.UNKNOWN, (), missing, meds.vasoactive_shown)
        fact = _decide("vasoactive_support", evidence, partial, self.chart.missing(Key.MEDICATION_REQUESTS))
        return replace(fact, shown=meds.vasoactive_shown)

    def medication_classes(self, meds: MedicationFindings) -> MedicationClasses:
        missing = _opt(self.chart.missing(Key.MEDICATION_REQUESTS))
        return MedicationClasses(dict(meds.by_class), missing, dict(meds.running))

    def coded(self, *value_set_ids: str) -> list[Resource]:
        """Observations coded in any of the value sets, in chart order, without repeats."""
        found = {id(r): r for vs_id in value_set_ids for r in self.observations_in.get(vs_id, ())}
        return list(found.values())

    def keys_missing(self, *keys: Key) -> list[Gap]:
        return [m for k in keys if (m := self.chart.missing(k)) is not None]


def _by_value_set(resources: Iterable[Resource]) -> dict[str, list[Resource]]:
    """Value-set id -> the resources whose ``code`` it lists, in chart order.

    The same test as ``ValueSet.match`` (a listed (system, code) among the codings), so a
    fact reading only its value set's resources finds exactly what a full scan would.
    """
    found: dict[str, list[Resource]] = {}
    for resource in resources:
        for vs_id in value_sets_of(codings(resource.get("code"))):
            found.setdefault(vs_id, []).append(resource)
    return found


def _decide(
    name: str, evidence: Iterable[Evidence], partial: Iterable[Missing], *unavailable: Missing | None
) -> Fact:
    """PRESENT with evidence; else UNKNOWN if a needed key is missing; else ABSENT."""
    found = tuple(evidence)
    gaps = tuple(u for u in unavailable if u is not None)
    if found:
        return Fact(name, Status.PRESENT, found, tuple(partial))
    if gaps:
        return Fact(name, Status.UNKNOWN, (), gaps + tuple(partial))
    return Fact(name, Status.ABSENT, (), tuple(partial))


def _opt(value: Missing | None) -> tuple[Missing, ...]:
    return () if value is None else (value,)


def _with_note(evidence: Evidence, note: str, time: datetime | None) -> Evidence:
    return replace(evidence, note=note, time=time)
