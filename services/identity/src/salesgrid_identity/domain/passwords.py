"""Password policy and Argon2id hashing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from importlib import resources

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from salesgrid_common.errors import ValidationFailed

_hasher = PasswordHasher()  # Argon2id with the library's current recommended parameters


@dataclass(frozen=True)
class PasswordPolicy:
    min_length: int = 10
    max_length: int = 128
    expiry_days: int | None = 90  # None: passwords never expire


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    text = resources.files("salesgrid_identity").joinpath("data/common-passwords.txt").read_text("utf-8")
    return frozenset(line.strip().lower() for line in text.splitlines() if line.strip())


def check_password(password: str, login: str, policy: PasswordPolicy, field: str = "password") -> None:
    if len(password) < policy.min_length:
        raise ValidationFailed(f"must be at least {policy.min_length} characters", field)
    if len(password) > policy.max_length:
        raise ValidationFailed(f"must be at most {policy.max_length} characters", field)
    lowered = password.lower()
    if login and login.lower() in lowered:
        raise ValidationFailed("must not contain the login", field)
    if lowered in common_passwords():
        raise ValidationFailed("is a commonly used password", field)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


# A hash of a throwaway secret: verified against for unknown logins so that response time does
# not reveal whether a login exists.
DUMMY_HASH = _hasher.hash("salesgrid-no-such-user")


def is_expired(changed_at: datetime, policy: PasswordPolicy, now: datetime) -> bool:
    return policy.expiry_days is not None and now - changed_at > timedelta(days=policy.expiry_days)
