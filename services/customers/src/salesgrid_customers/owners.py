"""Names and units of record owners, from this service's directory replica (never a call to
identity per request): import errors and share requests show them (the duplicate check reads
them with its candidates: stores/duplicates.py)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid_common.directory_tables import directory_units, directory_users
from salesgrid_customers.domain.dedup import OwnerInfo


async def owners_of(session: AsyncSession, user_ids: Iterable[str]) -> dict[str, OwnerInfo]:
    """One query for any number of owners; an owner the replica does not know yet is left out."""
    ids = sorted({i for i in user_ids if i})
    if not ids:
        return {}
    rows = (
        await session.execute(
            select(
                directory_users.c.user_id,
                directory_users.c.display_name,
                directory_users.c.unit_id,
                directory_units.c.name,
            )
            .outerjoin(directory_units, directory_units.c.unit_id == directory_users.c.unit_id)
            .where(directory_users.c.user_id.in_(ids))
        )
    ).all()
    return {user_id: OwnerInfo(name, unit_id, unit_name or "") for user_id, name, unit_id, unit_name in rows}
