"""Value-set files: every code sourced, no code in two value sets that mean different things."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from importlib import resources
from itertools import combinations

from fhir_mappings import codesystems
from fhir_mappings.keys import Key
from fhir_mappings.labs import BILIRUBIN_RULE, CREATININE_RULE, LACTATE_RULE, PLATELETS_RULE
from fhir_mappings.mapping import TRIGGERS
from fhir_mappings.medications import CLASSES
from fhir_mappings.mr_grade import qualifier_grades
from fhir_mappings.procedures import CIRCULATORY, RESPIRATORY
from fhir_mappings.requirements import prefetch_keys
from fhir_mappings.valuesets import ValueSet, all_value_sets, value_set

#: Value sets that share codes on purpose, because the code means both things.
SHARED_ON_PURPOSE = {
    # 48724000 is the MR disorder (Condition.code) and the echo finding code (Observation.code).
    frozenset({"mitral-regurgitation", "echo-mr-grade"}),
    # "Acute MR from papillary muscle / chordal rupture": MR and its structural cause at once.
    frozenset({"mitral-regurgitation", "papillary-muscle-or-chordal-rupture"}),
    # Dopamine is an inotrope and a vasopressor (dose-dependent): listed in both value sets.
    frozenset({"inotropes", "vasopressors"}),
    # I05.2 "rheumatic mitral stenosis with insufficiency" is both MR and mitral stenosis.
    frozenset({"mitral-regurgitation", "mitral-stenosis"}),
    # SNOMED 77386006 "Pregnancy" is a problem-list entry and a pregnancy-status answer.
    frozenset({"pregnancy", "pregnancy-status-pregnant"}),
}

#: Value sets whose codes must never meet, whatever else is allowed.
NEVER_SHARED = [
    frozenset({"ecmo-circulatory", "ecmo-respiratory"}),
    frozenset({"systolic-bp", "diastolic-bp"}),
    frozenset({"loop-diuretics", "vasodilators-iv"}),
]


def test_every_code_has_system_code_display_and_source() -> None:
    for vs in all_value_sets().values():
        assert vs.codes, vs.id
        for code in vs.codes:
            assert code.system in codesystems.ALL, (vs.id, code.code)
            assert code.code.strip() == code.code != "", vs.id
            assert code.display, (vs.id, code.code)
            assert len(code.source) > 10, (vs.id, code.code)


def unexpected_overlaps(value_sets: Iterable[ValueSet]) -> list[str]:
    """Codes found in two value sets that are not known to share codes on purpose."""
    where: dict[tuple[str, str], set[str]] = defaultdict(set)
    for vs in value_sets:
        for code in vs.codes:
            where[(code.system, code.code)].add(vs.id)
    return [
        f"{system}|{code} is in {pair}"
        for (system, code), ids in where.items()
        for pair in combinations(sorted(ids), 2)
        if frozenset(pair) not in SHARED_ON_PURPOSE
    ]


def test_no_code_appears_in_two_value_sets_that_mean_different_things() -> None:
    assert unexpected_overlaps(all_value_sets().values()) == []


def test_circulatory_and_respiratory_ecmo_never_share_a_code() -> None:
    for pair in NEVER_SHARED:
        first, second = (value_set(v).keys for v in sorted(pair))
        assert not first & second, pair


def test_the_overlap_check_catches_vv_ecmo_filed_as_circulatory() -> None:
    vv = value_set("ecmo-respiratory")
    wrong = ValueSet("ecmo-circulatory", "test", vv.codes[:1])
    assert unexpected_overlaps([vv, wrong]) == [
        f"{vv.codes[0].system}|{vv.codes[0].code} is in ('ecmo-circulatory', 'ecmo-respiratory')"
    ]


def test_file_name_is_the_value_set_id() -> None:
    names = {e.name for e in resources.files("fhir_mappings").joinpath("valuesets").iterdir()}
    assert names == {f"{vs_id}.json" for vs_id in all_value_sets()}


def test_grade_map_codes_are_the_severity_qualifiers() -> None:
    assert set(qualifier_grades()) == set(value_set("mr-severity-qualifiers").keys)
    # mild to moderate is the range 1-2+: never rounded up, never a single grade
    assert qualifier_grades()[(codesystems.SNOMED, "371923003")] == (1, 2)


def test_every_value_set_named_by_the_code_exists() -> None:
    used = {*TRIGGERS, *CLASSES, *CIRCULATORY, *RESPIRATORY}
    used |= {r.value_set for r in (LACTATE_RULE, CREATININE_RULE, BILIRUBIN_RULE, PLATELETS_RULE)}
    assert used <= set(all_value_sets())


def test_prefetch_key_names_in_code_are_the_keys_the_service_asks_for() -> None:
    assert {k.value for k in Key} == {k.key for k in prefetch_keys()}
