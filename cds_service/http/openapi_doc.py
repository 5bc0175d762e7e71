"""Build ``openapi.yaml`` (OpenAPI 3.1) from the JSON Schemas the service validates with.

Run ``python -m cds_service.http.openapi_doc > openapi.yaml``; a test fails when the committed
file differs, so the document cannot drift from the schemas.
"""

from __future__ import annotations

import copy
from typing import Any

import yaml

from cds_service.calls.schemas import schema
from cds_service.calls.services import registry

_OO = {"$ref": "#/components/schemas/OperationOutcome"}
#: Required when MRCDS_AUTH=jwt; ``{}`` (no security) is allowed for MRCDS_AUTH=off.
_SECURITY: list[dict[str, list[str]]] = [{"cdsClientJwt": []}, {}]


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _OO}}}


def _hoisted(name: str, prefix: str) -> dict[str, Any]:
    """The schema as components: its ``$defs`` become ``{prefix}_{def}`` siblings.

    OpenAPI tools resolve "#/..." against the whole document, so internal references are
    rewritten to point at the hoisted components.
    """
    doc = copy.deepcopy(dict(schema(name)))
    for key in ("$schema", "$id"):
        doc.pop(key, None)
    defs = doc.pop("$defs", {})
    out = {prefix: doc, **{f"{prefix}_{k}": v for k, v in defs.items()}}
    return {k: _rewrite_refs(v, prefix) for k, v in out.items()}


def _rewrite_refs(node: Any, prefix: str) -> Any:
    if isinstance(node, dict):
        return {
            k: (
                f"#/components/schemas/{prefix}_{v.removeprefix('#/$defs/')}"
                if k == "$ref" and isinstance(v, str) and v.startswith("#/$defs/")
                else _rewrite_refs(v, prefix)
            )
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_rewrite_refs(v, prefix) for v in node]
    return node


