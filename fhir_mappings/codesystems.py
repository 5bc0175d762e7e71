"""Code-system URIs, named once.

Source: the FHIR R4 list of external code systems (hl7.org/fhir/R4/terminologies-systems.html),
which names each URI below, ICD-10-PCS included; the two condition-status systems are HL7's own.
"""

from __future__ import annotations

SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
ICD10PCS = "http://www.cms.gov/Medicare/Coding/ICD10"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
CPT = "http://www.ama-assn.org/go/cpt"
ATC = "http://www.whocc.no/atc"
UCUM = "http://unitsofmeasure.org"

#: HL7 code systems for Condition statuses (FHIR R4 terminology).
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_VER_STATUS = "http://terminology.hl7.org/CodeSystem/condition-ver-status"

ALL = (SNOMED, LOINC, ICD10CM, ICD10PCS, RXNORM, CPT, ATC)
