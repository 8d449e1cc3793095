"""The local calendar of an org unit: the pure rules are in `salesgrid_common.zones` (re-exported
here, so existing imports keep working); this module adds the one asynchronous lookup,
`unit_calendar`, which reads the service's directory replica (see `salesgrid_common.directory`)
to find a unit's zone.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid_common.directory_tables import directory_units, directory_users
from salesgrid_common.zones import (
    DEFAULT_ZONE,
    UTC_CALENDAR,
    LocalCalendar,
    _instant,
    add_local_days,
    at_local_time,
    calendar_for,
    day_bounds,
    earliest_local_date,
    end_of_local_day,
    latest_local_date,
    local_date,
    local_day_window,
    zone,
)

__all__ = [
    "DEFAULT_ZONE",
    "UTC_CALENDAR",
    "LocalCalendar",
    "UnitCalendars",
    "add_local_days",
    "at_local_time",
    "calendar_for",
    "day_bounds",
    "earliest_local_date",
    "end_of_local_day",
    "latest_local_date",
    "local_date",
    "local_day_window",
    "unit_calendar",
    "unit_zone",
    "user_calendar",
    "zone",
    "_instant",
]


# --- zone lookup in the service's directory replica ------------------------------------------


async def unit_zone(session: AsyncSession, unit_id: str | None) -> str | None:
    """The replicated zone of org unit `unit_id` (None if the unit is not replicated yet)."""
    if not unit_id:
        return None
    return await session.scalar(select(directory_units.c.time_zone).where(directory_units.c.unit_id == unit_id))


async def unit_calendar(session: AsyncSession, unit_id: str | None, fallback_zone: str | None = None) -> LocalCalendar:
    """The calendar of org unit `unit_id`; `fallback_zone` (e.g. the user's zone as identity last
    published it) while the unit is not replicated yet, else UTC."""
    return calendar_for(await unit_zone(session, unit_id) or fallback_zone)


async def user_zone_name(session: AsyncSession, user_id: str) -> str | None:
    """The zone in force for user `user_id`: his unit's replicated zone, else the zone identity last
    published on him ("" when neither is known); None when he is not replicated here. One query."""
    row = (await session.execute(_user_zones(), {"user_id": user_id})).first()
    return None if row is None else (row.unit_zone or row.time_zone or "")


@lru_cache(maxsize=1)
def _user_zones() -> Any:
    """Built once (a request or an event runs it): the user's own zone and his unit's, if any."""
    return (
        select(directory_units.c.time_zone.label("unit_zone"), directory_users.c.time_zone)
        .select_from(directory_users.outerjoin(directory_units, directory_units.c.unit_id == directory_users.c.unit_id))
        .where(directory_users.c.user_id == bindparam("user_id"))
    )


async def user_calendar(session: AsyncSession, user_id: str | None) -> LocalCalendar:
    """The calendar of the unit user `user_id` belongs to (his own replicated zone if the unit is
    unknown here), UTC when he is not replicated here."""
    if not user_id:
        return UTC_CALENDAR
    name = await user_zone_name(session, user_id)
    return UTC_CALENDAR if name is None else calendar_for(name)


class UnitCalendars:
    """Calendars looked up once per unit within one unit of work (a scheduler run, a report)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self._units: dict[str, LocalCalendar] = {}
        self._users: dict[str, LocalCalendar] = {}

    async def of_unit(self, unit_id: str | None, fallback_zone: str | None = None) -> LocalCalendar:
        key = unit_id or ""
        if key not in self._units:
            self._units[key] = await unit_calendar(self.session, unit_id, fallback_zone)
        return self._units[key]

    async def of_user(self, user_id: str | None) -> LocalCalendar:
        key = user_id or ""
        if key not in self._users:
            self._users[key] = await user_calendar(self.session, user_id)
        return self._users[key]
