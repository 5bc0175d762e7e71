"""The bottom layer, shared by all the others: the exception tree, the settings, the JSON
codec, metrics. Imports nothing of ``cds_service`` (docs/architecture.md)."""
