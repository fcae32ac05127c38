"""`ApiRequest`: an immutable description of one Rutter call, shown exactly as it will be sent.

A request knows its method, path (relative to the ``/versioned`` base URL), query, body,
extra headers, response mode and idempotency key, and where the API version wants the
response mode (:func:`response_mode_placement`). It never holds credentials: the client
adds them at send time, and every rendering shows them masked.

>>> import rutter_nb
>>> req = rutter_nb.request("GET", "/accounting/invoices", query={"limit": 10})
>>> req.method, req.path, req.query
('GET', '/accounting/invoices', {'limit': '10'})
"""

from __future__ import annotations

import datetime as dt
import html
import json
import re
import shlex
import uuid
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Literal

from rutter_nb.errors import InvalidRequest
from rutter_nb.redact import MASK, redact_body, redact_headers, redact_query
from rutter_nb.settings import DEFAULT_VERSION

__all__ = [
    "RESPONSE_MODES",
    "ApiRequest",
    "request",
    "response_mode_placement",
]

ResponseMode = Literal["prefer_sync", "async"]
RESPONSE_MODES: tuple[str, ...] = ("prefer_sync", "async")
METHODS = ("GET", "POST", "PATCH", "PUT", "DELETE")
WRITE_METHODS = frozenset({"POST", "PATCH", "PUT", "DELETE"})
# Methods that take an Idempotency-Key header (PROTOCOL.md: POST and PATCH).
IDEMPOTENT_KEY_METHODS = frozenset({"POST", "PATCH"})
REPORT_PATHS = frozenset(
    {
        "/accounting/balance_sheets",
        "/accounting/cash_flow_statements",
        "/accounting/income_statements",
    }
)
# [ours] Older docs put response_mode in the query string for writes too; servers accept
# both. We send it in the body for every version; edit this set to change that.
_QUERY_MODE_FOR_WRITES: frozenset[str] = frozenset()
_COLLECTION = re.compile(r"^[a-z_]+$")
_IRREGULAR = {"classes": "class", "addresses": "address", "statuses": "status"}


def response_mode_placement(
    method: str, path: str, version: str = DEFAULT_VERSION
) -> Literal["body", "query"] | None:
    """Where ``response_mode`` goes: ``"body"`` for writes, ``"query"`` for the report
    GETs, ``None`` when the endpoint does not take one."""
    method = method.upper()
    if method == "GET":
        return "query" if path.rstrip("/") in REPORT_PATHS else None
    if method in WRITE_METHODS:
        return "query" if version in _QUERY_MODE_FOR_WRITES else "body"
    return None


def _check_mode(mode: str | None) -> str | None:
    if mode is None or mode in RESPONSE_MODES:
        return mode
    hint = " (there is no 'sync' mode: use 'prefer_sync')" if mode == "sync" else ""
    raise InvalidRequest(
        f"response_mode must be 'prefer_sync', 'async' or None, got {mode!r}{hint}"
    )


def _json_default(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, Decimal) and value.is_finite():
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _singular(word: str) -> str:
    if word in _IRREGULAR:
        return _IRREGULAR[word]
    if word.endswith("ies"):
        return word[:-3] + "y"
    return word[:-1] if word.endswith("s") else word


def _normalise_path(path: Any) -> str:
    if not isinstance(path, str) or not path:
        raise InvalidRequest(f"path must be a non-empty string, got {path!r}")
    if "://" in path:
        raise InvalidRequest(
            f"path {path!r} must be relative to the client's base_url, e.g. '/accounting/invoices'"
        )
    if "?" in path:
        raise InvalidRequest("put query parameters in query=..., not in the path")
    text = "/" + str(path).lstrip("/")
    if text == "/versioned" or text.startswith("/versioned/"):
        text = text[len("/versioned") :] or "/"  # base_url already ends in /versioned
    return text


def _pairs(value: Mapping[str, Any] | None, what: str) -> tuple[tuple[str, str], ...]:
    if value is None:
        return ()
    if not isinstance(value, Mapping):
        raise InvalidRequest(f"{what} must be a mapping, got {type(value).__name__}")
    out = []
    for k, v in value.items():
        if not isinstance(k, str):
            raise InvalidRequest(f"{what} keys must be strings, got {k!r}")
        if isinstance(v, bool):
            v = "true" if v else "false"
        elif not isinstance(v, str | int | float):
            raise InvalidRequest(f"{what}[{k!r}] must be a string or number, got {v!r}")
        out.append((k, str(v)))
    return tuple(out)


