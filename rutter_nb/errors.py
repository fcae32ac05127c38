"""Typed errors: one class per way a Rutter call can fail, all under :class:`RutterError`.

Callers branch on the class (or on ``error_type``/``error_code``, as Rutter advises), never
on the message. Every message is passed through :func:`rutter_nb.redact.scrub`, and the
attached ``request`` is the redacted :class:`~rutter_nb.requests.ApiRequest`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rutter_nb.redact import scrub

if TYPE_CHECKING:
    from rutter_nb.jobs import Job
    from rutter_nb.requests import ApiRequest

__all__ = [
    "AuthenticationError",
    "ConfigurationError",
    "IdempotencyConflict",
    "InvalidRequest",
    "JobTimeout",
    "NotFound",
    "PlatformError",
    "PlatformRateLimited",
    "RateLimited",
    "ResponseFormatError",
    "RutterError",
    "ServerError",
    "TransportError",
    "UnknownJobStatus",
    "ValidationError",
    "error_class_for_status",
]


class RutterError(Exception):
    """Base of every rutter_nb error; carries Rutter's error fields and the request."""

    def __init__(
        self,
        message: str | None = None,
        *,
        http_status: int | None = None,
        error_type: str | None = None,
        error_code: str | None = None,
        error_message: str | None = None,
        request: ApiRequest | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.http_status = http_status
        self.error_type = error_type
        self.error_code = error_code
        self.error_message = scrub(error_message) if error_message is not None else None
        self.request = request
        self.retry_after = retry_after
        text = message if message is not None else self._default_message()
        super().__init__(scrub(text))

    def _default_message(self) -> str:
        head = f"HTTP {self.http_status}" if self.http_status is not None else type(self).__name__
        if self.error_type or self.error_code:
            head += f" {self.error_type or '?'}/{self.error_code or '?'}"
        if self.error_message:
            head += f": {self.error_message}"
        if self.request is not None:
            head += f" ({self.request.method} {self.request.path})"
        return head

    def to_dict(self) -> dict[str, Any]:
        """Rutter's error object plus our class name, safe to store or show."""
        return {
            "class": type(self).__name__,
            "http_status": self.http_status,
            "error_type": self.error_type,
            "error_code": self.error_code,
            "error_message": self.error_message,
        }

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"


class AuthenticationError(RutterError):
    """401: the client id/secret or access token was refused."""


class ValidationError(RutterError):
    """400: Rutter rejected the input before accepting it."""


class IdempotencyConflict(RutterError):
    """409: the Idempotency-Key was already used with a different request."""


class NotFound(RutterError):
    """404 or 410: unknown route, unsupported call, or unknown id."""


class RateLimited(RutterError):
    """429: Rutter's own rate limit; ``retry_after`` holds the advised wait, if any."""


class PlatformError(RutterError):
    """450: the accounting platform rejected the input."""


class PlatformRateLimited(RutterError):
    """452: the accounting platform's rate limit."""


class ServerError(RutterError):
    """5xx: Rutter failed and the outcome is unknown."""


class TransportError(RutterError):
    """The HTTP exchange itself failed (connection refused, dropped, timed out)."""


class ResponseFormatError(RutterError):
    """A reply that does not follow the protocol (bad JSON, missing fields)."""


class ConfigurationError(RutterError, ValueError):
    """Missing or contradictory settings (credentials, base URL, version)."""


class InvalidRequest(RutterError, TypeError, ValueError):
    """A request that cannot be built: missing, mistyped or misspelled fields."""


class JobTimeout(RutterError, TimeoutError):
    """``wait()`` ran out of time; the job is untouched and can be waited on again."""

    def __init__(self, message: str, *, job: Job | None = None) -> None:
        super().__init__(message)
        self.job = job


class UnknownJobStatus(RutterError):
    """The server reported a job status this client does not know; polling stopped."""

    def __init__(self, message: str, *, status: str, job: Job | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.job = job


_BY_STATUS: dict[int, type[RutterError]] = {
    400: ValidationError,
    401: AuthenticationError,
    404: NotFound,
    409: IdempotencyConflict,
    410: NotFound,
    429: RateLimited,
    450: PlatformError,
    452: PlatformRateLimited,
}


def error_class_for_status(status: int) -> type[RutterError]:
    """The error class for an HTTP status (unknown 4xx map to :class:`RutterError`)."""
    if status >= 500:
        return ServerError
    return _BY_STATUS.get(status, RutterError)
