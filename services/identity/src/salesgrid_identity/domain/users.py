"""The user aggregate: a person who signs in, his place in the org tree, his roles and his
sign-in state (password, failures, lock)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from . import lockout

MAX_LOGIN_LENGTH = 100


@dataclass(frozen=True)
class User:
    id: str
    login: str
    display_name: str
    email: str
    unit_id: str
    manager_id: str | None
    roles: tuple[str, ...]
    password_hash: str
    password_changed_at: datetime
    created_at: datetime
    must_change_password: bool = True
    failed_attempts: int = 0
    locked_until: datetime | None = None
    active: bool = True
    version: int = 1

    def after_failed_login(self, policy: lockout.LockoutPolicy, now: datetime) -> User:
        """One more failed attempt; locked once the policy's count is reached."""
        failures, locked_until = lockout.after_failure(self.failed_attempts, policy, now)
        return replace(self, failed_attempts=failures, locked_until=locked_until)

    def unlocked(self) -> User:
        """No failures and no lock (a successful login, or an administrator's unlock)."""
        return replace(self, failed_attempts=0, locked_until=None)

    def with_password(self, password_hash: str, now: datetime, *, temporary: bool = False) -> User:
        return replace(self, password_hash=password_hash, password_changed_at=now, must_change_password=temporary)


def normalise_login(raw: str) -> str:
    """Logins compare case-insensitively: trimmed and lower-cased."""
    return raw.strip().lower()


def login_violations(login: str) -> list[tuple[str, str]]:
    """The problems of a (normalised) login: 1-100 characters without spaces."""
    if not login or len(login) > MAX_LOGIN_LENGTH or any(c.isspace() for c in login):
        return [("login", f"must be 1-{MAX_LOGIN_LENGTH} characters without spaces")]
    return []
