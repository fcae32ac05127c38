"""The one place secrets are masked.

Everything that leaves rutter_nb as text (reprs, HTML, curl commands, log records,
exception messages, job tokens, DataFrames) goes through these helpers, so a secret can
only leak if someone bypasses them. Two mechanisms work together:

* structural masking: header names (``Authorization``...), query parameters
  (``access_token``...) and body keys (``client_secret``...) known to hold secrets;
* value scrubbing: every secret a client is configured with is registered here with
  :func:`register_secret`, and :func:`scrub` replaces it (and its Basic-auth encoding)
  wherever it appears in free text.
"""

from __future__ import annotations

import base64
import logging
import re
import threading
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

__all__ = [
    "MASK",
    "RedactingFilter",
    "get_logger",
    "is_secret_key",
    "redact_body",
    "redact_headers",
    "redact_query",
    "redact_url",
    "register_basic_auth",
    "register_secret",
    "scrub",
]

MASK = "***"
"""What a secret is replaced with, everywhere."""

_SECRET_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "cookie", "set-cookie", "x-rutter-signature"}
)
_SECRET_KEYS = frozenset(
    {
        "access_token",
        "client_secret",
        "secret",
        "password",
        "refresh_token",
        "api_key",
        "apikey",
        "token",
        "authorization",
        "public_key",
    }
)
# Secrets shorter than this are not scrubbed from free text: masking "a" everywhere
# would destroy the text and protect nothing.
_MIN_SECRET_LEN = 6
_AUTH_VALUE = re.compile(r"\b(Basic|Bearer) [A-Za-z0-9._~+/-]{8,}=*")
_TOKEN_IN_TEXT = re.compile(
    r"((?:access_token|client_secret|refresh_token)[\"']?\s*[=:]\s*[\"']?)([^\s&\"',;}]+)",
    re.IGNORECASE,
)

_lock = threading.Lock()
_secrets: set[str] = set()


def register_secret(*values: str | None) -> None:
    """Remember secret values so :func:`scrub` masks them in any text from now on.

    Clients call this with their client secret, access token and Basic credentials; the
    base64 forms of ``id:secret`` pairs are registered by :func:`basic_auth_header` users.
    """
    with _lock:
        for value in values:
            if value and len(value) >= _MIN_SECRET_LEN:
                _secrets.add(value)


def register_basic_auth(client_id: str, client_secret: str) -> str:
    """Register a client secret and its Basic-auth encoding; return the header value."""
    token = base64.b64encode(f"{client_id}:{client_secret}".encode()).decode("ascii")
    register_secret(client_secret, token)
    return f"Basic {token}"


def _scrub_known(text: str) -> str:
    with _lock:
        known = sorted(_secrets, key=len, reverse=True)
    for secret in known:
        if secret in text:
            text = text.replace(secret, MASK)
    return text


def scrub(text: str) -> str:
    """Mask every registered secret, auth header value and ``access_token=...`` in text."""
    text = _scrub_known(text)
    text = _AUTH_VALUE.sub(lambda m: f"{m.group(1)} {MASK}", text)
    return _TOKEN_IN_TEXT.sub(lambda m: f"{m.group(1)}{MASK}", text)


def is_secret_key(name: str) -> bool:
    """True for a header, query or body key whose value must never be shown."""
    lowered = name.lower()
    return lowered in _SECRET_HEADERS or lowered.replace("-", "_") in _SECRET_KEYS


def redact_headers(headers: Mapping[str, str] | Iterable[tuple[str, str]]) -> dict[str, str]:
    """Copy headers with secret values masked (names kept, so the shape stays visible)."""
    items = headers.items() if isinstance(headers, Mapping) else headers
    return {k: (MASK if is_secret_key(k) else scrub(str(v))) for k, v in items}


def redact_query(query: Mapping[str, Any]) -> dict[str, Any]:
    """Copy query parameters with secret values masked."""
    return {k: (MASK if is_secret_key(k) else v) for k, v in query.items()}


def redact_url(url: str) -> str:
    """Mask secret query parameters and any userinfo password in a URL."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}:{MASK}@{host}" if ":" in userinfo else f"{user}@{host}"
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    query = urlencode([(k, MASK if is_secret_key(k) else v) for k, v in pairs], safe="*")
    return scrub(urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment)))


def redact_body(body: Any) -> Any:
    """Deep-copy a JSON-like value with secret keys masked and secret values scrubbed."""
    if isinstance(body, Mapping):
        return {
            k: (MASK if isinstance(k, str) and is_secret_key(k) else redact_body(v))
            for k, v in body.items()
        }
    if isinstance(body, list | tuple):
        return [redact_body(v) for v in body]
    if isinstance(body, str):
        return _scrub_known(body)  # user text: only known secrets, no pattern guessing
    return body


class RedactingFilter(logging.Filter):
    """Scrub secrets from a log record's rendered message before any handler sees it."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string must not break logging
            message = str(record.msg)
        record.msg = scrub(message)
        record.args = None
        return True


_configured: set[str] = set()
# Libraries that log full request URLs (and so Rutter's access_token query parameter) at
# INFO/DEBUG. A scrubbing filter on their loggers changes nothing else about them.
_LIBRARY_LOGGERS = ("httpx", "httpcore")


def get_logger(name: str = "rutter_nb") -> logging.Logger:
    """The package logger (or a child), silent by default and always scrubbed.

    A ``NullHandler`` on ``rutter_nb`` stops Python's last-resort handler from printing
    to stderr; users opt in with ``logging.basicConfig`` or their own handler. httpx and
    httpcore log request URLs, which carry the access token, so their loggers get the
    same scrubbing filter.
    """
    root = logging.getLogger("rutter_nb")
    logger = logging.getLogger(name)
    with _lock:
        if "rutter_nb" not in _configured:
            root.addHandler(logging.NullHandler())
            _configured.add("rutter_nb")
        for lib in (name, *_LIBRARY_LOGGERS):
            target = logging.getLogger(lib)
            if not any(isinstance(f, RedactingFilter) for f in target.filters):
                target.addFilter(RedactingFilter())
            _configured.add(lib)
    return logger
