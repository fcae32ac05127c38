"""The error raised when an optional extra (``plot``, ``parquet``) is not installed."""

from __future__ import annotations

__all__ = ["MissingExtraError"]


class MissingExtraError(ImportError):
    """An optional dependency is missing; the message names the extra to install."""
