"""What the tests of this folder share (imported by name: conftest.py puts this folder on
sys.path). For the store tests: contract k-1 as a draft or signed, where it is placed, the
products its lines name, and a migrated database. For the service tests: reps' and bosses'
permissions (the directory rows and callers' tokens come from salesgrid_dev.directory_seed)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from salesgrid_common.db import create_engine
from salesgrid_dev.migrated import migrate
from salesgrid_contracts import models
from salesgrid_contracts.app import MIGRATIONS
from salesgrid_contracts.domain import contracts
from salesgrid_contracts.domain.money import Money
from salesgrid_contracts.stores import contracts as store

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
REP_PERMS = {
    "contracts:read": "own",
    "contracts:create": "own",
    "contracts:update": "own",
    "payments:create": "own",
    "payments:read": "own",
    "products:read": "all",
}
BOSS_PERMS = {"contracts:read": "subtree", "contracts:approve": "subtree", "payments:read": "subtree"}


def cny(amount: str | int) -> Money:
    return Money(Decimal(amount), "CNY")


def draft() -> contracts.Contract:
    return contracts.Contract(
        contract_id="k-1",
        number="SZ-2026-0001",
        version=1,
        customer_id="c-1",
        owner_id="rep-a",
        org_unit_id="sz",
        currency="CNY",
        start_date=date(2026, 4, 1),
        end_date=date(2027, 3, 31),
        lines=(
            contracts.ContractLine("p-1", "Pump", Decimal("2"), cny("1000.50"), Decimal("10")),
            contracts.ContractLine("p-2", "Service", Decimal("1"), cny("300")),
        ),
        terms="Net 30",
        status=contracts.ContractStatus.DRAFT,
        created_at=NOW,
    )


def signed() -> contracts.Contract:
    """k-1 signed on 1 March, one line: two pumps at 500 less 10% (900 in all)."""
    return replace(
        draft(),
        lines=(contracts.ContractLine("p-1", "Pump", Decimal("2"), cny("500"), Decimal("10")),),
        status=contracts.ContractStatus.SIGNED,
        signed_on=date(2026, 3, 1),
    )


def placement(**changes: Any) -> dict[str, Any]:
    """What store.new_row and store.add take beside the contract: a direct sale in /c/sz/ with no
    opportunity, attachment, template or custom field, unless `changes` say otherwise."""
    return {
        "org_path": "/c/sz/",
        "opportunity_id": "",
        "attachments": [],
        "template": None,
        "channel": "direct",
        "partner_id": "",
        "custom_fields": {},
        "now": NOW,
        **changes,
    }


def rows(contract: contracts.Contract) -> store.ContractView:
    """The contract's rows as an agent's sale for opportunity o-1 with a custom field."""
    row, lines = store.new_row(
        contract,
        **placement(opportunity_id="o-1", channel="agent", partner_id="pa-1", custom_fields={"region_code": "SZ-01"}),
    )
    return store.ContractView(row, lines, [])


async def add_products(session: AsyncSession, *product_ids: str) -> None:
    """The product rows a contract's lines refer to (flushed, so the lines can follow)."""
    for product_id in product_ids:
        session.add(models.Product(id=product_id, sku=product_id, name=product_id, prices={}, created_at=NOW))
    await session.flush()


@asynccontextmanager
async def migrated(database_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine on the database after the service's migrations, disposed of afterwards."""
    await asyncio.to_thread(migrate, MIGRATIONS, database_url)
    engine = create_engine(database_url)
    try:
        yield engine
    finally:
        await engine.dispose()
