"""The OpenAPI 3.1 document served at `/openapi.json`, built from the entity catalogue.

Every route the app serves is described here (a test checks both lists agree), with the
same request schemas stage-one validation uses.
"""

from __future__ import annotations

import copy
from typing import Any

from . import entities
from .config import FAULT_KINDS, VERSIONS
from .idempotency import KEY_PATTERN

UUID_PATTERN = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
CURSOR_PATTERN = "^cur_[0-9a-f]{1,15}$"

_JSON = "application/json"
_ERR = {"$ref": "#/components/schemas/Error"}


def _param(
    name: str, where: str, schema: dict[str, Any], required: bool, text: str
) -> dict[str, Any]:
    return {"name": name, "in": where, "required": required, "schema": schema, "description": text}


_VERSION = _param(
    "X-Rutter-Version", "header", {"type": "string", "enum": list(VERSIONS)}, True, "API version."
)
_TOKEN = _param("access_token", "query", {"type": "string"}, True, "The connection's access token.")
_ID = _param("id", "path", {"type": "string"}, True, "The id.")
_UUID_ID = _param(
    "id",
    "path",
    {"type": "string", "pattern": UUID_PATTERN},
    True,
    "The entity's id (a UUID; anything else is a 400 before acceptance).",
)
_WRITE_HEADERS = [
    _param(
        "Idempotency-Key",
        "header",
        {"type": "string", "pattern": KEY_PATTERN.pattern.join("^$")},
        False,
        "Replays the first accepted outcome for the same request; 409 for another one.",
    ),
    _param(
        "X-Sandbox-Job-Duration",
        "header",
        {"type": "number", "minimum": 0, "maximum": 3600},
        False,
        "Sandbox only: seconds this request's job takes.",
    ),
    _param(
        "response_mode",
        "query",
        {"type": "string", "enum": ["prefer_sync", "async"]},
        False,
        "Older placement; the body's response_mode wins.",
    ),
]
# X-Sandbox-Fault (one of FAULT_KINDS) is deliberately not a documented parameter: every
# fault is a server error or a dropped connection by design, so API fuzzers must not send it.
_FAULT_NOTE = (
    "Sandbox only: the header X-Sandbox-Fault ("
    + ", ".join(FAULT_KINDS)
    + ") forces a fault on this request."
)
_LIST_PARAMS = [
    _param(
        "limit", "query", {"type": "integer", "minimum": 1, "maximum": 500}, False, "Page size."
    ),
    _param(
        "cursor",
        "query",
        {"type": "string", "pattern": CURSOR_PATTERN},
        False,
        "next_cursor of the previous page.",
    ),
]


def _errors(*codes: int) -> dict[str, Any]:
    text = {
        400: "Bad input (nothing stored)",
        401: "Bad credentials or access token",
        404: "Unknown route or id",
        405: "Method not allowed",
        409: "Idempotency-Key reused with another request",
        413: "Body too large",
        415: "Body is not JSON",
        429: "Rate limit (Retry-After)",
        452: "The platform's rate limit (prefer_sync)",
        500: "Sandbox failure (outcome unknown for writes)",
    }
    return {str(c): {"description": text[c], "content": {_JSON: {"schema": _ERR}}} for c in codes}


def _ok(schema: dict[str, Any], text: str = "OK") -> dict[str, Any]:
    return {"200": {"description": text, "content": {_JSON: {"schema": schema}}}}


def _write_op(kind: entities.Kind, op: str, summary: str) -> dict[str, Any]:
    schema = kind.create_schema("2024-08-31") if op == "create" else kind.update_schema()
    schema = copy.deepcopy(schema)
    # null is the same as leaving response_mode out: prefer_sync
    modes = {"type": ["string", "null"], "enum": ["prefer_sync", "async", None]}
    props: dict[str, Any] = {"response_mode": modes}
    required: list[str] = []
    if op != "delete":
        props[kind.singular] = schema
        required.append(kind.singular)
    body = {"type": "object", "required": required, "properties": props}
    reply = {
        "anyOf": [
            {"type": "object", "properties": {kind.singular: {"type": "object"}}},
            {"$ref": "#/components/schemas/AsyncResponsePayload"},
        ]
    }
    responses = _ok(reply, "The entity (synchronous) or an async_response")
    responses.update(_errors(400, 401, 404, 405, 409, 413, 415, 429, 452, 500))
    responses["450"] = {
        "description": "The platform rejected the input (synchronous reply of a failed job)",
        "content": {_JSON: {"schema": _ERR}},
    }
    params = [_VERSION, _TOKEN, *_WRITE_HEADERS]
    if op != "create":
        params = [_UUID_ID, *params]
    return {
        "summary": summary,
        "description": _FAULT_NOTE,
        "security": [{"basicAuth": []}],
        "parameters": params,
        "requestBody": {"required": op != "delete", "content": {_JSON: {"schema": body}}},
        "responses": responses,
    }


