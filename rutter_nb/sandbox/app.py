"""The sandbox's HTTP surface: Starlette routes over the job engine.

Why Starlette: a small, typed ASGI toolkit with routing and exception handlers and no
hidden validation layer, so every status code and error body is ours to decide.
Checks run in Rutter's order: Basic auth (401), `X-Rutter-Version` (400), the
organisation rate limit (429), `access_token` (401), then the body (413/415/400).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import json
import logging
import math
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import parse_qsl, urlencode

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from . import entities
from .config import VERSIONS, SandboxConfigError
from .engine import Caller, Engine, Submission
from .errors import ApiError, bad_request, error_body
from .idempotency import check_key
from .openapi import CURSOR_PATTERN, UUID_PATTERN, build_openapi
from .store import JobRow
from .validation import first_error

log = logging.getLogger("rutter_nb.sandbox")

RESPONSE_MODES = ("prefer_sync", "async")
MAX_LIMIT = 500
_DRAIN_FACTOR = 16
_CURSOR = re.compile(CURSOR_PATTERN)
_UUID = re.compile(UUID_PATTERN)
Handler = Callable[[Request], Awaitable[Response]]


def _engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


# authentication and request parsing ------------------------------------------------
def _client_id(request: Request, engine: Engine) -> str:
    """The client id from a valid `Authorization: Basic` header, else 401."""
    header = request.headers.get("authorization", "")
    scheme, _, encoded = header.partition(" ")
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        decoded = ""
    client_id, sep, secret = decoded.partition(":")
    config = engine.config
    ok_id = hmac.compare_digest(client_id.encode(), config.client_id.encode())
    ok_secret = hmac.compare_digest(secret.encode(), config.client_secret.encode())
    if scheme.lower() != "basic" or not sep or not (ok_id and ok_secret):
        raise ApiError(
            401,
            "AUTHENTICATION_ERROR",
            "INVALID_CREDENTIALS",
            "Send your client id and secret with HTTP Basic authentication",
            headers={"WWW-Authenticate": 'Basic realm="rutter-sandbox"'},
        )
    return config.client_id


def _caller(request: Request, data: bool) -> Caller:
    """Authenticate a `/versioned` request; `data` endpoints also need `access_token`."""
    engine = _engine(request)
    client_id = _client_id(request, engine)
    version = request.headers.get("x-rutter-version")
    if not version:
        raise bad_request("MISSING_VERSION", "The X-Rutter-Version header is required")
    if version not in VERSIONS:
        raise bad_request(
            "UNKNOWN_VERSION", f"Unknown X-Rutter-Version; known: {', '.join(VERSIONS)}"
        )
    engine.take_request_slot(client_id)
    if not data:
        return Caller(client_id, version)
    token = request.query_params.get("access_token")
    if not token:
        raise ApiError(
            401,
            "AUTHENTICATION_ERROR",
            "MISSING_ACCESS_TOKEN",
            "access_token query parameter is required",
        )
    found = engine.connection_for(token)
    if found is None:
        raise ApiError(401, "AUTHENTICATION_ERROR", "INVALID_ACCESS_TOKEN", "Unknown access_token")
    return Caller(client_id, version, found[0], found[1])


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


async def _json_body(request: Request, allow_empty: bool) -> Any:
    """The parsed JSON body: 413 when too large, 415 when not JSON, 400 when malformed."""
    limit = _engine(request).config.max_body_bytes
    raw = bytearray()
    too_large = False
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit:
        too_large = True
        if int(length) > _DRAIN_FACTOR * limit:  # not worth reading: reply and close
            raise _too_large(limit)
    async for chunk in request.stream():
        # keep reading an oversized body (up to a bound) so the client sees the 413
        # instead of a reset connection while it is still sending
        if too_large or len(raw) + len(chunk) > limit:
            too_large = True
            raw.clear()
            continue
        raw += chunk
    if too_large:
        raise _too_large(limit)
    if not raw and allow_empty:
        return {}
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "application/json" and not media.endswith("+json"):
        raise ApiError(
            415, "INVALID_REQUEST", "UNSUPPORTED_MEDIA_TYPE", "Send the body as application/json"
        )
    try:
        text = bytes(raw).decode("utf-8")
    except UnicodeDecodeError:
        raise bad_request("INVALID_ENCODING", "The body is not valid UTF-8") from None
    try:
        body = json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        raise bad_request("MALFORMED_JSON", "The body is not valid JSON") from None
    if not isinstance(body, dict):
        raise bad_request("INVALID_BODY", "The body must be a JSON object")
    if not all(_finite(v) for v in _numbers(body)):
        raise bad_request("MALFORMED_JSON", "Numbers in the body must be finite")
    return body


def _too_large(limit: int) -> ApiError:
    return ApiError(413, "INVALID_REQUEST", "PAYLOAD_TOO_LARGE", f"Body exceeds {limit} bytes")


def _numbers(value: Any) -> Iterator[float]:
    if isinstance(value, dict):
        for item in value.values():
            yield from _numbers(item)
    elif isinstance(value, list):
        for item in value:
            yield from _numbers(item)
    elif isinstance(value, float):
        yield value


def _finite(value: float) -> bool:
    return math.isfinite(value)


def _response_mode(request: Request, body: dict[str, Any]) -> str:
    """`response_mode` from the body, else the query; `prefer_sync` when absent."""
    # an invalid value is a 400 wherever it is, even when the other placement is valid
    query = request.query_params.get("response_mode")
    for mode in (query, body.get("response_mode")):
        if mode is not None and mode not in RESPONSE_MODES:
            raise bad_request(
                "INVALID_RESPONSE_MODE",
                "response_mode must be 'prefer_sync' or 'async' (there is no 'sync')",
            )
    mode = body.get("response_mode") or query
    return str(mode) if mode else "prefer_sync"


def _entity_data(
    kind: entities.Kind, op: str, body: dict[str, Any], version: str
) -> dict[str, Any]:
    """Stage one: the entity wrapper must exist with the right shape (else 400)."""
    if op == "delete":
        return {}
    schema = kind.create_schema(version) if op == "create" else kind.update_schema()
    wrapper = {"type": "object", "required": [kind.singular], "properties": {kind.singular: schema}}
    problem = first_error(body, wrapper)
    if problem:
        code = "MISSING_FIELD" if "required field" in problem else "INVALID_FIELD"
        raise bad_request(code, problem)
    data: dict[str, Any] = body[kind.singular]
    return data


def _sandbox_duration(request: Request) -> float | None:
    raw = request.headers.get("x-sandbox-job-duration")
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 3600:
        raise bad_request(
            "INVALID_SANDBOX_HEADER", "X-Sandbox-Job-Duration must be 0..3600 seconds"
        )
    return value


def _job_url(request: Request) -> str:
    """The original URL with the access token masked (the sandbox never stores secrets)."""
    query = [(k, "***" if k == "access_token" else v) for k, v in parse_qsl(request.url.query)]
    base = str(request.url.replace(query=""))
    return f"{base}?{urlencode(query, safe='*')}" if query else base


def _async_reply(request: Request, job: JobRow, headers: dict[str, str]) -> Response:
    base = f"{request.url.scheme}://{request.url.netloc}/versioned/jobs/{job.id}"
    payload = {"async_response": {"id": job.id, "response_url": base, "status": job.status}}
    return JSONResponse(payload, headers=headers)


async def _drop_connection(request: Request) -> None:
    """Close the socket without a reply, as a lost connection would."""
    cycle = getattr(request.receive, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is None:  # not uvicorn's h11 cycle: fall back to an abrupt 500
        raise ApiError(500, "RUTTER_ERROR", "CONNECTION_DROPPED", "The connection was dropped")
    transport.close()
    for _ in range(50):  # let uvicorn notice, so it sends nothing and logs nothing
        if getattr(cycle, "disconnected", True):
            break
        await asyncio.sleep(0.01)


# handlers --------------------------------------------------------------------------
def _write(kind: entities.Kind, op: str) -> Handler:
    async def handler(request: Request) -> Response:
        engine = _engine(request)
        caller = _caller(request, data=True)
        target = request.path_params.get("id")
        if target is not None and not _UUID.fullmatch(target):
            raise bad_request("INVALID_ID", f"{target[:60]!r} is not a valid {kind.singular} id")
        body = await _json_body(request, allow_empty=op == "delete")
        mode = _response_mode(request, body)
        data = _entity_data(kind, op, body, caller.version)
        key = request.headers.get("idempotency-key")
        if key is not None:
            check_key(key)
        duration = _sandbox_duration(request)
        forced = request.headers.get("x-sandbox-fault")
        fault = engine.pick_fault(forced)
        if fault == "error_before_accept":
            engine.stats.faults[fault] += 1
            raise ApiError(
                500, "RUTTER_ERROR", "INTERNAL_ERROR", "Internal error; nothing was stored"
            )
        sub = Submission(
            kind=kind,
            op=op,
            target=target,
            data=data,
            body=body,
            method=request.method,
            path=request.url.path,
            url=_job_url(request),
            mode=mode,
            idempotency_key=key,
            duration=duration,
        )
        job, replayed = engine.submit(caller, sub)
        if replayed and forced is not None:
            # A forced after-accept fault hits only the first accepted attempt of a key, so
            # that a client retrying with the same key recovers, as from a transient fault.
            fault = None
        if fault:
            engine.stats.faults[fault] += 1
        if fault == "drop_connection":
            await _drop_connection(request)
            return Response(status_code=500)
        if fault == "error_after_accept":
            raise ApiError(500, "RUTTER_ERROR", "INTERNAL_ERROR", "Internal error")
        if fault == "slow":
            await asyncio.sleep(engine.config.slow_seconds)
        headers = {"X-Rutter-Job-ID": job.id}
        if replayed:
            headers["Idempotent-Replayed"] = "true"
        if mode == "prefer_sync":
            job = await engine.wait(job.id, engine.config.sync_window) or job
            if job.done and job.response is not None:
                return JSONResponse(
                    job.response["body"],
                    status_code=int(job.response["http_status"]),
                    headers=headers,
                )
        return _async_reply(request, job, headers)

    return handler


def _cursor(request: Request) -> int:
    """The position a `next_cursor` (`cur_<hex>`) continues from; 400 for anything else."""
    raw = request.query_params.get("cursor")
    if not raw:
        return 0
    # bounded: a forged cursor must not overflow SQLite's 64-bit integers (a 500)
    if not _CURSOR.fullmatch(raw):
        raise bad_request("INVALID_CURSOR", "cursor must be a next_cursor from a previous page")
    return int(raw[4:], 16)


def _next_cursor(after: int | None) -> str | None:
    return None if after is None else f"cur_{after:x}"


def _limit(request: Request) -> int:
    raw = request.query_params.get("limit", "50")
    # ASCII and length first: int() of "²" or of thousands of digits raises (a 500)
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 6 or not 1 <= int(raw) <= MAX_LIMIT:
        raise bad_request("INVALID_LIMIT", f"limit must be an integer 1..{MAX_LIMIT}")
    return int(raw)


def _list(kind: entities.Kind) -> Handler:
    async def handler(request: Request) -> Response:
        caller = _caller(request, data=True)
        assert caller.connection is not None
        page, after = _engine(request).store.list_entities(
            caller.connection["id"], kind.singular, _cursor(request), _limit(request)
        )
        cursor = _next_cursor(after)
        return JSONResponse(
            {
                kind.plural: [entities.render(kind, e, caller.version) for e in page],
                "next_cursor": cursor,
                "connection": caller.connection,
            }
        )

    return handler


def _get_one(kind: entities.Kind) -> Handler:
    async def handler(request: Request) -> Response:
        caller = _caller(request, data=True)
        assert caller.connection is not None
        entity_id = request.path_params["id"]
        found = _engine(request).store.get_entity(caller.connection["id"], kind.singular, entity_id)
        if found is None:
            raise ApiError(404, "NOT_FOUND", "ENTITY_NOT_FOUND", f"No {kind.singular} with that id")
        return JSONResponse({kind.singular: entities.render(kind, found, caller.version)})

    return handler


def _one(kind: entities.Kind) -> Handler:
    get, patch, delete = _get_one(kind), _write(kind, "update"), _write(kind, "delete")

    async def handler(request: Request) -> Response:
        if request.method == "PATCH":
            return await patch(request)
        if request.method == "DELETE":
            return await delete(request)
        return await get(request)

    return handler


def _collection(kind: entities.Kind) -> Handler:
    listing, create = _list(kind), _write(kind, "create")

    async def handler(request: Request) -> Response:
        return await (create if request.method == "POST" else listing)(request)

    return handler


async def get_job(request: Request) -> Response:
    """`GET /versioned/jobs/{id}`: Basic auth only; 404 for unknown (or others') jobs."""
    caller = _caller(request, data=False)
    job = _engine(request).store.get_job(request.path_params["id"])
    if job is None or job.client_id != caller.client_id:
        raise ApiError(404, "NOT_FOUND", "JOB_NOT_FOUND", "No job with that id")
    return JSONResponse(job.public())


async def sandbox_stats(request: Request) -> Response:
    """Counters for notebooks and tests."""
    engine = _engine(request)
    _client_id(request, engine)
    return JSONResponse(engine.snapshot())


async def sandbox_reset(request: Request) -> Response:
    """Forget all state and reseed."""
    engine = _engine(request)
    _client_id(request, engine)
    engine.reset()
    return JSONResponse({"reset": True})


async def sandbox_config(request: Request) -> Response:
    """Read (GET) or change (POST, JSON object of runtime settings) the configuration."""
    engine = _engine(request)
    _client_id(request, engine)
    if request.method == "POST":
        body = await _json_body(request, allow_empty=False)
        try:
            engine.configure(**body)
        except (SandboxConfigError, TypeError) as exc:
            raise bad_request("INVALID_CONFIG", str(exc)) from None
    return JSONResponse(engine.config.public())


async def sandbox_connections(request: Request) -> Response:
    """Create another connection (its own access token and seed data)."""
    engine = _engine(request)
    _client_id(request, engine)
    token, connection = engine.add_connection()
    return JSONResponse({"access_token": token, "connection": connection})


# errors, stats, assembly -------------------------------------------------------------
async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 405:
        body = error_body(
            "INVALID_REQUEST", "METHOD_NOT_ALLOWED", "This route does not accept that method"
        )
    elif exc.status_code == 404:
        body = error_body("NOT_FOUND", "ROUTE_NOT_FOUND", "Unknown route")
    else:
        body = error_body("INVALID_REQUEST", "HTTP_ERROR", str(exc.detail))
    return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)


