"""Connection settings: arguments first, then ``RUTTER_*`` environment variables.

One frozen object is shared by the sync and async clients (and by the private sync
client a job uses to wait), so both always talk to the same place the same way.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from rutter_nb.errors import ConfigurationError
from rutter_nb.redact import MASK, register_basic_auth, register_secret

__all__ = ["DEFAULT_VERSION", "ENVIRONMENTS", "KNOWN_VERSIONS", "Settings"]

DEFAULT_VERSION = "2024-08-31"
KNOWN_VERSIONS = ("2023-03-14", "2024-04-30", "2024-08-31", "unstable")
ENVIRONMENTS = {
    "production": "https://production.rutterapi.com/versioned",
    "sandbox": "https://sandbox.rutterapi.com/versioned",
}


@dataclass(frozen=True)
class Settings:
    """Where and how to talk to Rutter. Secrets are excluded from ``repr``."""

    base_url: str
    client_id: str
    client_secret: str = field(repr=False)
    access_token: str | None = field(default=None, repr=False)
    version: str = DEFAULT_VERSION
    timeout: float = 30.0
    max_retries: int = 3

    def __post_init__(self) -> None:
        register_secret(self.access_token)
        register_basic_auth(self.client_id, self.client_secret)

    @property
    def auth_header(self) -> str:
        """The Basic header value (registered as a secret, so it is scrubbed everywhere)."""
        return register_basic_auth(self.client_id, self.client_secret)

    def __repr__(self) -> str:
        token = MASK if self.access_token else None
        return (
            f"Settings(base_url={self.base_url!r}, client_id={self.client_id!r}, "
            f"client_secret={MASK!r}, access_token={token!r}, version={self.version!r})"
        )

    @classmethod
    def resolve(
        cls,
        base_url: str | None = None,
        *,
        client_id: str | None = None,
        client_secret: str | None = None,
        access_token: str | None = None,
        version: str | None = None,
        env: str | None = None,
        timeout: float = 30.0,
        max_retries: int = 3,
        environ: Mapping[str, str] | None = None,
    ) -> Settings:
        """Fill missing arguments from ``RUTTER_*`` variables and check them all."""
        environ = os.environ if environ is None else environ
        for name, value in (
            ("base_url", base_url),
            ("client_id", client_id),
            ("client_secret", client_secret),
            ("access_token", access_token),
            ("version", version),
        ):
            if value is not None and not isinstance(value, str):
                raise ConfigurationError(f"{name} must be a string, got {type(value).__name__}")
        if env is not None:
            if env not in ENVIRONMENTS:
                raise ConfigurationError(f"env must be one of {sorted(ENVIRONMENTS)}, got {env!r}")
            if base_url is not None and base_url.rstrip("/") != ENVIRONMENTS[env]:
                raise ConfigurationError("pass either base_url or env, not both")
            base_url = ENVIRONMENTS[env]
        base_url = base_url or environ.get("RUTTER_BASE_URL") or ENVIRONMENTS["production"]
        client_id = client_id or environ.get("RUTTER_CLIENT_ID")
        client_secret = client_secret or environ.get("RUTTER_CLIENT_SECRET")
        access_token = access_token or environ.get("RUTTER_ACCESS_TOKEN") or None
        version = version or environ.get("RUTTER_VERSION") or DEFAULT_VERSION
        if not client_id or not client_secret:
            raise ConfigurationError(
                "no Rutter credentials: pass client_id= and client_secret= or set "
                "RUTTER_CLIENT_ID and RUTTER_CLIENT_SECRET "
                "(rutter_nb.connect() uses the embedded sandbox when none exist)"
            )
        check_base_url(base_url)
        if version not in KNOWN_VERSIONS:
            raise ConfigurationError(
                f"unknown API version {version!r}; known: {', '.join(KNOWN_VERSIONS)}"
            )
        if not isinstance(timeout, int | float) or timeout <= 0:
            raise ConfigurationError(f"timeout must be a positive number, got {timeout!r}")
        if not isinstance(max_retries, int) or max_retries < 0:
            raise ConfigurationError(f"max_retries must be an int >= 0, got {max_retries!r}")
        return cls(
            base_url=base_url.rstrip("/"),
            client_id=client_id,
            client_secret=client_secret,
            access_token=access_token,
            version=version,
            timeout=float(timeout),
            max_retries=max_retries,
        )


def check_base_url(base_url: str) -> None:
    """Reject anything that is not an absolute http(s) URL, with a hint."""
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigurationError(
            f"base_url must be an absolute http(s) URL ending in /versioned, got {base_url!r}"
        )
    if parts.query or parts.fragment:
        raise ConfigurationError("base_url must not carry a query string or fragment")
