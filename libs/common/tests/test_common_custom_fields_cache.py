"""The definitions a write validates against (custom_fields.cache): cached per engine, checked
against the entity's stamp on every write, so a definition changed through one replica applies to
the next write of every other replica (two engines on one database, SQLite and PostgreSQL)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import MetaData, event, select
from sqlalchemy.ext.asyncio import AsyncEngine

from salesgrid_common.custom_fields import cache
from salesgrid_common.custom_fields.records import apply_values
from salesgrid_common.custom_fields.registry import CustomFieldRegistry, EntitySpec
from salesgrid_common.custom_fields.tables import custom_field_metadata
from salesgrid_common.custom_fields.tables import custom_field_versions as versions_t
from salesgrid_common.db import SessionFactory, create_engine, session_factory
from salesgrid_common.errors import ValidationFailed
from salesgrid_common.events.outbox import Outbox
from salesgrid_common.ids import new_id
from salesgrid_dev.testing import principal

ENTITY = "customer"
ADMIN = principal("admin", permissions={"custom_fields:manage": "all", "custom_fields:read": "all"})


@pytest.fixture
def side_tables() -> list[MetaData]:
    return [custom_field_metadata]


@pytest.fixture
async def other_replica(database_url: str, sessions: SessionFactory) -> AsyncIterator[SessionFactory]:
    """A second process's sessions on the same database (its own engine, so its own cache)."""
    engine = create_engine(database_url)
    yield session_factory(engine)
    await engine.dispose()


def registry(sessions: SessionFactory) -> CustomFieldRegistry:
    return CustomFieldRegistry(
        "customers",
        sessions,
        sessions,
        Outbox("customers"),
        lambda: datetime(2026, 12, 5, tzinfo=UTC),
        [EntitySpec(ENTITY)],
    )


async def create(sessions: SessionFactory, values: Mapping[str, Any] | None = None) -> dict[str, Any]:
    async with sessions() as session, session.begin():
        return await apply_values(session, ENTITY, new_id(), {}, values, creating=True)


async def refused(sessions: SessionFactory, values: Mapping[str, Any] | None = None) -> dict[str, str]:
    with pytest.raises(ValidationFailed) as error:
        await create(sessions, values)
    return dict(error.value.violations)


def engine_of(sessions: SessionFactory) -> AsyncEngine:
    return sessions.kw["bind"]  # type: ignore[no-any-return]


async def tables_read(sessions: SessionFactory, values: Mapping[str, Any] | None = None) -> list[str]:
    """The tables a create's SELECTs read."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, sql: str, *_args: Any) -> None:
        if sql.lstrip().upper().startswith("SELECT"):
            seen.extend(re.findall(r"\bFROM\s+(\w+)", sql, re.I))

    engine = engine_of(sessions).sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        await create(sessions, values)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return seen


async def test_a_change_through_one_replica_applies_to_the_next_write_of_another(
    sessions: SessionFactory, other_replica: SessionFactory
) -> None:
    admin_side = registry(other_replica)
    assert await create(sessions) == {}  # no definitions yet: cached (no stamp row either)
    assert await tables_read(sessions) == ["custom_field_versions"]

    await admin_side.define(ADMIN, ENTITY, "tier", "Tier", "choice", required=True, options=["gold", "silver"])
    assert await refused(sessions) == {"custom_fields.tier": "is required"}
    assert await create(sessions, {"tier": "gold"}) == {"tier": "gold"}
    assert await tables_read(sessions, {"tier": "silver"}) == ["custom_field_versions"]  # cached again

    await admin_side.change(ADMIN, ENTITY, "tier", 1, options=["gold", "silver", "bronze"])
    assert await create(sessions, {"tier": "bronze"}) == {"tier": "bronze"}

    await admin_side.set_active(ADMIN, ENTITY, "tier", False)
    assert await create(sessions) == {}
    assert await refused(sessions, {"tier": "gold"}) == {"custom_fields.tier": "is archived and takes no new values"}

    await admin_side.define(ADMIN, ENTITY, "note", "Note", "text")
    assert await create(sessions, {"note": "first"}) == {"note": "first"}
    await admin_side.define(ADMIN, ENTITY, "spare", "Spare", "text")
    assert await create(sessions) == {}  # caches the definitions with "spare"
    await admin_side.remove(ADMIN, ENTITY, "spare")
    assert await refused(sessions, {"spare": "x"}) == {"custom_fields.spare": "is not a custom field of this record"}


async def test_every_change_writes_a_new_stamp_in_its_transaction(sessions: SessionFactory) -> None:
    admin = registry(sessions)

    async def stamp() -> str | None:
        async with sessions() as session:
            return await session.scalar(select(versions_t.c.stamp).where(versions_t.c.entity == ENTITY))

    seen = [await stamp()]
    await admin.define(ADMIN, ENTITY, "size", "Size", "choice", options=["s"])
    seen.append(await stamp())
    await admin.change(ADMIN, ENTITY, "size", 1, label="Size (cm)")
    seen.append(await stamp())
    await admin.set_active(ADMIN, ENTITY, "size", False)
    seen.append(await stamp())
    await admin.set_active(ADMIN, ENTITY, "size", True)
    seen.append(await stamp())
    await admin.remove(ADMIN, ENTITY, "size")
    seen.append(await stamp())
    assert seen[0] is None and None not in seen[1:] and len(set(seen)) == len(seen)
    with pytest.raises(ValidationFailed):  # a refused change changes nothing
        await admin.define(ADMIN, ENTITY, "Bad Key", "Bad", "text")
    assert await stamp() == seen[-1]


async def test_the_cache_holds_a_bounded_number_of_entities_per_engine(sessions: SessionFactory) -> None:
    for i in range(cache.MAX_ENTITIES * 2):
        async with sessions() as session, session.begin():
            await cache.definitions_in_force(session, f"entity_{i}")
    held = cache._cached[engine_of(sessions).sync_engine]
    assert 0 < len(held) <= cache.MAX_ENTITIES
    assert f"entity_{cache.MAX_ENTITIES * 2 - 1}" in held
