"""HTTP side of mr-cds-hooks: the CDS Hooks 2.0 contract around the guideline logic."""

from __future__ import annotations