async def _crash(request: Request, exc: Exception) -> Response:
    log.error("unexpected error on %s %s: %s", request.method, request.url.path, type(exc).__name__)
    return JSONResponse(
        error_body("RUTTER_ERROR", "INTERNAL_ERROR", "Internal error"), status_code=500
    )


class _CountRequests:
    """ASGI middleware counting replies by route template and status code."""

    def __init__(self, app: ASGIApp, engine: Engine) -> None:
        self.app = app
        self.engine = engine

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 0

        async def counting_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, counting_send)
        finally:
            route = scope.get("route")
            path = getattr(route, "path", None) or "(unknown route)"
            self.engine.stats.count_request(f"{scope['method']} {path}", status or 500)


def build_app(engine: Engine) -> Starlette:
    """The ASGI app for one engine; the engine starts and stops with the app's lifespan."""
    routes = []
    for kind in entities.KINDS:
        routes.append(Route(f"/versioned/{kind.path}", _collection(kind), methods=["GET", "POST"]))
        one_methods = ["GET"] + [m for m in ("PATCH", "DELETE") if m in kind.writable]
        routes.append(Route(f"/versioned/{kind.path}/{{id}}", _one(kind), methods=one_methods))
    routes += [
        Route("/versioned/jobs/{id}", get_job, methods=["GET"]),
        Route("/_sandbox/stats", sandbox_stats, methods=["GET"]),
        Route("/_sandbox/reset", sandbox_reset, methods=["POST"]),
        Route("/_sandbox/config", sandbox_config, methods=["GET", "POST"]),
        Route("/_sandbox/connections", sandbox_connections, methods=["POST"]),
    ]
    document = build_openapi()

    async def openapi(request: Request) -> Response:
        return JSONResponse(document)

    routes.append(Route("/openapi.json", openapi, methods=["GET"]))

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            await engine.start()
        except Exception as exc:  # kept for `Sandbox.start` to report plainly
            engine.startup_error = exc
            raise
        try:
            yield
        finally:
            await engine.stop()

    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={ApiError: _api_error, HTTPException: _http_error, Exception: _crash},
    )
    app.state.engine = engine
    app.add_middleware(_CountRequests, engine=engine)
    return app
