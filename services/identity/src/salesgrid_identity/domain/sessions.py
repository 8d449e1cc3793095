"""A signed-in session's refresh token. Each refresh rotates it: the used token is revoked and a
new one of the same family (one login's chain of rotations) issued; a revoked token used again
means a stolen copy, and the whole family is revoked."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime


def refresh_hash(token: str) -> str:
    """Only this hash of a refresh token is stored."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class RefreshToken:
    id: str
    user_id: str
    token_hash: str
    family_id: str
    expires_at: datetime
    created_at: datetime
    revoked_at: datetime | None = None

    def expired(self, now: datetime) -> bool:
        return self.expires_at <= now
