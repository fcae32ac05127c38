"""`/openapi.json` describes every route, and replies validate against Rutter's own spec."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
from starlette.routing import Route

from rutter_nb.sandbox import Sandbox
from rutter_nb.sandbox.app import build_app
from rutter_nb.sandbox.config import SandboxConfig
from rutter_nb.sandbox.engine import Engine
from rutter_nb.sandbox.openapi import build_openapi

from .helpers import client, invoice_body, wait_job

SPEC = json.loads((Path(__file__).parent / "data" / "rutter-2023-03-14-schemas.json").read_text())
INVOICES = "/accounting/invoices"


def rutter_schema(name: str) -> dict[str, Any]:
    """One schema of Rutter's 2023-03-14 document, with its $refs resolvable."""
    return {"$ref": f"#/components/schemas/{name}", "components": SPEC["components"]}


def validate(instance: Any, name: str) -> None:
    jsonschema.validate(instance, rutter_schema(name), cls=jsonschema.Draft202012Validator)


def test_every_served_route_is_in_the_document() -> None:
    app = build_app(Engine(SandboxConfig(), ":memory:"))
    document = build_openapi()
    served = set()
    for route in app.routes:
        assert isinstance(route, Route)
        for method in route.methods or ():
            if method != "HEAD":
                served.add((route.path, method.lower()))
    described = {(path, method) for path, ops in document["paths"].items() for method in ops}
    assert served == described
    assert document["openapi"].startswith("3.1")


def test_document_is_served_and_its_schemas_are_valid(sandbox: Sandbox) -> None:
    document = httpx.get(sandbox.url + "/openapi.json").json()
    assert document == build_openapi()
    for path, ops in document["paths"].items():
        for method, op in ops.items():
            assert "200" in op["responses"], (path, method)
            for response in op["responses"].values():
                schema = response["content"]["application/json"]["schema"]
                resolvable = {**schema, "components": document["components"]}
                jsonschema.Draft202012Validator.check_schema(resolvable)


def test_async_response_and_jobs_match_rutters_schemas(sandbox: Sandbox) -> None:
    with client(sandbox) as http:
        body = invoice_body(http, mode="async")
        replies = [
            http.post(INVOICES, json=body, headers={"Idempotency-Key": "schema-key"}),
            http.post(INVOICES, json=body),
        ]
        bad = json.loads(json.dumps(body))
        bad["invoice"]["customer_id"] = "00000000-0000-4000-8000-000000000000"
        replies.append(http.post(INVOICES, json=bad))
        for reply in replies:
            validate(reply.json(), "AsyncResponsePayload")
            running = http.get(f"/jobs/{reply.json()['async_response']['id']}").json()
            validate(running, "AsynchronousJob")
            finished = wait_job(http, running["id"])
            validate(finished, "AsynchronousJob")
    assert {wait["status"] for wait in [finished]} == {"failure"}


def test_the_2023_invoice_and_list_match_rutters_schemas(sandbox: Sandbox) -> None:
    with client(sandbox, version="2023-03-14") as http:
        invoice = http.post(INVOICES, json=invoice_body(http)).json()["invoice"]
        validate(invoice, "Invoice")
        validate(http.get(INVOICES).json(), "ListInvoiceResponseWithConnection")


@pytest.mark.parametrize("name", ["AsynchronousJob", "AsyncResponsePayload"])
def test_the_schema_check_can_fail(name: str) -> None:
    with pytest.raises(jsonschema.ValidationError):
        validate({"async_response": {"id": "x", "status": "running"}, "status": "nope"}, name)
