"""What the activities service tests share (imported by name; conftest.py puts this folder on
sys.path): the org paths and permissions of reps and managers, the test clock's start, the World
(the service plus a few people with tokens) and the error of a refused call."""

from __future__ import annotations

from datetime import UTC, datetime

import grpc
import pytest
from sqlalchemy import func, select

from salesgrid.activities.v1 import activities_pb2_grpc as pb_grpc
from salesgrid_activities.usecases import ActivitiesUseCases
from salesgrid_common.events.tables import outbox
from salesgrid_dev.directory_seed import add_unit, add_user, replica
from salesgrid_dev.testing import bearer, principal


MANAGER_PATH = "/c/r1/b1/"
TEAM_PATH = "/c/r1/b1/t1/"
OTHER_PATH = "/c/r2/b2/t2/"
REP_PERMS = {
    p: "own"
    for p in (
        "activities:read",
        "activities:create",
        "tasks:read",
        "tasks:create",
        "tasks:update",
        "daily_reports:read",
        "daily_reports:create",
    )
}
MANAGER_PERMS = {**{p: "subtree" for p in REP_PERMS}, "daily_reports:review": "subtree"}
START = datetime(2026, 3, 10, 9, 59, 59, tzinfo=UTC)  # 17:59:59 in Shanghai, 10:59:59 in Berlin


async def rpc_error(call) -> grpc.aio.AioRpcError:  # type: ignore[no-untyped-def]
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await call
    return info.value


class World:
    """The service plus a few people, each with a token."""

    def __init__(self, running, keys) -> None:  # type: ignore[no-untyped-def]
        self.running = running
        self.stub = pb_grpc.ActivitiesStub(running.channel)
        self.sessions = running.app.ctx.sessions
        self.usecases = running.app.ctx.component(ActivitiesUseCases)
        self.meta = {
            "rep": bearer(keys.token(principal("rep-a", TEAM_PATH, permissions=REP_PERMS))),
            "rep2": bearer(keys.token(principal("rep-c", TEAM_PATH, permissions=REP_PERMS))),
            "other": bearer(keys.token(principal("rep-b", OTHER_PATH, permissions=REP_PERMS))),
            "manager": bearer(keys.token(principal("mgr", MANAGER_PATH, permissions=MANAGER_PERMS))),
        }

    async def add_users(self, *users: tuple[str, str, str, str], unit_id: str = "u") -> None:
        async with replica(self.running) as session:
            for user_id, org_path, zone, roles in users:
                await add_user(session, user_id, org_path, unit_id=unit_id, roles=roles, zone=zone, at=START)

    async def add_units(self, *units: tuple[str, str, str]) -> None:
        async with replica(self.running) as session:
            for unit_id, path, zone in units:
                await add_unit(session, unit_id, path, zone=zone, at=START)

    async def events(self) -> list[str]:
        """Event types in the outbox, sorted (events of one transaction share their timestamp)."""
        async with self.sessions() as session:
            return sorted((await session.scalars(select(outbox.c.subject))).all())

    async def count(self, model) -> int:  # type: ignore[no-untyped-def]
        async with self.sessions() as session:
            return await session.scalar(select(func.count()).select_from(model)) or 0
