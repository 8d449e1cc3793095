"""The statements customers' per-request paths run (CreateCustomer, GetCustomer, a manager's
ListCustomers page, UpdateCustomer, ListPool, and an import batch of the worker), counted at the
database driver on SQLite and PostgreSQL: moving the queries into stores must not add one."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncEngine

from salesgrid_common.db import create_engine, session_factory
from salesgrid_common.events.outbox import Outbox
from salesgrid_dev.migrated import migrate
from salesgrid_dev.statements import statements_sent
from salesgrid_customers.app import MIGRATIONS
from salesgrid_customers.usecases import CustomerChanges, CustomersUseCases
from salesgrid_dev.testing import principal

NOW = datetime(2026, 3, 2, 9, tzinfo=UTC)
T = TypeVar("T")


CREATE = sorted(
    [
        "SELECT customers",
        "SELECT custom_field_definitions",
        "INSERT customers",
        "INSERT customer_name_keys",
        "INSERT aggregate_versions",
        "INSERT outbox",
    ]
)
# the row in scope, the row again (the duplicate check of the new name), the versioned update,
# the old name keys out and the new ones in, the updated event
UPDATE = sorted(
    [
        "SELECT customers",
        "SELECT customers",
        "UPDATE customers",
        "DELETE customer_name_keys",
        "INSERT customer_name_keys",
        "INSERT aggregate_versions",
        "INSERT outbox",
    ]
)
# one batch of 20 rows: the unfinished jobs, the pending rows (claimed), the definitions, the taken
# names and codes, the pool policies and the customers the importer holds (his cap), one INSERT each for the customers, their name
# keys and their events, the rows marked created, the job's counters; then the empty next batch,
# the pending count and the job marked done
IMPORT = sorted(
    [
        "SELECT customer_import_jobs",
        "SELECT customer_import_rows",
        "SELECT custom_field_definitions",
        "SELECT customer_pool_policies",
        "SELECT customers",
        "SELECT customers",
        "INSERT customers",
        "INSERT customer_name_keys",
        "INSERT aggregate_versions",
        "INSERT outbox",
        "UPDATE customer_import_rows",
        "UPDATE customer_import_jobs",
        "SELECT customer_import_rows",
        "SELECT customer_import_rows",
        "UPDATE customer_import_jobs",
    ]
)


async def statements(engine: AsyncEngine, call: Callable[[], Awaitable[T]]) -> tuple[T, list[str]]:
    return await statements_sent([engine], call)


async def test_the_hot_paths_run_no_more_statements(database_url: str) -> None:
    """Counted on main before the last use cases moved their queries into stores."""
    await asyncio.to_thread(migrate, MIGRATIONS, database_url)
    engine = create_engine(database_url)
    uc = CustomersUseCases(session_factory(engine), Outbox("customers"), lambda: NOW)
    perms = {f"customers:{p}": "own" for p in ("create", "read", "update")}
    rep = principal("rep-a", "/c/sz/", "sz", {**perms, "pool:read": "all"})
    manager = principal("mgr", "/c/sz/", "sz", {"customers:read": "subtree"})
    try:
        await uc.create_customer(rep, legal_name="Acme Widgets Ltd")
        (created, _), create_sql = await statements(
            engine, lambda: uc.create_customer(rep, legal_name="深圳市腾讯计算机系统有限公司", tags=["vip"])
        )
        # the duplicate candidates, the custom-field definitions (apply_values), the row, its name
        # keys and the created event (its aggregate version and the outbox row)
        assert create_sql == CREATE, create_sql
        _, get_sql = await statements(engine, lambda: uc.get_customer(rep, created.id))
        assert get_sql == ["SELECT customers"]
        (page, _), list_sql = await statements(engine, lambda: uc.list_customers(manager, page_size=50))
        assert len(page) == 2 and list_sql == ["SELECT customers"]
        (found, _), search_sql = await statements(engine, lambda: uc.list_customers(rep, query="腾讯", tag="vip"))
        assert [c.id for c in found] == [created.id]
        assert search_sql == ["SELECT customer_name_keys", "SELECT customers"]
        _, update_sql = await statements(
            engine, lambda: uc.update_customer(rep, created.id, 1, CustomerChanges(legal_name="深圳市腾讯科技有限公司"))
        )
        assert update_sql == UPDATE, update_sql
        _, pool_sql = await statements(engine, lambda: uc.list_pool(rep))
        assert pool_sql == ["SELECT customers"]
        rows = "".join(f"Import Co {i},retail\n" for i in range(20))
        await uc.start_import(rep, "csv", io.BytesIO(f"legal_name,industry\n{rows}".encode()))
        created_count, import_sql = await statements(engine, uc.run_imports)
        assert created_count == 20 and import_sql == IMPORT, import_sql
    finally:
        await engine.dispose()