class ApiRequest:
    """One Rutter call, immutable: every ``with_*`` method returns a new request."""

    __slots__ = (
        "_body",
        "_headers",
        "_query",
        "idempotency_key",
        "method",
        "path",
        "response_mode",
        "version",
    )
    method: str
    path: str
    _query: tuple[tuple[str, str], ...]
    _body: str | None
    _headers: tuple[tuple[str, str], ...]
    response_mode: str | None
    idempotency_key: str | None
    version: str | None

    def __init__(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, Any] | None = None,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        response_mode: str | None = None,
        idempotency_key: str | None = None,
        version: str | None = None,
    ) -> None:
        if not isinstance(method, str) or method.upper() not in METHODS:
            raise InvalidRequest(f"method must be one of {', '.join(METHODS)}, got {method!r}")
        method = method.upper()
        path = _normalise_path(path)
        if body is not None and method == "GET":
            raise InvalidRequest("a GET request cannot have a body; use query=...")
        try:
            body_text = None if body is None else json.dumps(body, default=_json_default)
        except (TypeError, ValueError) as exc:
            raise InvalidRequest(f"body is not JSON: {exc}") from None
        header_pairs = _pairs(headers, "headers")
        key = idempotency_key
        kept = []
        for name, value in header_pairs:
            if name.lower() == "idempotency-key":
                key = key or value  # a header given by hand becomes the field
            else:
                kept.append((name, value))
        if key is not None and (not isinstance(key, str) or not key.strip()):
            raise InvalidRequest(f"idempotency_key must be a non-empty string, got {key!r}")
        mode = _check_mode(response_mode)
        if mode is not None and response_mode_placement(method, path) is None:
            raise InvalidRequest(
                f"{method} {path} takes no response_mode (only writes and the report GETs do)"
            )
        sets = object.__setattr__
        sets(self, "method", method)
        sets(self, "path", path)
        sets(self, "_query", _pairs(query, "query"))
        sets(self, "_body", body_text)
        sets(self, "_headers", tuple(kept))
        sets(self, "response_mode", mode)
        sets(self, "idempotency_key", key)
        sets(self, "version", version)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("ApiRequest is immutable; use the with_* methods")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("ApiRequest is immutable")

    # -- read access (copies, so callers cannot mutate the request) -------------------
    @property
    def query(self) -> dict[str, str]:
        """Query parameters (a copy); ``access_token`` is added by the client."""
        return dict(self._query)

    @property
    def body(self) -> Any:
        """The JSON body (a fresh copy) without ``response_mode``."""
        return None if self._body is None else json.loads(self._body)

    @property
    def headers(self) -> dict[str, str]:
        """Extra headers (a copy); auth, version and Idempotency-Key are added at send."""
        return dict(self._headers)

    @property
    def entity(self) -> str | None:
        """The entity the path is about, e.g. ``"invoice"`` for ``/accounting/invoices/1``."""
        names = [s for s in self.path.split("/") if _COLLECTION.match(s)]
        names = [s for s in names if s not in ("accounting", "commerce", "versioned")]
        return _singular(names[-1]) if names else None

    @property
    def is_write(self) -> bool:
        return self.method in WRITE_METHODS

    # -- copies with one change --------------------------------------------------------
    def _replace(self, **changes: Any) -> ApiRequest:
        fields: dict[str, Any] = {
            "query": dict(self._query),
            "body": self.body,
            "headers": dict(self._headers),
            "response_mode": self.response_mode,
            "idempotency_key": self.idempotency_key,
            "version": self.version,
        }
        fields.update(changes)
        return ApiRequest(self.method, self.path, **fields)

    def with_response_mode(self, mode: str | None) -> ApiRequest:
        """A copy sent with ``prefer_sync``, ``async``, or (None) the server default."""
        return self._replace(response_mode=mode)

    def with_idempotency_key(self, key: str | None = None) -> ApiRequest:
        """A copy with this Idempotency-Key (a fresh uuid4 when none is given)."""
        return self._replace(idempotency_key=key if key is not None else str(uuid.uuid4()))

    def with_query(self, **params: Any) -> ApiRequest:
        """A copy with these query parameters added or replaced."""
        return self._replace(query={**dict(self._query), **params})

    def with_headers(self, **headers: str) -> ApiRequest:
        """A copy with extra headers; underscores become dashes (``X_Sandbox_Fault``)."""
        extra = {k.replace("_", "-"): v for k, v in headers.items()}
        return self._replace(headers={**dict(self._headers), **extra})

    # -- what goes over the wire -------------------------------------------------------
    def wire_body(self, version: str, mode: str | None = None) -> Any:
        """The JSON body to send, with ``response_mode`` placed as ``version`` wants."""
        mode = _check_mode(mode) or self.response_mode
        body = self.body
        if mode is not None and response_mode_placement(self.method, self.path, version) == "body":
            if body is None:
                body = {}
            if not isinstance(body, dict):
                raise InvalidRequest("response_mode needs a JSON object body")
            body = {
                "response_mode": mode,
                **{k: v for k, v in body.items() if k != "response_mode"},
            }
        return body

    def wire_query(self, version: str, mode: str | None = None) -> dict[str, str]:
        """Query parameters to send (without ``access_token``), response_mode included."""
        mode = _check_mode(mode) or self.response_mode
        query = dict(self._query)
        if mode is not None and response_mode_placement(self.method, self.path, version) == "query":
            query["response_mode"] = mode
        return query

    def _preview(self, version: str | None = None) -> tuple[str, dict[str, str], Any]:
        version = version or self.version or DEFAULT_VERSION
        query = redact_query(self.wire_query(version))
        if not self.path.startswith("/jobs/"):
            query["access_token"] = MASK
        qs = "&".join(f"{k}={v}" for k, v in query.items())
        target = f"/versioned{self.path}" + (f"?{qs}" if qs else "")
        headers = {"Authorization": f"Basic {MASK}", "X-Rutter-Version": version}
        body = self.wire_body(version)
        if body is not None:
            headers["Content-Type"] = "application/json"
        if self.idempotency_key:
            headers["Idempotency-Key"] = self.idempotency_key
        elif self.method in IDEMPOTENT_KEY_METHODS:
            headers["Idempotency-Key"] = "<new uuid4 at send>"
        headers.update(redact_headers(self._headers))
        return target, headers, redact_body(body)

    def to_curl(self, base_url: str | None = None, *, version: str | None = None) -> str:
        """A runnable curl command; credentials come from ``$RUTTER_*`` variables."""
        version = version or self.version or DEFAULT_VERSION
        base = base_url.rstrip("/") if base_url else "$RUTTER_BASE_URL"
        query = redact_query(self.wire_query(version))
        params = [f"{k}={v}" for k, v in query.items()]
        if not self.path.startswith("/jobs/"):
            params.append("access_token=$RUTTER_ACCESS_TOKEN")
        url = base + self.path + ("?" + "&".join(params) if params else "")
        parts = [
            "curl",
            "-X",
            self.method,
            f'"{url}"',
            "-u",
            '"$RUTTER_CLIENT_ID:$RUTTER_CLIENT_SECRET"',
        ]
        headers = {"X-Rutter-Version": version, **redact_headers(self._headers)}
        if self.idempotency_key:
            headers["Idempotency-Key"] = self.idempotency_key
        body = self.wire_body(version)
        if body is not None:
            headers["Content-Type"] = "application/json"
        for name, value in headers.items():
            parts += ["-H", shlex.quote(f"{name}: {value}")]
        if body is not None:
            parts += ["--data", shlex.quote(json.dumps(redact_body(body)))]
        return " ".join(parts)

    def __repr__(self) -> str:
        target, headers, body = self._preview()
        lines = [f"<ApiRequest {self.method} {target}>"]
        lines += [f"  {k}: {v}" for k, v in headers.items()]
        if body is not None:
            pretty = json.dumps(body, indent=2, ensure_ascii=False)
            lines.append("  " + pretty.replace("\n", "\n  "))
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        target, headers, body = self._preview()
        esc = html.escape
        rows = "".join(
            f"<tr><th style='text-align:left'>{esc(k)}</th><td><code>{esc(v)}</code></td></tr>"
            for k, v in headers.items()
        )
        pretty = "" if body is None else json.dumps(body, indent=2, ensure_ascii=False)
        return (
            "<div class='rutter-nb-request'>"
            f"<div><b>{esc(self.method)}</b> <code>{esc(target)}</code></div>"
            f"<table>{rows}</table>" + (f"<pre>{esc(pretty)}</pre>" if pretty else "") + "</div>"
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ApiRequest):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def _key(self) -> tuple[Any, ...]:
        return (
            self.method,
            self.path,
            self._query,
            self._body,
            self._headers,
            self.response_mode,
            self.idempotency_key,
            self.version,
        )

    def redacted(self) -> ApiRequest:
        """A copy safe to attach to errors and logs (secret headers/query/body masked)."""
        return ApiRequest(
            self.method,
            self.path,
            query=redact_query(dict(self._query)),
            body=redact_body(self.body),
            headers=redact_headers(self._headers),
            response_mode=self.response_mode,
            idempotency_key=self.idempotency_key,
            version=self.version,
        )


def request(
    method: str,
    path: str,
    *,
    body: Any = None,
    query: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
    response_mode: str | None = None,
    idempotency_key: str | None = None,
) -> ApiRequest:
    """Build a request for any endpoint; ``path`` is relative to the ``/versioned`` base.

    >>> request("PATCH", "/accounting/invoices/abc", body={"invoice": {"memo": "hi"}}).entity
    'invoice'
    """
    return ApiRequest(
        method,
        path,
        body=body,
        query=query,
        headers=headers,
        response_mode=response_mode,
        idempotency_key=idempotency_key,
    )
