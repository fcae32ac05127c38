"""The embedded Rutter-compatible sandbox server (imports nothing from the client side).

Example::

    from rutter_nb.sandbox import Sandbox

    with Sandbox(port=0, db=":memory:", job_duration=(0.05, 0.2), seed=1) as sb:
        print(sb.base_url)
"""

from __future__ import annotations

from .config import FAULT_KINDS, VERSIONS, SandboxConfig, SandboxConfigError
from .server import Sandbox, SandboxError
from .webhooks import sign

__all__ = [
    "FAULT_KINDS",
    "VERSIONS",
    "Sandbox",
    "SandboxConfig",
    "SandboxConfigError",
    "SandboxError",
    "sign",
]
