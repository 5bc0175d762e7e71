"""Guideline rules: ``PatientFacts`` -> CDS Hooks cards. Pure: no Flask, no HTTP, no clock."""

from __future__ import annotations
