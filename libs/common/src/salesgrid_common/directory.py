"""Each service's local replica of identity's org units and users, kept from identity events,
so owners, managers, org paths and time zones resolve without a call to identity."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass

import grpc
from sqlalchemy import Column, MetaData, Table, bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid.common.v1 import directory_pb2, directory_pb2_grpc
from salesgrid.events.v1.envelope_pb2 import Envelope
from salesgrid.events.v1.identity_events_pb2 import OrgUnitState, UserState
from salesgrid_common import localtime
from salesgrid_common.auth.principal import Principal, caller
from salesgrid_common.db import SessionFactory
from salesgrid_common.directory_tables import directory_units, directory_users
from salesgrid_common.errors import NotFound, PermissionDenied, Unauthenticated
from salesgrid_common.events.consumer import Subscription
from salesgrid_common.events.versions import claim_newer
from salesgrid_common.protos import from_timestamp

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DirectoryUser:
    user_id: str
    login: str
    display_name: str
    unit_id: str
    org_path: str
    manager_id: str | None
    roles: tuple[str, ...]
    active: bool
    time_zone: str


async def _upsert(session: AsyncSession, table: Table, key: str, values: dict[str, object]) -> None:
    exists = await session.scalar(select(table.c[key]).where(table.c[key] == values[key]))
    if exists is None:
        await session.execute(table.insert().values(**values))
    else:
        await session.execute(table.update().where(table.c[key] == values[key]).values(**values))


def rewrite_path_prefix(column: Column[str], old_prefix: str, new_prefix: str):  # type: ignore[no-untyped-def]
    """SET-clause value replacing a leading `old_prefix` of `column` with `new_prefix`."""
    return new_prefix + func.substr(column, len(old_prefix) + 1)


async def move_subtree(session: AsyncSession, table: Table, column_name: str, old_prefix: str, new_prefix: str) -> None:
    """Rewrite every org path under a moved unit (services call this for their own records too)."""
    column = table.c[column_name]
    await session.execute(
        update(table)
        .where(column.startswith(old_prefix, autoescape=True))
        .values({column_name: rewrite_path_prefix(column, old_prefix, new_prefix)})
    )


def owned_tables(metadata: MetaData | None) -> list[Table]:
    """A service's tables that carry an `org_path` (records scoped by their owner's unit)."""
    if metadata is None:
        return []
    return [table for table in metadata.sorted_tables if "org_path" in table.c]


def directory_subscription(
    consumer_service: str, repath: Sequence[Table] = (), deactivated: DeactivatedUsers | None = None
) -> Subscription:
    """The identity events that keep the replica current, and keep the org paths stored on the
    service's own records (`repath`) right when a unit moves or a user moves to another unit,
    so a manager's subtree stays right everywhere."""
    sub = Subscription(name=f"{consumer_service}-directory", producer="identity")

    async def on_user_moved(session: AsyncSession, envelope: Envelope, user: UserState) -> None:
        if not await on_user(session, envelope, user):
            return  # an older move arriving late: the records already follow the newer state
        for table in repath:  # records follow their owner into his new unit
            if "owner_id" in table.c:
                await session.execute(
                    update(table).where(table.c.owner_id == user.user_id).values(org_path=user.org_path)
                )

    async def on_user(session: AsyncSession, envelope: Envelope, user: UserState) -> bool:
        # Keep the newest: an older state redelivered late (after a crash) is ignored.
        if not await claim_newer(session, sub.name, user.user_id, envelope):
            return False
        await _upsert(
            session,
            directory_users,
            "user_id",
            {
                "user_id": user.user_id,
                "login": user.login,
                "display_name": user.display_name,
                "unit_id": user.unit_id,
                "org_path": user.org_path,
                "manager_id": user.manager_id or None,
                "roles": ",".join(user.roles),
                "active": user.active,
                "time_zone": user.time_zone or "UTC",
                "updated_at": from_timestamp(envelope.occurred_at),
            },
        )
        if deactivated is not None:
            deactivated.mark(user.user_id, user.active)
        return True

    async def on_unit(session: AsyncSession, envelope: Envelope, unit: OrgUnitState) -> None:
        if not await claim_newer(session, sub.name, unit.unit_id, envelope):
            return  # older than the unit state kept (the subtree rewrite of a move is applied anyway)
        # a unit published without a zone works on its parent's calendar (as identity stores it)
        zone = unit.time_zone or await localtime.unit_zone(session, unit.parent_id) or localtime.DEFAULT_ZONE
        await _upsert(
            session,
            directory_units,
            "unit_id",
            {
                "unit_id": unit.unit_id,
                "parent_id": unit.parent_id or None,
                "name": unit.name,
                "path": unit.path,
                "time_zone": zone,
                "currency": unit.currency or "CNY",
                "active": unit.active,
                "updated_at": from_timestamp(envelope.occurred_at),
            },
        )

    async def on_unit_moved(session: AsyncSession, envelope: Envelope, unit: OrgUnitState) -> None:
        await on_unit(session, envelope, unit)
        if unit.previous_path and unit.previous_path != unit.path:
            await move_subtree(session, directory_units, "path", unit.previous_path, unit.path)
            await move_subtree(session, directory_users, "org_path", unit.previous_path, unit.path)
            for table in repath:
                await move_subtree(session, table, "org_path", unit.previous_path, unit.path)

    for verb in ("created", "updated", "deactivated"):
        sub.on(f"salesgrid.identity.user.{verb}", UserState)(on_user)
    sub.on("salesgrid.identity.user.moved", UserState)(on_user_moved)
    for verb in ("created", "updated", "deactivated"):
        sub.on(f"salesgrid.identity.org_unit.{verb}", OrgUnitState)(on_unit)
    sub.on("salesgrid.identity.org_unit.moved", OrgUnitState)(on_unit_moved)
    return sub


