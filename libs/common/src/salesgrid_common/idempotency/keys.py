"""The stored idempotency keys: the `idempotency_keys` table (in each service's own database), a
key's id (scoped to the verified principal and the method) and what a valid key is."""

from __future__ import annotations

import hashlib
from datetime import timedelta

from sqlalchemy import Column, LargeBinary, MetaData, String, Table

from salesgrid_common.auth.principal import Principal
from salesgrid_common.db import UtcDateTime
from salesgrid_common.errors import ValidationFailed

TTL = timedelta(hours=48)

idempotency_metadata = MetaData()
idempotency_keys = Table(
    "idempotency_keys",
    idempotency_metadata,
    Column("id", String(64), primary_key=True),  # sha256 of principal, method and key
    Column("method", String(200), nullable=False),
    Column("fingerprint", String(64), nullable=False),  # of the request the key was used for
    Column("response", LargeBinary, nullable=True),  # the serialized answer, or
    Column("status", LargeBinary, nullable=True),  # the google.rpc.Status of a refusal after a write
    Column("created_at", UtcDateTime(), nullable=False, index=True),
)


def key_id(principal: Principal, method: str, key: str) -> str:
    return hashlib.sha256(f"{principal.kind}:{principal.subject_id}\0{method}\0{key}".encode()).hexdigest()


def valid_key(key: str) -> str:
    if not (1 <= len(key) <= 300 and key.isascii() and key.isprintable()):
        raise ValidationFailed("1-300 printable ASCII characters", "Idempotency-Key")
    return key
