"""The prefetch keys the facts read, by name (``prefetch_keys.json`` defines each query)."""

from __future__ import annotations

from enum import StrEnum


class Key(StrEnum):
    """A prefetch key; the value is the key as the service's discovery document names it."""

    PATIENT = "patient"
    CONDITIONS = "conditions"
    MR_GRADE = "mr-grade"
    VITAL_SIGNS = "vital-signs"
    LABS = "labs"
    PROCEDURES = "procedures"
    DEVICES = "devices"
    DEVICE_USE_STATEMENTS = "device-use-statements"
    MEDICATION_REQUESTS = "medication-requests"
    MEDICATION_ADMINISTRATIONS = "medication-administrations"
    CODE_STATUS = "code-status"
