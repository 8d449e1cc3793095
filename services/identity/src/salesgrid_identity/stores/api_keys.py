"""The API-key store: the one mapping between an `api_keys` row and the domain ApiKey
(`api_key_from_row` / `api_key_to_row`), lookups, inserts and writes of use and revocation
(keys carry no version: nobody edits them)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid_common.auth.principal import Principal
from salesgrid_common.auth.scope_filters import scope_filter
from salesgrid_identity import models
from salesgrid_identity.domain.api_keys import ApiKey

Row = models.ApiKey


def api_key_from_row(row: Row) -> ApiKey:
    return ApiKey(
        id=row.id,
        name=row.name,
        prefix=row.prefix,
        key_hash=row.key_hash,
        unit_id=row.unit_id,
        created_by=row.created_by,
        created_at=row.created_at,
        permissions=dict(row.permissions or {}),
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        last_used_at=row.last_used_at,
        rate_limit_per_minute=row.rate_limit_per_minute,
    )


def api_key_to_row(key: ApiKey) -> dict[str, Any]:
    return {
        "id": key.id,
        "name": key.name,
        "prefix": key.prefix,
        "key_hash": key.key_hash,
        "unit_id": key.unit_id,
        "permissions": dict(key.permissions),
        "expires_at": key.expires_at,
        "revoked_at": key.revoked_at,
        "last_used_at": key.last_used_at,
        "created_by": key.created_by,
        "created_at": key.created_at,
        "rate_limit_per_minute": key.rate_limit_per_minute,
    }


async def get_api_key(session: AsyncSession, key_id: str) -> ApiKey | None:
    row = await session.get(Row, key_id)
    return None if row is None else api_key_from_row(row)


# Built once, bound at execution, a plain row (Core): every API key's token exchange runs it.
_BY_HASH = select(Row.__table__).where(Row.__table__.c.key_hash == bindparam("key_hash"))


async def api_key_by_hash(session: AsyncSession, key_hash: str) -> ApiKey | None:
    row = (await session.execute(_BY_HASH, {"key_hash": key_hash})).first()
    return None if row is None else api_key_from_row(row)


async def api_keys_in_scope(session: AsyncSession, principal: Principal, permission: str) -> list[ApiKey]:
    """The keys `permission` lets `principal` see (by creator and the key's unit), oldest first."""
    stmt = (
        select(Row)
        .join(models.OrgUnit, Row.unit_id == models.OrgUnit.id)
        .where(scope_filter(principal, permission, Row.created_by, models.OrgUnit.path))
        .order_by(Row.id)
    )
    return [api_key_from_row(row) for row in (await session.scalars(stmt)).all()]


async def insert_api_key(session: AsyncSession, key: ApiKey) -> None:
    session.add(Row(**api_key_to_row(key)))


async def save_api_key(session: AsyncSession, before: ApiKey, after: ApiKey) -> ApiKey:
    """Store what changed (its last use, its revocation)."""
    old, new = api_key_to_row(before), api_key_to_row(after)
    if changed := {name: value for name, value in new.items() if value != old[name]}:
        await session.execute(update(Row).where(Row.id == before.id).values(**changed))
    return after
