"""Property: for random org trees, users and records, the SQL produced by `scope_filter` -- and
by `scope_clause`, its form built once per shape with the caller's values bound at execution --
returns exactly the rows the plain-Python reference (`Principal.can_see`) allows, on SQLite,
including org paths containing LIKE wildcards and the escape character."""

from __future__ import annotations

import asyncio

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Column, MetaData, String, Table, bindparam, exists, insert, select
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from salesgrid_dev.testing import principal
from salesgrid_common.auth.scope_filters import SCOPE_SUBJECT, scope_clause, scope_filter, scope_params, scope_shape

metadata = MetaData()
records = Table(
    "records", metadata, Column("id", String, primary_key=True), Column("owner_id", String), Column("org_path", String)
)
shares = Table(
    "shares", metadata, Column("record_id", String, primary_key=True), Column("user_id", String, primary_key=True)
)

# Unit names include LIKE metacharacters so a naive prefix match would over-match.
segments = st.sampled_from(["a", "b", "a_", "a%", "ab", "a\\", "a\\%"])
paths = st.lists(segments, min_size=1, max_size=3).map(lambda parts: "/" + "/".join(parts) + "/")
users = st.sampled_from(["u1", "u2", "u3"])
record_rows = st.lists(st.tuples(users, paths, st.booleans()), min_size=1, max_size=12)


async def visible_ids(
    rows: list[tuple[str, str, bool]], viewer_path: str, scope: str | None
) -> tuple[set[str], set[str], set[str]]:
    engine = create_async_engine("sqlite+aiosqlite://", poolclass=NullPool)  # closed with the block below
    viewer = principal(user_id="u1", org_path=viewer_path, permissions={"records:read": scope} if scope else {})
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
        for index, (owner, path, shared) in enumerate(rows):
            await conn.execute(insert(records).values(id=str(index), owner_id=owner, org_path=path))
            if shared:
                await conn.execute(insert(shares).values(record_id=str(index), user_id="u1"))
        shared_clause = exists().where(shares.c.record_id == records.c.id, shares.c.user_id == viewer.subject_id)
        query = select(records.c.id).where(
            scope_filter(viewer, "records:read", records.c.owner_id, records.c.org_path, shared_clause)
        )
        from_sql = set((await conn.scalars(query)).all())
        bound_shared = exists().where(shares.c.record_id == records.c.id, shares.c.user_id == bindparam(SCOPE_SUBJECT))
        shaped = select(records.c.id).where(
            scope_clause(scope_shape(viewer, "records:read"), records.c.owner_id, records.c.org_path, bound_shared)
        )
        from_shape = set((await conn.scalars(shaped, scope_params(viewer))).all())
    await engine.dispose()
    reference = {
        str(i)
        for i, (owner, path, shared) in enumerate(rows)
        if viewer.can_see("records:read", owner, path, frozenset({"u1"}) if shared else frozenset())
    }
    return from_sql, from_shape, reference


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=record_rows, viewer_path=paths, scope=st.sampled_from(["own", "team", "subtree", "all", None]))
def test_sql_scope_filter_matches_reference(
    rows: list[tuple[str, str, bool]], viewer_path: str, scope: str | None
) -> None:
    from_sql, from_shape, reference = asyncio.run(visible_ids(rows, viewer_path, scope))
    assert from_sql == reference
    assert from_shape == reference
