"""The outgoing FHIR R4 client, for the data the EHR did not prefetch: allowlist, deadline,
templates, session, transport errors, client. Imports only ``core``."""