# Built once, bound at execution: services look the caller or an owner up on most requests.
_USER = select(directory_users).where(directory_users.c.user_id == bindparam("user_id"))


async def get_user(session: AsyncSession, user_id: str) -> DirectoryUser | None:
    row = (await session.execute(_USER, {"user_id": user_id})).first()
    if row is None:
        return None
    return DirectoryUser(
        user_id=row.user_id,
        login=row.login,
        display_name=row.display_name,
        unit_id=row.unit_id,
        org_path=row.org_path,
        manager_id=row.manager_id,
        roles=tuple(r for r in row.roles.split(",") if r),
        active=row.active,
        time_zone=row.time_zone,
    )


async def unit_time_zone(session: AsyncSession, unit_id: str) -> str | None:
    return await session.scalar(select(directory_units.c.time_zone).where(directory_units.c.unit_id == unit_id))


class DeactivatedUsers:
    """The replica's deactivated users, held in memory so that the check every call makes costs
    no database work. The set is reloaded from the replica every `refresh_interval` seconds
    (another replica of the service may have applied the event) and a deactivation this process
    applies is refused at once (`mark`), so a deactivated user's live tokens stop working well
    within the 2 s the platform promises. Reactivation shows after the next reload."""

    def __init__(self, reader: SessionFactory, refresh_interval: float = 0.5) -> None:
        self.reader = reader
        self.refresh_interval = refresh_interval
        self.user_ids: frozenset[str] = frozenset()

    async def reload(self) -> None:
        async with self.reader() as session:
            rows = await session.scalars(select(directory_users.c.user_id).where(directory_users.c.active.is_(False)))
            self.user_ids = frozenset(rows)

    def mark(self, user_id: str, active: bool) -> None:
        if not active:
            self.user_ids = self.user_ids | {user_id}

    async def keep_current(self) -> None:
        while True:
            await asyncio.sleep(self.refresh_interval)
            try:
                await self.reload()
            except Exception:
                log.warning("could not reload deactivated users", exc_info=True)

    async def check(self, principal: Principal) -> None:
        """A principal check refusing tokens of users identity has deactivated since issuing
        them (a user not replicated yet is let through to the scope checks)."""
        if principal.kind == "user" and principal.subject_id in self.user_ids:
            raise Unauthenticated("user is deactivated")


class DirectoryServicer(directory_pb2_grpc.DirectoryServicer):
    """Read access to the replica, held to the caller's `users:read` scope."""

    def __init__(self, sessions: SessionFactory) -> None:
        self.sessions = sessions

    async def GetDirectoryUser(
        self, request: directory_pb2.GetDirectoryUserRequest, context: grpc.aio.ServicerContext
    ) -> directory_pb2.DirectoryUser:
        principal = caller()
        async with self.sessions() as session:
            user = await get_user(session, request.user_id)
        if user is None:
            raise NotFound(f"user {request.user_id} is not known here", "user_id")
        if not principal.can_see("users:read", user.user_id, user.org_path):
            raise PermissionDenied("user is outside your data scope")
        return directory_pb2.DirectoryUser(
            user_id=user.user_id,
            login=user.login,
            display_name=user.display_name,
            unit_id=user.unit_id,
            org_path=user.org_path,
            manager_id=user.manager_id or "",
            active=user.active,
            time_zone=user.time_zone,
        )


async def unit_path_in_scope(
    session: AsyncSession, principal: Principal, unit_id: str, permission: str, field: str = "unit_id"
) -> str:
    """The org path of a unit the caller may act on with `permission`; NotFound naming `field`
    when the unit does not exist or lies outside the caller's data scope (fail closed: the
    answer does not tell which)."""
    path = await session.scalar(select(directory_units.c.path).where(directory_units.c.unit_id == unit_id.strip()))
    if path is None or not principal.can_see(permission, "", path):
        raise NotFound(f"org unit {unit_id} not found", field)
    return str(path)
