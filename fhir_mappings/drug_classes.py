"""The drug classes, kept in one data file (``drug_classes.json``), loaded once.

Both ``fhir_mappings`` (which classes to read, which count as vasoactive support) and
``hooks`` (the first-line groups a card lists) read them from here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources


@dataclass(frozen=True)
class DrugClasses:
    """Value-set ids of the drug classes and how the guideline groups them."""

    #: Every class read from the medication orders and administrations.
    classes: tuple[str, ...]
    #: Classes whose running drug is vasoactive support.
    vasoactive: tuple[str, ...]
    #: First-line groups, one card line each ("ACE inhibitor or ARB" is one group).
    first_line_groups: tuple[tuple[str, ...], ...]
    #: Classes that lower afterload (need caution in instability).
    vasodilators: tuple[str, ...]
    #: ACE inhibitors, ARBs and ARNI (review or hold when hypotensive).
    renin_angiotensin: tuple[str, ...]
    iv_vasodilator: str
    inotrope: str
    loop_diuretic: str
    #: Ingredients of running vasoactive drugs that raise afterload (a caution line).
    afterload_raising: tuple[str, ...]
    #: Class -> ingredient names for the flagged name fallback of drugs that have no verified
    #: RxNorm ingredient code (milrinone): matched by ATC code, by name only when no code does.
    names_without_rxnorm_code: Mapping[str, tuple[str, ...]]


@cache
def drug_classes() -> DrugClasses:
    raw = json.loads(
        resources.files("fhir_mappings").joinpath("drug_classes.json").read_text(encoding="utf-8")
    )
    return DrugClasses(
        classes=tuple(raw["classes"]),
        vasoactive=tuple(raw["vasoactive"]),
        first_line_groups=tuple(tuple(group) for group in raw["first_line_groups"]),
        vasodilators=tuple(raw["vasodilators"]),
        renin_angiotensin=tuple(raw["renin_angiotensin"]),
        iv_vasodilator=raw["iv_vasodilator"],
        inotrope=raw["inotrope"],
        loop_diuretic=raw["loop_diuretic"],
        afterload_raising=tuple(raw["afterload_raising"]),
        names_without_rxnorm_code={
            class_id: tuple(names)
            for class_id, names in raw["names_without_rxnorm_code"].items()
            if class_id != "source"
        },
    )
