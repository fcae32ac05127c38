"""Sandbox settings: one frozen dataclass plus parsers for the CLI's string forms.

Every setting is also a `Sandbox(...)` keyword and a `rutter-nb sandbox` flag; the
runtime-changeable ones can be replaced later through `Sandbox.configure(...)` or
`POST /_sandbox/config`.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

#: Fault kinds the sandbox can inject (see `docs/architecture.md`).
FAULT_KINDS = ("error_before_accept", "error_after_accept", "drop_connection", "slow")

#: API versions the sandbox answers; money is a decimal string only in 2023-03-14.
VERSIONS = ("2023-03-14", "2024-04-30", "2024-08-31", "unstable")

#: Settings that may change while the sandbox runs.
RUNTIME_FIELDS = (
    "faults",
    "failure_rate",
    "webhook_urls",
    "sync_window",
    "job_duration",
    "rate_limit",
    "platform_rate",
    "slow_seconds",
    "webhook_backoff",
)

DEMO_CLIENT_ID = "sandbox-client-id"
DEMO_CLIENT_SECRET = "sandbox-client-secret"
DEMO_ACCESS_TOKEN = "sandbox-access-token"


class SandboxConfigError(ValueError):
    """A sandbox setting is malformed or out of range; the message names the setting."""


@dataclass(frozen=True)
class SandboxConfig:
    """All sandbox settings, validated on construction (`SandboxConfigError` otherwise)."""

    host: str = "127.0.0.1"
    port: int = 0
    db: str | None = None
    client_id: str = DEMO_CLIENT_ID
    client_secret: str = field(default=DEMO_CLIENT_SECRET, repr=False)
    access_token: str = field(default=DEMO_ACCESS_TOKEN, repr=False)
    sync_window: float = 30.0
    job_duration: tuple[float, float] = (0.5, 3.0)
    failure_rate: float = 0.0
    rate_limit: tuple[int, float] = (500, 10.0)
    # [ours] Rutter documents no number for a platform's own limit; 60 writes/s per
    # connection keeps Rutter's organisation limit the binding one for a polite batch.
    platform_rate: tuple[int, float] = (60, 1.0)
    webhook_urls: tuple[str, ...] = ()
    seed: int | None = None
    faults: Mapping[str, float] = field(default_factory=dict)
    # [ours] how long the `slow` fault holds a reply back.
    slow_seconds: float = 5.0
    # [ours] first webhook retry delay; doubled on each of up to 6 retries.
    webhook_backoff: float = 0.5
    webhook_retries: int = 6
    max_body_bytes: int = 1_048_576
    idempotency_ttl: float = 24 * 3600.0

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "port", _port(self.port))
        set_(self, "sync_window", _non_negative("sync_window", self.sync_window))
        set_(self, "job_duration", parse_duration(self.job_duration))
        set_(self, "failure_rate", _probability("failure_rate", self.failure_rate))
        set_(self, "rate_limit", parse_rate(self.rate_limit, "rate_limit"))
        set_(self, "platform_rate", parse_rate(self.platform_rate, "platform_rate"))
        set_(self, "webhook_urls", _urls(self.webhook_urls))
        set_(self, "faults", parse_faults(self.faults))
        set_(self, "slow_seconds", _non_negative("slow_seconds", self.slow_seconds))
        set_(self, "webhook_backoff", _non_negative("webhook_backoff", self.webhook_backoff))
        if not isinstance(self.webhook_retries, int) or self.webhook_retries < 0:
            raise SandboxConfigError("webhook_retries must be a non-negative integer")
        if self.seed is not None and (
            isinstance(self.seed, bool) or not isinstance(self.seed, int)
        ):
            raise SandboxConfigError(f"seed must be an integer, got {self.seed!r}")
        for name in ("host", "client_id", "client_secret", "access_token"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value or (":" in value and name == "client_id"):
                raise SandboxConfigError(f"{name} must be a non-empty string (no ':' in client_id)")
        if self.db is not None and not isinstance(self.db, str):
            set_(self, "db", str(self.db))

    def replace(self, **changes: Any) -> SandboxConfig:
        """A copy with runtime-changeable settings replaced (others are refused)."""
        unknown = sorted(set(changes) - set(RUNTIME_FIELDS))
        if unknown:
            raise SandboxConfigError(
                f"cannot change {', '.join(unknown)} at runtime; "
                f"changeable: {', '.join(RUNTIME_FIELDS)}"
            )
        return dataclasses.replace(self, **changes)

    def public(self) -> dict[str, Any]:
        """The settings as JSON, without the client secret or access token."""
        return {
            "host": self.host,
            "port": self.port,
            "client_id": self.client_id,
            "sync_window": self.sync_window,
            "job_duration": list(self.job_duration),
            "failure_rate": self.failure_rate,
            "rate_limit": f"{self.rate_limit[0]}/{_num(self.rate_limit[1])}",
            "platform_rate": f"{self.platform_rate[0]}/{_num(self.platform_rate[1])}",
            "webhook_urls": list(self.webhook_urls),
            "seed": self.seed,
            "faults": dict(self.faults),
            "slow_seconds": self.slow_seconds,
            "webhook_backoff": self.webhook_backoff,
        }


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _port(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 65535:
        raise SandboxConfigError(f"port must be an integer 0..65535, got {value!r}")
    return value


def _number(name: str, value: object) -> float:
    if isinstance(value, bool):
        raise SandboxConfigError(f"{name} must be a number, got {value!r}")
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise SandboxConfigError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(number):
        raise SandboxConfigError(f"{name} must be finite, got {value!r}")
    return number


def _non_negative(name: str, value: object) -> float:
    number = _number(name, value)
    if number < 0:
        raise SandboxConfigError(f"{name} must be >= 0, got {value!r}")
    return number


def _probability(name: str, value: object) -> float:
    number = _number(name, value)
    if not 0.0 <= number <= 1.0:
        raise SandboxConfigError(f"{name} must be a probability in [0, 1], got {value!r}")
    return number


def parse_duration(value: object) -> tuple[float, float]:
    """`"0.5:3"`, `"2"`, `2` or `(0.5, 3)` -> `(min, max)` seconds."""
    if isinstance(value, str):
        parts = value.split(":")
        if len(parts) not in (1, 2):
            raise SandboxConfigError(f"job_duration must be MIN:MAX seconds, got {value!r}")
        low, high = (parts[0], parts[-1])
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        low = high = value  # type: ignore[assignment]
    elif isinstance(value, (tuple, list)) and len(value) == 2:
        low, high = value
    else:
        raise SandboxConfigError(f"job_duration must be MIN:MAX seconds, got {value!r}")
    pair = (_non_negative("job_duration", low), _non_negative("job_duration", high))
    if pair[0] > pair[1]:
        raise SandboxConfigError(f"job_duration MIN must not exceed MAX, got {value!r}")
    return pair


def parse_rate(value: object, name: str = "rate_limit") -> tuple[int, float]:
    """`"500/10"` or `(500, 10)` -> `(requests, seconds)`."""
    if isinstance(value, str):
        count, sep, seconds = value.partition("/")
        if not sep:
            raise SandboxConfigError(f"{name} must be N/SECONDS, got {value!r}")
        pair: Any = (count, seconds)
    elif isinstance(value, (tuple, list)) and len(value) == 2:
        pair = value
    else:
        raise SandboxConfigError(f"{name} must be N/SECONDS, got {value!r}")
    try:
        count_i = int(pair[0])
    except (TypeError, ValueError):
        raise SandboxConfigError(f"{name} must be N/SECONDS, got {value!r}") from None
    window = _number(name, pair[1])
    if count_i < 1 or window <= 0:
        raise SandboxConfigError(f"{name} needs N >= 1 and SECONDS > 0, got {value!r}")
    return count_i, window


def parse_fault(text: str) -> tuple[str, float]:
    """`"slow=0.1"` -> `("slow", 0.1)`."""
    kind, sep, prob = text.partition("=")
    if not sep:
        raise SandboxConfigError(f"fault must be KIND=P, got {text!r}")
    return _fault_kind(kind.strip()), _probability(f"fault {kind}", prob)


def _fault_kind(kind: str) -> str:
    if kind not in FAULT_KINDS:
        raise SandboxConfigError(f"unknown fault kind {kind!r}; known: {', '.join(FAULT_KINDS)}")
    return kind


def parse_faults(value: Mapping[str, object] | Iterable[str] | None) -> dict[str, float]:
    """A mapping or `KIND=P` strings -> `{kind: probability}`; their sum must be <= 1."""
    if value is None:
        return {}
    if isinstance(value, Mapping):
        faults = {_fault_kind(str(k)): _probability(f"fault {k}", v) for k, v in value.items()}
    elif isinstance(value, (str, bytes)):
        raise SandboxConfigError("faults must be a mapping or a list of KIND=P strings")
    else:
        faults = dict(parse_fault(str(item)) for item in value)
    if sum(faults.values()) > 1.0 + 1e-9:
        raise SandboxConfigError("fault probabilities must sum to at most 1")
    return faults


def _urls(value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        value = (value,)
    if not isinstance(value, (tuple, list)):
        raise SandboxConfigError("webhook_urls must be a list of http(s) URLs")
    for url in value:
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise SandboxConfigError(f"webhook URL must start with http:// or https://: {url!r}")
    return tuple(value)
