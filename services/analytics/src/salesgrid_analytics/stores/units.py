"""The org units reports are read for, from the directory replica: a unit's calendar and
currency, the defaults of a report on its subtree."""

from __future__ import annotations

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid_analytics.domain import orgpath
from salesgrid_common.directory_tables import directory_units

# built once, bound at execution (every report resolves its view through it)
_SETTINGS = select(directory_units.c.time_zone, directory_units.c.currency).where(
    directory_units.c.unit_id == bindparam("unit_id")
)


async def settings(session: AsyncSession, subtree: str) -> tuple[str | None, str | None]:
    """The time zone and currency of the unit at the end of `subtree` (None for what is not known:
    the root, or a unit not replicated yet), in one query."""
    units = orgpath.segments(subtree)
    if not units:
        return None, None
    found = (await session.execute(_SETTINGS, {"unit_id": units[-1]})).first()
    return (None, None) if found is None else (found.time_zone, found.currency)
