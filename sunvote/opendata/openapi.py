"""The OpenAPI 3.1 document of the open data API (served at /api/openapi.json). A test checks
that every path here answers and every /api/public route is here."""

from __future__ import annotations

from typing import Any

from sunvote.domain.pagination import DEFAULT_PER_PAGE, MAX_PER_PAGE

JSON = dict[str, Any]


def _ref(name: str) -> JSON:
    return {"$ref": f"#/components/schemas/{name}"}


def _ok(schema: str, description: str) -> JSON:
    return {"description": description,
            "content": {"application/json": {"schema": _ref(schema)}}}


ERRORS: JSON = {
    "400": {"description": "Refused: names the rule (e.g. api.pagination) in Chinese and English",
            "content": {"application/json": {"schema": _ref("Error")}}},
    "404": {"description": "No such village or matter",
            "content": {"application/json": {"schema": _ref("Error")}}},
}

PAGE_PARAMETERS: list[JSON] = [
    {"name": "page", "in": "query", "required": False,
     "description": "Page number, from 1; a page past the last is refused (400, api.pagination)",
     "schema": {"type": "integer", "minimum": 1, "default": 1}},
    {"name": "per_page", "in": "query", "required": False,
     "description": f"Items per page, 1 to {MAX_PER_PAGE} (400, api.pagination, otherwise)",
     "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE,
                "default": DEFAULT_PER_PAGE}},
]

CODE: JSON = {"name": "code", "in": "path", "required": True,
              "description": "The village's code (as in /p/<code>/)", "schema": {"type": "string"}}
NUMBER: JSON = {"name": "number", "in": "path", "required": True,
                "description": "The matter's number, e.g. 2026-001", "schema": {"type": "string"}}


def _get(summary: str, schema: str, parameters: list[JSON]) -> JSON:
    return {"get": {"summary": summary, "parameters": parameters,
                    "responses": {"200": _ok(schema, summary), **ERRORS}}}


def _paged(item: str) -> JSON:
    return {"type": "object", "required": ["items", "page", "per_page", "total", "pages"],
            "properties": {"items": {"type": "array", "items": _ref(item)},
                           "page": {"type": "integer"}, "per_page": {"type": "integer"},
                           "total": {"type": "integer"}, "pages": {"type": "integer"},
                           "village": {"type": "string"}}}


NULLABLE_INT: JSON = {"type": ["integer", "null"]}
NULLABLE_STR: JSON = {"type": ["string", "null"]}