def build_openapi() -> dict[str, Any]:
    service_ids = sorted(registry())
    service_param = {
        "name": "service_id",
        "in": "path",
        "required": True,
        "schema": {"type": "string", "enum": service_ids},
        "description": "The CDS service id from discovery.",
    }
    unauthorized = {
        "description": ("No valid CDS client JWT (MRCDS_AUTH=jwt); the body never says why, the log does."),
        "headers": {"WWW-Authenticate": {"schema": {"type": "string", "const": "Bearer"}}},
        "content": {"application/json": {"schema": _OO}},
    }
    body_errors = {
        "400": _error("Body is not JSON, or does not match the schema; diagnostics name the field."),
        "401": unauthorized,
        "404": _error("Unknown service id."),
        "413": _error(
            "Body larger than MRCDS_MAX_BODY_BYTES (from Content-Length, or while reading a chunked "
            "body), holding more than MRCDS_MAX_RESOURCES FHIR resources, or an object with more "
            "than 1,000 keys."
        ),
        "408": _error("The body did not arrive within MRCDS_BODY_READ_TIMEOUT_S; the connection is closed."),
        "415": _error("Content-Type is not application/json."),
        "500": _error("Unexpected error; diagnostics carry an error id that is also logged."),
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "mr-cds-hooks",
            "version": "0.1.0",
            "summary": "CDS Hooks 2.0 service for severe mitral valve regurgitation",
            "description": (
                "Implements CDS Hooks 2.0 (https://cds-hooks.hl7.org/2.0/): discovery, the patient-view "
                "service, the order-sign and order-select services (draftOrders in the context) and "
                "feedback. Every error body is a FHIR R4 OperationOutcome. With "
                "MRCDS_AUTH=jwt every /cds-services endpoint needs the CDS Hooks client JWT "
                "(Authorization: Bearer, aud = the exact URL called)."
            ),
            "license": {"name": "Apache-2.0", "identifier": "Apache-2.0"},
        },
        "paths": {
            "/cds-services": {
                "get": {
                    "operationId": "discovery",
                    "summary": "List the CDS services offered here, with their prefetch templates.",
                    "security": _SECURITY,
                    "responses": {
                        "401": unauthorized,
                        "200": {
                            "description": "Discovery response.",
                            "content": {
                                "application/json": {"schema": {"$ref": "#/components/schemas/Discovery"}}
                            },
                        },
                    },
                }
            },
            "/cds-services/{service_id}": {
                "post": {
                    "operationId": "callService",
                    "security": _SECURITY,
                    "summary": "Call a CDS service with a hook request; answers with cards.",
                    "parameters": [service_param],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/HookRequest"}}
                        },
                    },
                    "responses": {
                        "200": {
                            "description": "Cards (possibly none).",
                            "content": {
                                "application/json": {"schema": {"$ref": "#/components/schemas/HookResponse"}}
                            },
                        },
                        "412": _error(
                            "Required prefetch data (the Conditions) is absent and cannot be fetched; "
                            "the OperationOutcome names the prefetch keys."
                        ),
                        **body_errors,
                    },
                }
            },
            "/cds-services/{service_id}/feedback": {
                "post": {
                    "operationId": "feedback",
                    "security": _SECURITY,
                    "summary": "Record what the clinician did with cards (accepted or overridden).",
                    "parameters": [service_param],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/Feedback"}}
                        },
                    },
                    "responses": {
                        "200": {
                            "description": "All entries stored in one transaction (or found already "
                            "stored: duplicates); entries for cards never issued are stored and counted.",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/FeedbackResult"}
                                }
                            },
                        },
                        **body_errors,
                        "503": _error(
                            "The database stayed locked past MRCDS_DATABASE_LOCK_TIMEOUT_S, is "
                            "unreachable, read-only or without its schema, or the SQLite file was "
                            "removed or replaced; nothing was stored. Retry after the Retry-After header."
                        ),
                    },
                }
            },
            "/openapi.yaml": {
                "get": {
                    "operationId": "openapi",
                    "summary": "This document.",
                    "responses": {
                        "200": {"description": "OpenAPI 3.1 YAML.", "content": {"application/yaml": {}}},
                        "404": _error("Not served (MRCDS_EXPOSE_OPENAPI=false)."),
                    },
                }
            },
            "/healthz": {
                "get": {
                    "operationId": "health",
                    "summary": "Liveness check for load balancers and containers.",
                    "responses": {
                        "200": {
                            "description": "The service is up.",
                            "content": {
                                "application/json": {
                                    "schema": {"type": "object", "properties": {"status": {"const": "ok"}}}
                                }
                            },
                        }
                    },
                }
            },
            "/readyz": {
                "get": {
                    "operationId": "ready",
                    "summary": "Readiness: value sets, thresholds and the feedback database are usable.",
                    "responses": {
                        "200": {
                            "description": "Ready to answer hook calls and store feedback.",
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "type": "object",
                                        "properties": {
                                            "status": {"const": "ready"},
                                            "checks": {
                                                "type": "object",
                                                "additionalProperties": {"const": "ok"},
                                            },
                                        },
                                    }
                                }
                            },
                        },
                        "503": _error("Not ready; the diagnostics name what is unavailable."),
                    },
                }
            },
            "/metrics": {
                "get": {
                    "operationId": "metrics",
                    "summary": "Prometheus metrics; only with MRCDS_METRICS=on, kept off public networks.",
                    "responses": {
                        "200": {
                            "description": "Metrics in the Prometheus text format.",
                            "content": {"text/plain": {"schema": {"type": "string"}}},
                        },
                        "404": _error("Not served (MRCDS_METRICS=off)."),
                    },
                }
            },
        },
        "components": {
            "securitySchemes": {
                "cdsClientJwt": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "CDS Hooks 2.0 client JWT, signed by a trusted issuer (ES384 or RS384).",
                }
            },
            "schemas": {
                "Discovery": {
                    "type": "object",
                    "required": ["services"],
                    "properties": {
                        "services": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["hook", "description", "id"],
                                "properties": {
                                    "hook": {"type": "string"},
                                    "title": {"type": "string"},
                                    "description": {"type": "string"},
                                    "id": {"type": "string"},
                                    "prefetch": {
                                        "type": "object",
                                        "additionalProperties": {"type": "string"},
                                    },
                                    "usageRequirements": {"type": "string"},
                                },
                            },
                        }
                    },
                },
                **_hoisted("request", "HookRequest"),
                **_hoisted("response", "HookResponse"),
                **_hoisted("feedback", "Feedback"),
                **_hoisted("feedback-response", "FeedbackResult"),
                "OperationOutcome": {
                    "type": "object",
                    "description": "FHIR R4 OperationOutcome (https://hl7.org/fhir/R4/operationoutcome.html).",
                    "required": ["resourceType", "issue"],
                    "properties": {
                        "resourceType": {"const": "OperationOutcome"},
                        "issue": {
                            "type": "array",
                            "minItems": 1,
                            "items": {
                                "type": "object",
                                "required": ["severity", "code"],
                                "properties": {
                                    "severity": {"enum": ["fatal", "error", "warning", "information"]},
                                    "code": {"type": "string"},
                                    "diagnostics": {"type": "string"},
                                    "expression": {"type": "array", "items": {"type": "string"}},
                                },
                            },
                        },
                    },
                },
            },
        },
    }


def render() -> str:
    header = "# Generated by `python -m cds_service.http.openapi_doc > openapi.yaml`; do not edit by hand.\n"
    return header + yaml.safe_dump(build_openapi(), sort_keys=False, allow_unicode=True, width=100)


if __name__ == "__main__":
    print(render(), end="")
