"""Lockout of one account after repeated login failures (addresses are throttled instead:
domain/throttling.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class LockoutPolicy:
    max_failures_per_account: int = 5
    lock_duration: timedelta = timedelta(minutes=15)


def is_locked(locked_until: datetime | None, now: datetime) -> bool:
    return locked_until is not None and locked_until > now


def after_failure(failures: int, policy: LockoutPolicy, now: datetime) -> tuple[int, datetime | None]:
    """New failure count and lock expiry (None if not locked) after one more failed attempt."""
    failures += 1
    if failures >= policy.max_failures_per_account:
        return failures, now + policy.lock_duration
    return failures, None
