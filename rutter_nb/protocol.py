"""The sans-I/O core both clients share: requests in, parsed outcomes or typed errors out.

No sockets and no sleeping here (compare h11): :func:`prepare` turns an
:class:`~rutter_nb.requests.ApiRequest` plus :class:`~rutter_nb.settings.Settings` into an
``httpx.Request``; :func:`parse_submit` and :func:`parse_job` turn ``httpx.Response``
objects into :class:`Accepted`, :class:`Finished` or :class:`JobState`, or raise the
:mod:`rutter_nb.errors` class for the status.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx

from rutter_nb.errors import (
    ConfigurationError,
    InvalidRequest,
    ResponseFormatError,
    RutterError,
    error_class_for_status,
)
from rutter_nb.redact import redact_body, redact_url
from rutter_nb.requests import IDEMPOTENT_KEY_METHODS, ApiRequest
from rutter_nb.retry import parse_retry_after
from rutter_nb.settings import Settings

__all__ = [
    "Accepted",
    "Finished",
    "JobState",
    "error_from_body",
    "error_from_response",
    "job_request",
    "parse_job",
    "parse_submit",
    "prepare",
    "retry_safe",
    "wire_description",
]


def _user_agent() -> str:
    try:
        from importlib.metadata import version

        return f"rutter_nb/{version('rutter_nb')}"
    except Exception:  # not installed as a distribution (e.g. a source checkout)
        return "rutter_nb"


USER_AGENT = _user_agent()
JOB_ID_HEADER = "X-Rutter-Job-ID"
REPLAYED_HEADER = "Idempotent-Replayed"


@dataclass(frozen=True)
class Finished:
    """A synchronous reply: the job (if the server made one) is already over."""

    job_id: str | None
    http_status: int
    body: Any
    replayed: bool


@dataclass(frozen=True)
class Accepted:
    """An ``async_response``: the job goes on and must be polled."""

    job_id: str
    status: str
    response_url: str | None
    replayed: bool


@dataclass(frozen=True)
class JobState:
    """One reading of ``GET /jobs/:id`` (request/response already redacted)."""

    id: str
    status: str
    request: dict[str, Any] | None
    response: dict[str, Any] | None
    created_at: str | None
    retry_after: float | None


def _url(settings: Settings, path: str) -> str:
    return settings.base_url + path


def _auth_headers(settings: Settings, version: str | None = None) -> dict[str, str]:
    return {
        "Authorization": settings.auth_header,
        "X-Rutter-Version": version or settings.version,
        "Accept": "application/json",
        "User-Agent": USER_AGENT,
    }


def _params(req: ApiRequest, settings: Settings, mode: str | None) -> dict[str, str]:
    version = req.version or settings.version
    params = req.wire_query(version, mode)
    if not req.path.startswith("/jobs"):
        if not settings.access_token and "access_token" not in params:
            raise ConfigurationError(
                f"{req.method} {req.path} needs a connection access_token: pass "
                "access_token= or set RUTTER_ACCESS_TOKEN"
            )
        params.setdefault("access_token", settings.access_token or "")
    return params


def prepare(
    req: ApiRequest,
    settings: Settings,
    *,
    response_mode: str | None = None,
    idempotency_key: str | None = None,
) -> httpx.Request:
    """The exact HTTP request for ``req``: auth, version, access token, response mode
    (placed where the version wants it) and the Idempotency-Key."""
    if not isinstance(req, ApiRequest):
        raise InvalidRequest(f"expected an ApiRequest, got {type(req).__name__}")
    version = req.version or settings.version
    # A request built for a version (e.g. by a builder) is sent with that version, since
    # its body's shape depends on it.
    headers = _auth_headers(settings, version)
    headers.update(req.headers)
    key = idempotency_key or req.idempotency_key
    if key:
        headers["Idempotency-Key"] = key
    body = req.wire_body(version, response_mode)
    content = None
    if body is not None:
        headers["Content-Type"] = "application/json"
        content = json.dumps(body).encode()
    return httpx.Request(
        req.method,
        _url(settings, req.path),
        params=_params(req, settings, response_mode),
        headers=headers,
        content=content,
    )


def job_request(job_id: str, settings: Settings) -> httpx.Request:
    """``GET /jobs/:id`` (Basic auth only; no access token)."""
    if not isinstance(job_id, str) or not job_id or "/" in job_id or "?" in job_id:
        raise InvalidRequest(f"job id must be a non-empty string without '/', got {job_id!r}")
    return httpx.Request("GET", _url(settings, f"/jobs/{job_id}"), headers=_auth_headers(settings))


def retry_safe(req: ApiRequest, idempotency_key: str | None) -> bool:
    """May this request be repeated after an unknown outcome? Reads and DELETEs yes;
    POST/PATCH only with an Idempotency-Key, so that a retry can never duplicate."""
    if req.method in IDEMPOTENT_KEY_METHODS:
        return bool(idempotency_key or req.idempotency_key)
    return True


def wire_description(
    req: ApiRequest,
    settings: Settings,
    *,
    response_mode: str | None = None,
    idempotency_key: str | None = None,
) -> dict[str, Any]:
    """The AsynchronousJob ``request`` object for what we sent, redacted."""
    version = req.version or settings.version
    url = httpx.URL(_url(settings, req.path), params=_params(req, settings, response_mode))
    out: dict[str, Any] = {
        "method": req.method,
        "url": redact_url(str(url)),
        "body": redact_body(req.wire_body(version, response_mode)),
    }
    key = idempotency_key or req.idempotency_key
    if key:
        out["idempotency_key"] = key
    return out


# Rutter's replies nest a few levels; the redaction and copying helpers recurse, so a
# hostile reply nested hundreds deep would end in a RecursionError far from here.
_MAX_DEPTH = 64


def _loads(response: httpx.Response) -> Any:
    """``response.json()``, refusing (ValueError) JSON nested deeper than ``_MAX_DEPTH``."""
    value = response.json()
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > _MAX_DEPTH:
                raise ValueError(f"JSON nested deeper than {_MAX_DEPTH} levels")
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return value


def _json(response: httpx.Response, req: ApiRequest | None) -> Any:
    try:
        return _loads(response)
    # ValueError also covers integers of >4300 digits; RecursionError very deep nesting
    except (ValueError, RecursionError):
        raise ResponseFormatError(
            f"HTTP {response.status_code}: the reply is not valid JSON "
            f"({len(response.content)} bytes, starting {response.text[:60]!r})",
            http_status=response.status_code,
            request=req,
        ) from None


def error_from_body(
    http_status: int, body: Any, req: ApiRequest | None, retry_after: float | None = None
) -> RutterError:
    """The typed error for an error status and Rutter's error object (or anything else)."""
    fields = body if isinstance(body, dict) else {}

    def text(name: str) -> str | None:
        value = fields.get(name)
        return None if value is None else str(value)

    cls = error_class_for_status(http_status)
    message = text("error_message")
    if message is None and not fields and body not in (None, ""):
        message = str(body)[:200]
    return cls(
        http_status=http_status,
        error_type=text("error_type"),
        error_code=text("error_code"),
        error_message=message,
        request=req,
        retry_after=retry_after,
    )


