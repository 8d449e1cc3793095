"""Lockout after repeated login failures, per account and per source address."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class LockoutPolicy:
    max_failures_per_account: int = 5
    max_failures_per_ip: int = 20
    window: timedelta = timedelta(minutes=15)  # failures older than this are forgotten (per IP)
    lock_duration: timedelta = timedelta(minutes=15)


def is_locked(locked_until: datetime | None, now: datetime) -> bool:
    return locked_until is not None and locked_until > now


def after_failure(failures: int, policy: LockoutPolicy, now: datetime) -> tuple[int, datetime | None]:
    """New failure count and lock expiry (None if not locked) after one more failed attempt."""
    failures += 1
    if failures >= policy.max_failures_per_account:
        return failures, now + policy.lock_duration
    return failures, None


def ip_blocked(recent_failures_from_ip: int, policy: LockoutPolicy) -> bool:
    return recent_failures_from_ip >= policy.max_failures_per_ip
