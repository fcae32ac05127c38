"""The one exception a sandbox handler raises to answer with Rutter's error body."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """An error reply: HTTP status plus `error_type`/`error_code`/`error_message`."""

    def __init__(
        self,
        status: int,
        error_type: str,
        error_code: str,
        message: str,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error_type = error_type
        self.error_code = error_code
        self.message = message
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        """The JSON body Rutter sends with every error."""
        return error_body(self.error_type, self.error_code, self.message)


def error_body(error_type: str, error_code: str, message: str) -> dict[str, Any]:
    """Rutter's error shape; clients branch on type and code, never on the message."""
    return {"error_type": error_type, "error_code": error_code, "error_message": message}


def bad_request(code: str, message: str) -> ApiError:
    """A 400 for input rejected before acceptance (nothing is stored)."""
    return ApiError(400, "INVALID_REQUEST", code, message)