def error_from_response(response: httpx.Response, req: ApiRequest | None) -> RutterError:
    """The typed error for a non-2xx reply; tolerates bodies that are not JSON."""
    try:
        body: Any = _loads(response)
    except (ValueError, RecursionError):
        body = response.text
    retry_after = parse_retry_after(response.headers.get("Retry-After"))
    return error_from_body(response.status_code, body, req, retry_after)


def _replayed(response: httpx.Response) -> bool:
    value: str = response.headers.get(REPLAYED_HEADER, "")
    return value.strip().lower() == "true"


def parse_submit(response: httpx.Response, req: ApiRequest | None) -> Finished | Accepted:
    """Classify the reply to a submitted request.

    ``async_response`` → :class:`Accepted`; any other 2xx → :class:`Finished`. A non-2xx
    reply carrying ``X-Rutter-Job-ID`` was accepted and then failed, so it is a finished
    (failed) job too; without that header the request was refused: raise its error.
    """
    job_id = response.headers.get(JOB_ID_HEADER) or None
    status = response.status_code
    if not 200 <= status <= 299:
        if job_id is None:
            raise error_from_response(response, req)
        try:
            body: Any = _loads(response)
        except (ValueError, RecursionError):
            body = response.text
        return Finished(job_id, status, redact_body(body), _replayed(response))
    if not response.content:
        return Finished(job_id, status, None, _replayed(response))
    content_type = response.headers.get("Content-Type", "")
    if "json" not in content_type:
        return Finished(job_id, status, response.text, _replayed(response))
    body = _json(response, req)
    if isinstance(body, dict) and "async_response" in body:
        info = body["async_response"]
        if not isinstance(info, dict) or not isinstance(info.get("id"), str) or not info["id"]:
            raise ResponseFormatError(
                "async_response without a job id", http_status=status, request=req
            )
        job_status = info.get("status")
        if not isinstance(job_status, str):
            raise ResponseFormatError(
                "async_response without a status", http_status=status, request=req
            )
        url = info.get("response_url")
        return Accepted(
            info["id"], job_status, url if isinstance(url, str) else None, _replayed(response)
        )
    return Finished(job_id, status, redact_body(body), _replayed(response))


def parse_job(response: httpx.Response, req: ApiRequest | None = None) -> JobState:
    """Read an AsynchronousJob from ``GET /jobs/:id`` (errors raise their typed class)."""
    if not 200 <= response.status_code <= 299:
        raise error_from_response(response, req)
    body = _json(response, req)
    if not isinstance(body, dict):
        raise ResponseFormatError(
            "job reply is not a JSON object", http_status=response.status_code, request=req
        )
    job = body.get("job", body) if "status" not in body else body  # tolerate a wrapper
    if not isinstance(job, dict):
        raise ResponseFormatError("job reply has no job object", request=req)
    job_id, status = job.get("id"), job.get("status")
    if not isinstance(job_id, str) or not job_id:
        raise ResponseFormatError("job reply without an id", request=req)
    if not isinstance(status, str) or not status:
        raise ResponseFormatError(f"job {job_id} reply without a status", request=req)
    request = job.get("request")
    result = job.get("response")
    if request is not None and not isinstance(request, dict):
        raise ResponseFormatError(f"job {job_id}: 'request' is not an object", request=req)
    if result is not None and (not isinstance(result, dict) or "http_status" not in result):
        raise ResponseFormatError(
            f"job {job_id}: 'response' is not an object with http_status", request=req
        )
    if request is not None:
        request = dict(redact_body(request))
        if isinstance(request.get("url"), str):
            request["url"] = redact_url(request["url"])
    created = job.get("created_at")
    return JobState(
        id=job_id,
        status=status,
        request=request,
        response=None if result is None else dict(redact_body(result)),
        created_at=created if isinstance(created, str) else None,
        retry_after=parse_retry_after(response.headers.get("Retry-After")),
    )
