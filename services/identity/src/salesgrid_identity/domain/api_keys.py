"""Partner API keys: `sg_` + random body + CRC32 checksum, so a leaked key is recognisable by
scanners and a mistyped one is refused before any lookup. Only a SHA-256 hash is stored."""

from __future__ import annotations

import hashlib
import secrets
import string
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from salesgrid_common.errors import ValidationFailed

PREFIX = "sg_"
_ALPHABET = string.ascii_letters + string.digits
_BODY_LENGTH = 36
_CHECKSUM_LENGTH = 6


@dataclass(frozen=True)
class ApiKey:
    """A partner's key: its own permissions (scope names by permission) within one unit."""

    id: str
    name: str
    prefix: str  # shown to tell keys apart; the secret itself is never stored
    key_hash: str
    unit_id: str
    created_by: str
    created_at: datetime
    permissions: Mapping[str, str] = field(default_factory=dict, hash=False)
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None
    rate_limit_per_minute: int | None = None  # None: the gateway's default

    def usable(self, now: datetime) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)


def _base62(number: int, width: int) -> str:
    digits = []
    for _ in range(width):
        number, rem = divmod(number, 62)
        digits.append(_ALPHABET[rem])
    return "".join(reversed(digits))


def _checksum(body: str) -> str:
    return _base62(zlib.crc32(body.encode()), _CHECKSUM_LENGTH)


def generate() -> str:
    body = "".join(secrets.choice(_ALPHABET) for _ in range(_BODY_LENGTH))
    return f"{PREFIX}{body}{_checksum(body)}"


def well_formed(key: str) -> bool:
    if not key.startswith(PREFIX) or len(key) != len(PREFIX) + _BODY_LENGTH + _CHECKSUM_LENGTH:
        return False
    body = key[len(PREFIX) : len(PREFIX) + _BODY_LENGTH]
    return all(c in _ALPHABET for c in body) and key.endswith(_checksum(body))


def key_hash(key: str) -> str:
    # Keys carry ~214 bits of entropy: a fast hash suffices (no dictionary to attack).
    return hashlib.sha256(key.encode()).hexdigest()


def display_prefix(key: str) -> str:
    return key[:10]


MAX_RATE_LIMIT = 1_000_000


def check_rate_limit(per_minute: int) -> None:
    """A key's own limit: 1..1,000,000 requests a minute, or 0 for the gateway's default."""
    if per_minute < 0 or per_minute > MAX_RATE_LIMIT:
        raise ValidationFailed(f"must be between 1 and {MAX_RATE_LIMIT} (0 = the default)", "rate_limit_per_minute")