def _entity_paths(kind: entities.Kind) -> dict[str, Any]:
    page = {
        "type": "object",
        "required": [kind.plural, "next_cursor", "connection"],
        "properties": {
            kind.plural: {"type": "array", "items": {"type": "object"}},
            "next_cursor": {"type": ["string", "null"]},
            "connection": {"$ref": "#/components/schemas/Connection"},
        },
    }
    one = {
        "type": "object",
        "required": [kind.singular],
        "properties": {kind.singular: {"type": "object"}},
    }
    base = f"/versioned/{kind.path}"
    read_errors = _errors(400, 401, 404, 405, 429, 500)
    collection = {
        "get": {
            "summary": f"List {kind.plural}",
            "security": [{"basicAuth": []}],
            "parameters": [_VERSION, _TOKEN, *_LIST_PARAMS],
            "responses": {**_ok(page), **read_errors},
        },
        "post": _write_op(kind, "create", f"Create a {kind.singular}"),
    }
    item: dict[str, Any] = {
        "get": {
            "summary": f"Get one {kind.singular}",
            "security": [{"basicAuth": []}],
            "parameters": [_ID, _VERSION, _TOKEN],
            "responses": {**_ok(one), **read_errors},
        }
    }
    if "PATCH" in kind.writable:
        item["patch"] = _write_op(kind, "update", f"Update a {kind.singular}")
    if "DELETE" in kind.writable:
        item["delete"] = _write_op(kind, "delete", f"Delete a {kind.singular}")
    return {base: collection, base + "/{id}": item}


_JOB = {
    "type": "object",
    "required": ["id", "status", "request"],
    "properties": {
        "id": {"type": "string"},
        "status": {
            "type": "string",
            "enum": ["prequeued", "pending", "success", "partial_success", "failure"],
        },
        "request": {
            "type": "object",
            "required": ["method", "url"],
            "additionalProperties": False,
            "properties": {
                "method": {"type": "string"},
                "url": {"type": "string"},
                "body": {},
                "idempotency_key": {"type": "string"},
            },
        },
        "response": {
            "type": "object",
            "required": ["http_status"],
            "additionalProperties": False,
            "properties": {"http_status": {"type": "number"}, "body": {}},
        },
        "created_at": {"type": "string"},
        "updated_at": {"type": "string"},
        "completed_at": {"type": ["string", "null"]},
    },
}


def _sandbox_op(summary: str, schema: dict[str, Any], body: bool = False) -> dict[str, Any]:
    op: dict[str, Any] = {
        "summary": summary,
        "security": [{"basicAuth": []}],
        "responses": {**_ok(schema), **_errors(400, 401, 405, 413, 415, 500)},
    }
    if body:
        op["requestBody"] = {"required": True, "content": {_JSON: {"schema": {"type": "object"}}}}
    return op


def build_openapi() -> dict[str, Any]:
    """The whole document (a fresh copy each call)."""
    paths: dict[str, Any] = {}
    for kind in entities.KINDS:
        paths.update(_entity_paths(kind))
    paths["/versioned/jobs/{id}"] = {
        "get": {
            "summary": "Get an asynchronous job",
            "security": [{"basicAuth": []}],
            "parameters": [_ID, _VERSION],
            "responses": {
                **_ok({"$ref": "#/components/schemas/AsynchronousJob"}),
                **_errors(400, 401, 404, 405, 429, 500),
            },
        }
    }
    obj = {"type": "object"}
    paths["/_sandbox/stats"] = {"get": _sandbox_op("Sandbox counters", obj)}
    paths["/_sandbox/reset"] = {"post": _sandbox_op("Forget all state and reseed", obj)}
    paths["/_sandbox/config"] = {
        "get": _sandbox_op("Current runtime settings", obj),
        "post": _sandbox_op("Change runtime settings", obj, body=True),
    }
    paths["/_sandbox/connections"] = {"post": _sandbox_op("Create another connection", obj)}
    paths["/openapi.json"] = {"get": {"summary": "This document", "responses": _ok(obj)}}
    document = {
        "openapi": "3.1.0",
        "info": {
            "title": "rutter_nb sandbox",
            "version": "2024-08-31",
            "description": "A Rutter-compatible sandbox: response modes, jobs, idempotency.",
        },
        "paths": paths,
        "components": {
            "securitySchemes": {"basicAuth": {"type": "http", "scheme": "basic"}},
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error_type", "error_code", "error_message"],
                    "properties": {
                        "error_type": {"type": "string"},
                        "error_code": {"type": "string"},
                        "error_message": {"type": "string"},
                    },
                },
                "AsyncResponsePayload": {
                    "type": "object",
                    "required": ["async_response"],
                    "properties": {
                        "async_response": {
                            "type": "object",
                            "required": ["id", "response_url", "status"],
                            "additionalProperties": False,
                            "properties": {
                                "id": {"type": "string"},
                                "response_url": {"type": "string"},
                                "status": _JOB["properties"]["status"],  # type: ignore[index]
                            },
                        }
                    },
                },
                "AsynchronousJob": _JOB,
                "Connection": {
                    "type": "object",
                    "required": ["id", "orgId", "platform"],
                    "properties": {
                        "id": {"type": "string"},
                        "orgId": {"type": "string"},
                        "platform": {"type": "string"},
                    },
                },
            },
        },
    }
    return copy.deepcopy(document)