SCHEMAS: JSON = {
    "Error": {"type": "object", "properties": {"error": {
        "type": "object", "properties": {
            "status": {"type": "integer"}, "rule": {"type": "string"},
            "message": {"type": "string"}, "zh": {"type": "string"}, "en": {"type": "string"}}}}},
    "Village": {"type": "object", "properties": {
        "code": {"type": "string"}, "name": {"type": "string"},
        "township": {"type": "object", "properties": {"code": {"type": "string"},
                                                      "name": {"type": "string"}}},
        "origin": {"type": "string", "description": "The ledger's origin line"},
        "matters": {"type": "integer"}}},
    "Step": {"type": "object", "properties": {
        "seq": {"type": "integer"}, "step": {"type": "string"}, "action": {"type": "string"},
        "from": {"type": "string"}, "to": {"type": "string"},
        "actor": {"type": "string", "description": "The acting official (as in the ledger)"},
        "role": {"type": "string"}, "at": {"type": "string", "format": "date-time"},
        "fields": {"type": "object", "description": "What the step recorded (as in the ledger)"},
        "attachments": {"type": "array", "items": {"type": "object", "properties": {
            "filename": {"type": "string"}, "sha256": {"type": "string"},
            "size": {"type": "integer"}, "content_type": {"type": "string"}}}}}},
    "Matter": {"type": "object", "properties": {
        "number": {"type": "string"}, "title": {"type": "string"}, "category": NULLABLE_INT,
        "state": {"type": "string"}, "summary": NULLABLE_STR, "amount_fen": NULLABLE_INT,
        "filing_no": NULLABLE_STR, "created_at": {"type": "string", "format": "date-time"},
        "updated_at": {"type": "string", "format": "date-time"},
        "notice_starts_at": {"type": ["string", "null"], "format": "date-time",
                             "description": "when the vote's result was published"},
        "notice_ends_at": {"type": ["string", "null"], "format": "date-time",
                           "description": "end of a passed result's public notice period"},
        "steps": {"type": "array", "items": _ref("Step")}}},
    "Poll": {"type": "object", "properties": {
        "meeting": {"type": "integer"}, "poll": {"type": "integer"},
        "matter": {"type": "string"}, "title": {"type": "string"},
        "mode": {"type": "string", "enum": ["named", "secret"]},
        "state": {"type": "string", "enum": ["open", "closed", "void", "suspended"]},
        "members": {"type": "integer"}, "present": {"type": "integer"},
        "quorum": {"type": "string"}, "rule": {"type": "string"},
        "recusal_counts_present": {"type": "boolean"},
        "opened_at": {"type": "string", "format": "date-time"}, "closed_at": NULLABLE_STR,
        "yes": NULLABLE_INT, "no": NULLABLE_INT, "abstain": NULLABLE_INT,
        "recused": NULLABLE_INT, "verdict": {"type": ["string", "null"],
                                             "enum": ["passed", "rejected", None]}}},
    "Cosignature": {"type": "object", "properties": {
        "witness": {"type": "string"}, "size": {"type": "integer"},
        "cosigned_at": {"type": "string", "format": "date-time"},
        "note": {"type": "string", "description": "The checkpoint with the cosignature line"}}},
    "Checkpoint": {"type": "object", "properties": {
        "village": {"type": "string"}, "origin": {"type": "string"},
        "township_witness": {"type": "string", "description": "The witness's verifier key"},
        "log_key": NULLABLE_STR, "size": {"type": "integer"}, "root": NULLABLE_STR,
        "checkpoint": {"type": ["string", "null"], "description": "C2SP signed note"},
        "signed_at": NULLABLE_STR,
        "cosignatures": {"type": "array", "items": _ref("Cosignature")}}},
    "VillagePage": _paged("Village"),
    "MatterPage": _paged("Matter"),
    "PollPage": _paged("Poll"),
    "CheckpointPage": _paged("Checkpoint"),
}

PATHS: JSON = {
    "/api/public/villages": _get("Villages, by township", "VillagePage", PAGE_PARAMETERS),
    "/api/public/villages/{code}": _get("One village", "Village", [CODE]),
    "/api/public/villages/{code}/matters": _get(
        "A village's matters with their steps, newest first", "MatterPage",
        [CODE, *PAGE_PARAMETERS]),
    "/api/public/villages/{code}/matters/{number}": _get(
        "One matter with its steps", "Matter", [CODE, NUMBER]),
    "/api/public/villages/{code}/polls": _get(
        "A village's polls: counts and verdict once closed", "PollPage",
        [CODE, *PAGE_PARAMETERS]),
    "/api/public/villages/{code}/checkpoint": _get(
        "The newest signed checkpoint of the village's ledger and its cosignatures",
        "Checkpoint", [CODE]),
    "/api/public/checkpoints": _get(
        "Every village's newest checkpoint and cosignatures", "CheckpointPage", PAGE_PARAMETERS),
}


def openapi_document(server: str) -> JSON:
    """The document, with ``server`` (this instance's base URL) as its server."""
    return {
        "openapi": "3.1.0",
        "info": {"title": "SunVote open data API (阳光票决公开数据)", "version": "1",
                 "description": "Read-only public data: villages, matters with their steps, poll "
                                "results and ledger checkpoints. No login. Lists are paginated "
                                f"(per_page at most {MAX_PER_PAGE}). Data is what the public "
                                "pages and the public ledger export already show."},
        "servers": [{"url": server}],
        "paths": PATHS,
        "components": {"schemas": SCHEMAS},
    }
