"""Optimistic concurrency on the customer's `version` integer."""

from __future__ import annotations

from .errors import Conflict, ValidationFailed


def check_version(expected: int, actual: int) -> None:
    """Raise Conflict when the caller edited a stale copy (If-Match / expected_version)."""
    if expected < 1:
        raise ValidationFailed("version must be a positive integer", "version")
    if expected != actual:
        raise Conflict.stale_version(
            f"customer was modified concurrently: expected version {expected}, current is {actual}",
            "version",
            current=actual,
            sent=expected,
        )


def next_version(current: int) -> int:
    """Version a successful write stores; new records start at 1."""
    return current + 1
