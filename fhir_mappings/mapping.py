"""Prefetch -> PatientFacts: the single entry point of the package (docs/clinical-rules.md).

A fact is PRESENT when its criterion is met by data that counts; ABSENT only when the
data needed to decide was there and did not meet it; UNKNOWN otherwise, with ``missing``
saying why. A key that could not be obtained never lets a fact be ABSENT.

A fact family the chart holds nothing for (no organ-function Condition, lab, Procedure or
respiratory device; no Procedure or device; no medication order or administration; no
code-status, pregnancy or contraindication entry) is decided as on any such chart: once per
thresholds and state of the keys, then shared (``_Mapper.unfed``; the small demo charts
feed few families).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, TypeVar, cast

from fhir_mappings import acuity, scope
from fhir_mappings.conditions import ActiveCondition, active_in, onset_of, resolved_in
from fhir_mappings.criteria import MR_VALUE_SETS, TRIGGERS
from fhir_mappings.drafts import draft_orders
from fhir_mappings.elements import Resource, codings
from fhir_mappings.facts import Evidence, Fact, MedicationClasses, PatientFacts, Scope, Status
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
    none_found,
)
from fhir_mappings.medications import MedicationFindings, medications
from fhir_mappings.mr_grade import (
    decide_and_newest,
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
    searched,
)
from fhir_mappings.thresholds import Thresholds, load_thresholds
from fhir_mappings.timing import TimeProblem, describe_window, within
from fhir_mappings.valuesets import value_set, value_sets_of, value_sets_of_concept
from fhir_mappings.vitals import blood_pressures, hypotension

log = logging.getLogger(__name__)

ORGAN_SYSTEMS = ("renal", "hepatic", "respiratory", "coagulation")

#: What can feed the organ-dysfunction family (``_Mapper.organ_family``): the Conditions of
#: these value sets, the Observations of the lab rules, any Procedure, and a device other
#: than a Device none of whose types a respiratory or ventilator value set lists.
#: ``tests/fhir_mappings/test_unfed_families.py`` checks that the family reads no other set.
ORGAN_CONDITIONS = (
    "end-stage-renal-disease",
    "acute-kidney-injury",
    "ckd-stage-4-5",
    "cirrhosis",
    "liver-failure",
    "chronic-thrombocytopenia",
    "chronic-respiratory-failure",
    "acute-respiratory-failure",
    "multiple-organ-failure",
)
ORGAN_LABS = (CREATININE_RULE.value_set, BILIRUBIN_RULE.value_set, PLATELETS_RULE.value_set)
_RESPIRATORY_DEVICES = searched(RESPIRATORY) | {acuity.VENTILATOR_DEVICE}
#: What can feed the scope facts other than the Patient (``_Mapper.scope``): the Conditions
#: of these value sets, pregnancy-status Observations, code-status orders and Observations,
#: and a durable VAD found among the supports.
SCOPE_CONDITIONS = (
    *scope.CODE_STATUS,
    scope.PREGNANCY,
    scope.DURABLE_VAD,
    scope.MITRAL_STENOSIS,
    *scope.SURGICAL_RISK,
)
SCOPE_OBSERVATIONS = (scope.PREGNANCY_STATUS,)

#: Enum members read as module names: on Python 3.11 ``Status.PRESENT`` is a descriptor
#: call (about 75 ns against 7 for a global), and a call reads some fifty of them here.
PRESENT, ABSENT, UNKNOWN = Status.PRESENT, Status.ABSENT, Status.UNKNOWN
KEY_CODE_STATUS = Key.CODE_STATUS
KEY_CONDITIONS = Key.CONDITIONS
KEY_DEVICES = Key.DEVICES
KEY_DEVICE_USE_STATEMENTS = Key.DEVICE_USE_STATEMENTS
KEY_LABS = Key.LABS
KEY_MEDICATION_ADMINISTRATIONS = Key.MEDICATION_ADMINISTRATIONS
KEY_MEDICATION_REQUESTS = Key.MEDICATION_REQUESTS
KEY_MR_GRADE = Key.MR_GRADE
KEY_PROCEDURES = Key.PROCEDURES
KEY_VITAL_SIGNS = Key.VITAL_SIGNS

_T = TypeVar("_T")
#: Fact families decided on a chart holding nothing that could feed them depend only on the
#: thresholds and on which keys could not be obtained: (family, id of the thresholds, the
#: keys' state) -> (the thresholds, the family's facts), frozen and shared between calls.
_UNFED: dict[tuple[object, ...], tuple[Thresholds, Any]] = {}
_UNFED_KEPT = 64
#: Value-set ids ``_Mapper.active`` found known (ids never go: site codes add codes to sets).
_KNOWN_IDS: set[str] = set()


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
    if chart.draft_orders is not None:
        # Order hooks: the orders being signed, checked against the facts (after them, so
        # that their notes join the same data-quality list).
        drafts = draft_orders(
            chart.draft_orders, chart_data.by_reference, report, selections=chart.selections
        )
        facts = replace(facts, draft_orders=drafts, data_quality=report.notes)
    # Counts and key names only: never a patient id, a name or a value (worded only when
    # written: the arguments cost a microsecond a call).
    if log.isEnabledFor(logging.DEBUG):
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
        observations = chart.of_type("Observation")
        self.conditions_in = _by_value_set(chart.of_type("Condition"))
        self.observations_in = _by_value_set(observations)
        # Code status recorded as an Observation is in its value, not its code.
        self.code_status_valued = valued_in(observations, scope.CODE_STATUS)
        self.procedures = chart.of_type("Procedure")
        self.devices = chart.of_type("Device", "DeviceUseStatement")
        self.medication_use = chart.of_type("MedicationRequest", "MedicationAdministration")
        self._active: dict[str, tuple[ActiveCondition, ...]] = {}
        self._respiratory: tuple[Support, ...] | None = None
        self._respiratory_fed: bool | None = None
        self._unfed_key: tuple[object, ...] | None = None

    def facts(self, patient_id: str) -> PatientFacts:
        mr = tuple(c for vs in MR_VALUE_SETS for c in self.active(vs))
        pressures = blood_pressures(
            self.coded("systolic-bp", "mean-arterial-pressure"),
            now=self.now,
            thresholds=self.thresholds,
            report=self.report,
        )
        meds, vasoactive = self.medication_family()
        # Under mechanical circulatory support or a durable VAD only the MAP is read (spec 1.2).
        support, durable, respiratory_ecmo = self.support_family()
        organs, multi_organ_failure = self.organ_family()
        echoes = echo_grades(
            self.coded("echo-mr-grade"), now=self.now, thresholds=self.thresholds, report=self.report
        )
        # (``decide_echo`` and ``newest_echo`` in one: validation notes come in the same order.)
        decision, newest = decide_and_newest(echoes, thresholds=self.thresholds, report=self.report)
        unavailable = self.chart.missing(KEY_MR_GRADE)
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
        recent = recent_echo(newest, done, now=self.now, thresholds=self.thresholds)
        return PatientFacts(
            as_of=self.now,
            patient_id=patient_id,
            mr_documented=self.condition_fact("mr_documented", mr),
            mr_unconfirmed=bool(mr) and all(c.unconfirmed for c in mr),
            mr_grade=grade,
            mr_on_echo=on_echo,
            # Under mechanical support or a durable VAD only MAP < 60 is hypotension (spec 1.2).
            hypotension=hypotension(
                pressures,
                self.thresholds,
                self.chart.missing(KEY_VITAL_SIGNS),
                map_only=support.present or bool(durable) or bool(self.active(scope.DURABLE_VAD)),
            ),
            hypoperfusion=self.lab_fact("hypoperfusion", self.lactate()),
            cardiogenic_shock=self.condition_fact("cardiogenic_shock", self.acute("cardiogenic-shock")),
            vasoactive_support=vasoactive if vasoactive is not None else self.vasoactive_support(meds),
            mechanical_support=support,
            respiratory_ecmo=respiratory_ecmo if respiratory_ecmo is not None else self.respiratory_ecmo(),
            organ_dysfunction=organs,
            multi_organ_failure=(
                multi_organ_failure if multi_organ_failure is not None else self.multi_organ_failure(organs)
            ),
            acute_mr_trigger=self.acute_mr_trigger(),
            pulmonary_edema=self.condition_fact(
                "pulmonary_edema",
                self.recent("acute-pulmonary-edema", self.thresholds.pulmonary_edema_window),
            ),
            heart_failure_symptoms=self.condition_fact(
                "heart_failure_symptoms",
                self.active("heart-failure") + self.active("dyspnea") + self.active("acute-pulmonary-edema"),
            ),
            medications=self.medication_classes(meds),
            data_quality=self.report.notes,
            unavailable=tuple(sorted(self.chart.unavailable.items())),
            mr_on_echo_any=mr_on_echo_any(newest, unavailable),
            recent_echo=recent,
            echo_graded_recently=echo_graded_recently(grade, now=self.now, thresholds=self.thresholds),
            scope=self.scope(patient_id, durable),
        )

    # -- Conditions --------------------------------------------------------------------

    def active(self, value_set_id: str) -> tuple[ActiveCondition, ...]:
        found = self._active.get(value_set_id)
        if found is None:
            coded = self.conditions_in.get(value_set_id)
            if coded:
                found = active_in(coded, value_set_id, self.report)
            else:  # asked of two dozen value sets a call, most coding no Condition of the chart
                if value_set_id not in _KNOWN_IDS:
                    value_set(value_set_id)  # an unknown id still raises
                    _KNOWN_IDS.add(value_set_id)
                found = ()
            self._active[value_set_id] = found
        return found

    def recent(self, value_set_id: str, window: timedelta) -> tuple[ActiveCondition, ...]:
        """Active Conditions whose onset (else recordedDate) lies within ``window``; an
        older or undated entry is a past episode: left out and said so in ``--explain``."""
        found: list[ActiveCondition] = []
        for condition in self.active(value_set_id):
            try:
                onset = onset_of(condition.resource)
                inside = within(onset, self.now, window, need_time_of_day=False)
            except TimeProblem as problem:
                self.report.note(condition.resource, f"{value_set_id}: {problem}, not counted")
                continue
            if inside:
                found.append(condition)
            else:
                note = f"{value_set_id}: onset outside the {describe_window(window)} window (a past episode)"
                self.report.note(condition.resource, note, routine=True)
        return tuple(found)

    def acute(self, value_set_id: str) -> tuple[ActiveCondition, ...]:
        """An acute Condition counts for ``acute_condition_window`` (14 days) from its onset."""
        return self.recent(value_set_id, self.thresholds.acute_condition_window)

    def condition_fact(self, name: str, found: tuple[ActiveCondition, ...]) -> Fact:
        """PRESENT on an active Condition; ABSENT only when the conditions were obtained."""
        return _decide(name, [c.evidence for c in found], [], self.chart.missing(KEY_CONDITIONS))

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
        unavailable = self.chart.missing(KEY_CONDITIONS)
        if not evidence and undated:
            return Fact("acute_mr_trigger", UNKNOWN, (), tuple(undated) + _opt(unavailable))
        return _decide("acute_mr_trigger", evidence, undated, unavailable)

    # -- Observations ------------------------------------------------------------------

    def lab(self, rule: LabRule) -> LabFinding:
        readings = self.coded(rule.value_set)
        if not readings:  # most small charts: nothing to select, validate or note
            return none_found(rule, self.thresholds)
        return assess(rule, readings, now=self.now, thresholds=self.thresholds, report=self.report)

    def lactate(self) -> LabFinding:
        """Lactate is a time series: the newest reading decides (docs/clinical-rules.md)."""
        readings = self.coded(LACTATE_RULE.value_set)
        if not readings:
            return none_found(LACTATE_RULE, self.thresholds)
        return assess_series(
            LACTATE_RULE, readings, now=self.now, thresholds=self.thresholds, report=self.report
        )

    def lab_fact(self, name: str, finding: LabFinding) -> Fact:
        unavailable = self.chart.missing(KEY_LABS)
        if finding.status is PRESENT:
            return Fact(name, PRESENT, finding.evidence, finding.missing, finding.shown)
        if unavailable is not None:
            missing: tuple[Missing, ...] = (unavailable, *finding.missing)
            return Fact(name, UNKNOWN, finding.evidence, missing, finding.shown)
        return Fact(name, finding.status, finding.evidence, finding.missing, finding.shown)

    # -- Fact families a chart may hold nothing for ----------------------------------

    def unfed(self, family: str, decide: Callable[[], _T]) -> _T:
        """``decide()``, for a family the chart holds nothing for: the same facts as on every
        other such chart with the same thresholds and keys, and no note (a small chart,
        such as the demo patients', feeds few families; each is a dozen calls)."""
        state = self._unfed_key
        if state is None:  # the same for every family of the call
            chart = self.chart
            state = self._unfed_key = (tuple(chart.unavailable.items()), tuple(chart.reasons.items()))
        key = (family, id(self.thresholds), *state)
        kept = _UNFED.get(key)
        if kept is not None and kept[0] is self.thresholds:
            return cast(_T, kept[1])
        found = decide()
        if len(_UNFED) >= _UNFED_KEPT:
            _UNFED.clear()
        _UNFED[key] = (self.thresholds, found)
        return found

    def organs_fed(self) -> bool:
        """Whether the chart holds anything the organ-dysfunction family reads (``ORGAN_*``)."""
        # (``isdisjoint``: ``any(vs in ...)`` without a generator; both are asked every call)
        if not self.conditions_in.keys().isdisjoint(ORGAN_CONDITIONS):
            return True
        return not self.observations_in.keys().isdisjoint(ORGAN_LABS) or self.respiratory_fed()

    def respiratory_fed(self) -> bool:
        """Whether the chart holds a Procedure, or a device other than a Device none of whose
        types a respiratory or ventilator value set lists (what respiratory support reads).
        Asked twice a call (the organ family, then respiratory support): answered once."""
        fed = self._respiratory_fed
        if fed is None:
            fed = self._respiratory_fed = bool(self.procedures) or any(
                r.get("resourceType") != "Device"
                or not _RESPIRATORY_DEVICES.isdisjoint(value_sets_of_concept(r.get("type")))
                for r in self.devices
            )
        return fed

    def medication_family(self) -> tuple[MedicationFindings, Fact | None]:
        """The medications, and vasoactive support when the chart holds no medication order or
        administration (None otherwise: it is decided in its place)."""
        if self.medications_fed():
            return medications(self.medication_use, self.chart.by_reference, report=self.report), None
        return self.unfed(
            "medications",
            lambda: (
                found := medications(self.medication_use, self.chart.by_reference, report=self.report),
                self.vasoactive_support(found),
            ),
        )

    def medications_fed(self) -> bool:
        """Whether the chart holds a medication order or administration."""
        return bool(self.medication_use)

    def organ_family(self) -> tuple[dict[str, Fact], Fact | None]:
        """The organ systems, and multiple organ failure when the chart holds nothing for
        them (None otherwise: it is decided in its place, after the facts before it)."""
        if self.organs_fed():
            return self.organ_dysfunction(), None
        organs, failure = self.unfed(
            "organs", lambda: (found := self.organ_dysfunction(), self.multi_organ_failure(found))
        )
        return dict(organs), failure

    def support_family(self) -> tuple[Fact, tuple[Evidence, ...], Fact | None]:
        """``mechanical_support()``, and respiratory ECMO when the chart holds no Procedure
        and no device (None otherwise: it is decided in its place)."""
        if self.support_fed():
            return (*self.mechanical_support(), None)
        return self.unfed("support", lambda: (*self.mechanical_support(), self.respiratory_ecmo()))

    def support_fed(self) -> bool:
        """Whether the chart holds a Procedure or a device (what mechanical support reads)."""
        return bool(self.procedures or self.devices)

    def scope_fed(self, durable: tuple[Evidence, ...]) -> bool:
        """Whether the chart holds anything the scope facts other than the Patient's read."""
        return (
            bool(durable or self.code_status_valued or self.chart.of_type("ServiceRequest"))
            or not self.conditions_in.keys().isdisjoint(SCOPE_CONDITIONS)
            or not self.observations_in.keys().isdisjoint(SCOPE_OBSERVATIONS)
        )

    # -- Organ dysfunction -------------------------------------------------------------

    def organ_dysfunction(self) -> dict[str, Fact]:
        """Organ systems failing, with acuity: chronic disease never reads as a new failure."""
        return {
            "renal": self.renal(),
            "hepatic": self.hepatic(),
            "respiratory": self.respiratory(),
            "coagulation": self.coagulation(),
        }

    def chronic(self, value_set_id: str, why: str) -> bool:
        """Whether a chronic-disease Condition is active; its entries say why in ``--explain``."""
        found = self.active(value_set_id)
        for condition in found:
            self.report.note(condition.resource, why, routine=True)
        return bool(found)

    def renal(self) -> Fact:
        if self.chronic(
            "end-stage-renal-disease", "end-stage renal disease or chronic dialysis: kidneys not counted"
        ):
            return Fact("renal", ABSENT)
        rrt = acuity.new_rrt(self.procedures, now=self.now, thresholds=self.thresholds, report=self.report)
        aki = self.acute("acute-kidney-injury")
        creatinine = self.lab(CREATININE_RULE)
        if creatinine.status is PRESENT and self.chronic(
            "ckd-stage-4-5", "CKD stage 4-5: creatinine counts only with a KDIGO rise or new dialysis"
        ):
            rise = acuity.creatinine_rise(
                self.coded("creatinine"), now=self.now, thresholds=self.thresholds, report=self.report
            )
            creatinine = LabFinding(PRESENT, rise.evidence) if rise.met else LabFinding(ABSENT)
        if rrt:
            creatinine = LabFinding(PRESENT, creatinine.evidence + rrt, creatinine.missing)
        return self.organ("renal", aki, creatinine)

    def hepatic(self) -> Fact:
        bilirubin = self.lab(BILIRUBIN_RULE)
        if bilirubin.status is PRESENT and self.chronic(
            "cirrhosis", "cirrhosis: bilirubin counts only with an acute liver-failure Condition"
        ):
            bilirubin = LabFinding(ABSENT)
        return self.organ("hepatic", self.acute("liver-failure"), bilirubin)

    def coagulation(self) -> Fact:
        platelets = self.lab_fact("coagulation", self.lab(PLATELETS_RULE))
        if platelets.present and self.chronic(
            "chronic-thrombocytopenia", "chronic thrombocytopenia or ITP: platelets not counted"
        ):
            return Fact("coagulation", ABSENT)
        return platelets

    def respiratory(self) -> Fact:
        support = list(self.respiratory_support())
        if self.chronic(
            "chronic-respiratory-failure",
            "chronic respiratory failure: needs an acute entry or ventilation started within 30 days",
        ):
            since = self.now - self.thresholds.new_organ_support_window
            support = [s for s in support if s.evidence.time is not None and s.evidence.time >= since]
        ventilators = acuity.new_ventilation(
            self.devices,
            self.chart.by_reference,
            now=self.now,
            thresholds=self.thresholds,
            report=self.report,
        )
        return _decide(
            "respiratory",
            [c.evidence for c in self.acute("acute-respiratory-failure")]
            + [s.evidence for s in support]
            + list(ventilators),
            [],
            *self.keys_missing(KEY_CONDITIONS, KEY_PROCEDURES),
        )

    def organ(self, name: str, conditions: tuple[ActiveCondition, ...], finding: LabFinding) -> Fact:
        """An active organ-failure Condition, or the lab criterion (docs/clinical-rules.md)."""
        evidence = tuple(c.evidence for c in conditions) + finding.evidence
        if conditions or finding.status is PRESENT:
            return Fact(name, PRESENT, evidence, finding.missing)
        gaps = tuple(self.keys_missing(KEY_CONDITIONS, KEY_LABS))
        if gaps or finding.status is UNKNOWN:
            return Fact(name, UNKNOWN, evidence, gaps + finding.missing)
        return Fact(name, ABSENT, evidence, finding.missing)

    def multi_organ_failure(self, organs: dict[str, Fact]) -> Fact:
        """An active multiple-organ-failure Condition, or >= 2 organ systems failing."""
        condition = self.acute("multiple-organ-failure")
        present = [name for name, fact in organs.items() if fact.status is PRESENT]
        unknown = [name for name, fact in organs.items() if fact.status is UNKNOWN]
        evidence = [c.evidence for c in condition] + [e for n in present for e in organs[n].evidence]
        if condition or len(present) >= 2:
            return Fact("multi_organ_failure", PRESENT, tuple(evidence))
        # Say why each organ is unknown ("renal: no creatinine in the last 48 h"), so a card
        # tells the clinician what to measure, not only that something is missing.
        missing: list[Missing] = []
        for name in unknown:
            texts = [m for m in organs[name].missing if isinstance(m, str)]
            gaps = [part_of(name, m) for m in organs[name].missing if isinstance(m, Gap)]
            if texts or not gaps:
                missing.append(f"{name}: {'; '.join(texts) or 'not assessed'}")
            missing.extend(gaps)
        missing.extend(self.keys_missing(KEY_CONDITIONS))
        if len(present) + len(unknown) >= 2 or self.chart.missing(KEY_CONDITIONS):
            return Fact("multi_organ_failure", UNKNOWN, tuple(evidence), tuple(missing))
        return Fact("multi_organ_failure", ABSENT, tuple(evidence), tuple(missing))

    # -- Support -----------------------------------------------------------------------

    def respiratory_support(self) -> tuple[Support, ...]:
        if self._respiratory is None and not self.respiratory_fed():
            self._respiratory = ()  # nothing to search (most charts: no Procedure, no ventilator)
        if self._respiratory is None:
            window = self.thresholds.support_procedure_window
            found = procedures(self.procedures, RESPIRATORY, now=self.now, window=window, report=self.report)
            on_devices = devices(self.devices, self.chart.by_reference, RESPIRATORY, self.report)
            self._respiratory = found + on_devices.found
        return self._respiratory

    def respiratory_ecmo(self) -> Fact:
        """Veno-venous ECMO: named on circulatory-support cards as respiratory support only."""
        evidence = [s.evidence for s in self.respiratory_support() if s.value_set == VV_ECMO]
        return _decide("respiratory_ecmo", evidence, [], self.chart.missing(KEY_PROCEDURES))

    def mechanical_support(self) -> tuple[Fact, tuple[Evidence, ...]]:
        """PRESENT on certain support; UNKNOWN when support may be running but cannot be told
        (ECMO configuration not coded, removal not recorded), with that support ``shown``.

        Also returns the ventricular assist devices in place for longer than
        ``durable_vad_after`` (90 days): no temporary pump stays that long, so they are a
        durable VAD (docs/clinical-rules.md), not temporary support."""
        window = self.thresholds.support_procedure_window
        found = procedures(self.procedures, SUPPORT_SEARCH, now=self.now, window=window, report=self.report)
        on_devices: Supports = devices(self.devices, self.chart.by_reference, SUPPORT_SEARCH, self.report)
        long_ago = self.now - self.thresholds.durable_vad_after
        durable = tuple(
            scope.in_place_since_before(
                (s.evidence for s in found if s.value_set == "percutaneous-vad" and s.certain), long_ago
            )
        )
        supports = tuple(
            self.temporary_or_durable(s) for s in found + on_devices.found if s.evidence not in durable
        )
        evidence = [s.evidence for s in supports if s.certain]
        uncertain = tuple(s.evidence for s in supports if not s.certain)
        partial: list[Missing] = [
            *self.keys_missing(KEY_DEVICES, KEY_DEVICE_USE_STATEMENTS),
            *on_devices.unresolved,
        ]
        if not evidence and (on_devices.unresolved or uncertain):
            missing = tuple(partial) + _opt(self.chart.missing(KEY_PROCEDURES))
            return Fact("mechanical_support", UNKNOWN, (), missing, uncertain), durable
        fact = _decide(
            "mechanical_support", evidence, partial, self.chart.missing(KEY_PROCEDURES), shown=uncertain
        )
        return fact, durable

    def temporary_or_durable(self, support: Support) -> Support:
        """A VAD in place for 30 to 90 days may be temporary or durable: support "unknown: check"."""
        started = support.evidence.time
        if support.value_set != "percutaneous-vad" or not support.certain or started is None:
            return support
        if started >= self.now - self.thresholds.support_procedure_window:
            return support
        return Support(support.value_set, support.evidence.with_reason("temporary-or-durable"))

    # -- Scope -------------------------------------------------------------------------

    def scope(self, patient_id: str, durable: tuple[Evidence, ...]) -> Scope:
        """Age, death, goals of care and contraindications (fhir_mappings/scope.py)."""
        patients = self.chart.of_type("Patient")
        patient = next((p for p in patients if p.get("id") == patient_id), patients[0] if patients else None)
        if self.scope_fed(durable):
            return self.scope_of(patient, durable)
        # Nothing but the Patient: the rest is that of every such chart, and only the
        # Patient's facts are read.
        found = self.unfed("scope", lambda: self.scope_of(None, ()))
        if not patient:  # (as ``scope_of`` tells a Patient)
            return found
        return found.with_patient(
            scope.age_of(patient, self.now), scope.deceased(patient, self.now, self.report)
        )

    def scope_of(self, patient: Resource | None, durable: tuple[Evidence, ...]) -> Scope:
        conditions_missing = self.chart.missing(KEY_CONDITIONS)
        orders_missing = self.chart.missing(KEY_CODE_STATUS)
        comfort, dnr = scope.code_status(
            {vs: self.active(vs) for vs in scope.CODE_STATUS},
            self.chart.of_type("ServiceRequest"),
            self.code_status_valued,
            self.report,
            orders_missing if conditions_missing is None else conditions_missing,
        )
        vad = [c.evidence for c in self.active(scope.DURABLE_VAD)] + list(durable)
        return Scope(
            age_years=scope.age_of(patient, self.now),
            deceased=scope.deceased(patient, self.now, self.report) if patient else Fact("deceased", ABSENT),
            comfort_care=comfort,
            dnr=dnr,
            pregnant=scope.pregnant(
                self.active(scope.PREGNANCY),
                self.observations_in.get(scope.PREGNANCY_STATUS, ()),
                now=self.now,
                thresholds=self.thresholds,
                report=self.report,
                unavailable=conditions_missing,
            ),
            durable_vad=_decide("durable_vad", vad, [], conditions_missing),
            mitral_stenosis=self.condition_fact("mitral_stenosis", self.active(scope.MITRAL_STENOSIS)),
            surgical_risk=self.condition_fact(
                "surgical_risk", tuple(c for vs in scope.SURGICAL_RISK for c in self.active(vs))
            ),
            adult_age=int(self.thresholds.adult_age_years),
        )

    # -- Medications -------------------------------------------------------------------

    def vasoactive_support(self, meds: MedicationFindings) -> Fact:
        """Running or actively ordered IV vasopressors/inotropes matched by code; the rest shown."""
        evidence = [m.evidence for m in meds.vasoactive]
        partial: list[Missing] = [*self.keys_missing(KEY_MEDICATION_ADMINISTRATIONS), *meds.unidentified]
        if not evidence and meds.unidentified:
            missing = tuple(partial) + _opt(self.chart.missing(KEY_MEDICATION_REQUESTS))
            return Fact("vasoactive_support", UNKNOWN, (), missing, meds.vasoactive_shown)
        orders = self.chart.missing(KEY_MEDICATION_REQUESTS)
        return _decide("vasoactive_support", evidence, partial, orders, shown=meds.vasoactive_shown)

    def medication_classes(self, meds: MedicationFindings) -> MedicationClasses:
        missing = _opt(self.chart.missing(KEY_MEDICATION_REQUESTS))
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
        for vs_id in value_sets_of_concept(resource.get("code")):
            found.setdefault(vs_id, []).append(resource)
    return found


def valued_in(resources: Iterable[Resource], value_set_ids: Iterable[str]) -> tuple[Resource, ...]:
    """The resources whose ``valueCodeableConcept`` lists a code of one of the value sets, in
    chart order (the same test as ``ValueSet.match``; most Observations hold a quantity)."""
    wanted = frozenset(value_set_ids)
    return tuple(
        r
        for r in resources
        if (value := r.get("valueCodeableConcept")) is not None
        and not wanted.isdisjoint(value_sets_of(codings(value)))
    )


def _decide(
    name: str,
    evidence: Iterable[Evidence],
    partial: Iterable[Missing],
    *unavailable: Missing | None,
    shown: tuple[Evidence, ...] = (),
) -> Fact:
    """PRESENT with evidence; else UNKNOWN if a needed key is missing; else ABSENT."""
    found = tuple(evidence)
    if found:
        return Fact(name, PRESENT, found, tuple(partial), shown)
    # Asked a dozen times a call, mostly with one key: no generator for the gaps.
    gaps = tuple([u for u in unavailable if u is not None])
    if gaps:
        return Fact(name, UNKNOWN, (), gaps + tuple(partial), shown)
    return Fact(name, ABSENT, (), tuple(partial), shown)


def _opt(value: Missing | None) -> tuple[Missing, ...]:
    return () if value is None else (value,)


def _with_note(evidence: Evidence, note: str, time: datetime | None) -> Evidence:
    return evidence.with_note(note, time)
