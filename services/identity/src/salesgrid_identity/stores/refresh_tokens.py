"""The refresh-token store: the one mapping between a `refresh_tokens` row and the domain
RefreshToken (`token_from_row` / `token_to_row`), the lookup by hash, the insert and the
revocations (one token, a family, a user's every token). Every login and token refresh runs
these, so each statement is built once and its values bound at execution."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid_identity import models
from salesgrid_identity.domain.sessions import RefreshToken

Row = models.RefreshToken
_table = Row.__table__

_BY_HASH = select(Row).where(Row.token_hash == bindparam("token_hash"))
_INSERT = insert(_table)
_REVOKE_ONE = update(_table).where(_table.c.id == bindparam("b_id")).values(revoked_at=bindparam("b_now"))
_REVOKE_FAMILY = (
    update(_table)
    .where(_table.c.family_id == bindparam("b_family_id"), _table.c.revoked_at.is_(None))
    .values(revoked_at=bindparam("b_now"))
)
_REVOKE_USERS = (
    update(_table)
    .where(_table.c.user_id == bindparam("b_user_id"), _table.c.revoked_at.is_(None))
    .values(revoked_at=bindparam("b_now"))
)


def token_from_row(row: Row) -> RefreshToken:
    return RefreshToken(
        id=row.id,
        user_id=row.user_id,
        token_hash=row.token_hash,
        family_id=row.family_id,
        expires_at=row.expires_at,
        created_at=row.created_at,
        revoked_at=row.revoked_at,
    )


def token_to_row(token: RefreshToken) -> dict[str, Any]:
    return {
        "id": token.id,
        "user_id": token.user_id,
        "token_hash": token.token_hash,
        "family_id": token.family_id,
        "expires_at": token.expires_at,
        "revoked_at": token.revoked_at,
        "created_at": token.created_at,
    }


async def token_by_hash(session: AsyncSession, token_hash: str) -> RefreshToken | None:
    row = await session.scalar(_BY_HASH, {"token_hash": token_hash})
    return None if row is None else token_from_row(row)


async def insert_token(session: AsyncSession, token: RefreshToken) -> None:
    await session.execute(_INSERT, token_to_row(token))


async def revoke_token(session: AsyncSession, token: RefreshToken, now: datetime) -> RefreshToken:
    """The token used for a refresh (rotated: it is never valid again)."""
    await session.execute(_REVOKE_ONE, {"b_id": token.id, "b_now": now})
    return replace(token, revoked_at=now)


async def revoke_family(session: AsyncSession, family_id: str, now: datetime) -> None:
    """Every live token of one login's chain (logout; reuse of a rotated token)."""
    await session.execute(_REVOKE_FAMILY, {"b_family_id": family_id, "b_now": now})


async def revoke_users_tokens(session: AsyncSession, user_id: str, now: datetime) -> None:
    """Every live token of a user (he is deactivated)."""
    await session.execute(_REVOKE_USERS, {"b_user_id": user_id, "b_now": now})
