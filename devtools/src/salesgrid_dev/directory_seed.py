"""Seeding a service's directory replica (`salesgrid_common.directory`) in tests: the org units and
users identity would have published, so a service under test resolves owners, managers, org
paths, roles and time zones; and the call metadata of a user holding given permissions."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid_common.directory_tables import directory_units, directory_users

from salesgrid_dev.testing import RunningService, TestKeys, bearer, principal

SEEDED_AT = datetime(2026, 1, 1, tzinfo=UTC)
ZONE = "Asia/Shanghai"


def unit_of(org_path: str) -> str:
    """The id of the unit at the end of an org path ("/c/r1/t1/" -> "t1")."""
    return org_path.strip("/").split("/")[-1]


async def add_unit(
    session: AsyncSession,
    unit_id: str,
    path: str,
    *,
    parent_id: str | None = None,
    name: str | None = None,
    zone: str = ZONE,
    currency: str = "CNY",
    active: bool = True,
    at: datetime = SEEDED_AT,
) -> None:
    """An org unit of the replica (named by its id unless `name` is given)."""
    await session.execute(
        directory_units.insert().values(
            unit_id=unit_id,
            parent_id=parent_id,
            name=name or unit_id,
            path=path,
            time_zone=zone,
            currency=currency,
            active=active,
            updated_at=at,
        )
    )


async def add_user(
    session: AsyncSession,
    user_id: str,
    org_path: str,
    *,
    unit_id: str | None = None,
    manager_id: str | None = None,
    roles: str | Iterable[str] = "rep",
    name: str | None = None,
    zone: str = ZONE,
    active: bool = True,
    at: datetime = SEEDED_AT,
) -> None:
    """A user of the replica in the unit at the end of `org_path` unless `unit_id` is given; his
    login and display name are his id unless `name` is given."""
    await session.execute(
        directory_users.insert().values(
            user_id=user_id,
            login=user_id,
            display_name=name or user_id,
            unit_id=unit_id or unit_of(org_path),
            org_path=org_path,
            manager_id=manager_id,
            roles=roles if isinstance(roles, str) else ",".join(roles),
            active=active,
            time_zone=zone,
            updated_at=at,
        )
    )


@contextlib.asynccontextmanager
async def replica(running: RunningService) -> AsyncIterator[AsyncSession]:
    """A session on the running service's database whose rows are committed on leaving."""
    async with running.app.ctx.sessions() as session, session.begin():
        yield session


def caller(
    keys: TestKeys, user_id: str, org_path: str, permissions: Mapping[str, str], **claims: Any
) -> tuple[tuple[str, str], ...]:
    """The call metadata of a user of the unit at the end of `org_path` (unless `unit_id` is
    given) holding `permissions`; other `claims` are `principal`'s (roles, kind…)."""
    claims.setdefault("unit_id", unit_of(org_path))
    return bearer(keys.token(principal(user_id=user_id, org_path=org_path, permissions=permissions, **claims)))
