"""Which value sets and facts make up a criterion: one list each, read by the facts
(``fhir_mappings``) and by the rules and card words (``hooks``), so the two cannot drift
(docs/clinical-rules.md)."""

from __future__ import annotations

#: The acute-MR trigger value sets (A: "most often during a heart attack or a severe
#: episode of endocarditis"; a papillary muscle or chordal rupture is its structural cause).
TRIGGERS = ("acute-myocardial-infarction", "infective-endocarditis", "papillary-muscle-or-chordal-rupture")
#: Value sets that document MR: a rupture is acute MR by definition.
MR_VALUE_SETS = ("mitral-regurgitation", "papillary-muscle-or-chordal-rupture")
#: Acute Conditions that count only within ``acute_condition_window`` (14 days by default):
#: an acute entry left on the problem list must not fire ICU cards weeks later.
ACUTE_CONDITIONS = (
    "cardiogenic-shock",
    "multiple-organ-failure",
    "acute-kidney-injury",
    "liver-failure",
    "acute-respiratory-failure",
)
#: Hemodynamic instability: the ``PatientFacts`` fields that make it up, in the order cards
#: name them (SCAI 2019 stage C: hypotension, hypoperfusion; shock; vasoactive support).
INSTABILITY = ("hypotension", "hypoperfusion", "cardiogenic_shock", "vasoactive_support")
