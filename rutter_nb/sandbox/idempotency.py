"""Idempotency-Key rules: scope, request fingerprint and the replay-or-409 decision.

The decision is made and the key stored in one synchronous step on the event loop, so
concurrent requests with one key cannot both create a job.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from .errors import ApiError

MAX_KEY_LENGTH = 255
KEY_PATTERN = re.compile(f"[!-~]{{1,{MAX_KEY_LENGTH}}}")


def scope(client_id: str, token_hash: str) -> str:
    """Keys are scoped per client and per connection (access token)."""
    return f"{client_id}|{token_hash}"


def fingerprint(method: str, path: str, body: Any) -> str:
    """A digest of what makes two requests "the same": method, path and parsed body."""
    canonical = json.dumps([method.upper(), path, body], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def check_key(key: str) -> str:
    """Reject keys that cannot be stored sensibly (a 400 before acceptance).

    [ours] 1..255 visible ASCII characters (a UUID fits); `/openapi.json` says the same.
    """
    if not KEY_PATTERN.fullmatch(key):
        raise ApiError(
            400,
            "INVALID_REQUEST",
            "INVALID_IDEMPOTENCY_KEY",
            f"Idempotency-Key must be 1..{MAX_KEY_LENGTH} visible ASCII characters",
        )
    return key


def replay_job_id(stored: tuple[str, str] | None, current: str) -> str | None:
    """The job id to replay for a stored key, None for a new key; 409 on a mismatch."""
    if stored is None:
        return None
    stored_fingerprint, job_id = stored
    if stored_fingerprint != current:
        raise ApiError(
            409,
            "IDEMPOTENCY_ERROR",
            "IDEMPOTENCY_KEY_REUSED",
            "This Idempotency-Key was used with a different method, path or body",
        )
    return job_id
