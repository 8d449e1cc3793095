"""Customers contracts' name projection never saw (written before events told anyone, or before
contracts consumed customers' stream) print with their names once customers re-states them
(`python -m salesgrid_customers restate-customers`): both services in-process on SQLite and on
PostgreSQL, one real nats-server between them, the printed PDFs read back."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from salesgrid.contracts.v1 import documents_pb2 as dpb
from salesgrid_common.ids import new_id
from salesgrid_contracts.customer_names import legal_name
from salesgrid_customers import models as customers_models
from salesgrid_customers.app import DEFINITION as CUSTOMERS, MIGRATIONS as CUSTOMERS_MIGRATIONS
from salesgrid_customers.restate import restate_customers
from salesgrid_customers.settings import CustomersSettings
from salesgrid_dev.testing import eventually, run_service

from test_contracts_documents import TEAM, World, approved_contract, receipt, text_of, world  # noqa: F401

OLD = datetime(2024, 6, 1, tzinfo=UTC)


@pytest.fixture
def customers_url(database_url: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The customers service's own database, beside contracts' (the same kind)."""
    if database_url.startswith("sqlite"):
        yield f"sqlite+aiosqlite:///{tmp_path / 'customers.db'}"
    else:
        yield request.getfixturevalue("postgres").create_database("c_" + new_id().replace("-", "")[-20:])


def before_events(customer_id: str, name: str) -> customers_models.Customer:
    return customers_models.Customer(
        id=customer_id,
        legal_name=name,
        normalised_name=name,
        tier="key",
        tags=[],
        owner_id="rep-1",
        org_path=TEAM,
        active=True,
        version=3,
        created_by="import",
        created_at=OLD,
        updated_at=OLD,
    )


async def test_a_customer_contracts_never_saw_prints_with_its_name_after_customers_restates_it(  # type: ignore[no-untyped-def]
    world: World, customers_url: str, nats_url: str, test_keys
) -> None:
    w = world
    contracts = w.running.app.ctx  # type: ignore[attr-defined]
    async with run_service(
        CUSTOMERS,
        CUSTOMERS_MIGRATIONS,
        customers_url,
        nats_url,
        test_keys,
        settings_cls=CustomersSettings,
        import_seconds=3600,
        pool_scan_seconds=3600,
    ) as customers:
        async with customers.app.ctx.sessions() as session, session.begin():
            session.add(before_events("cust-1", "杭州星辰科技有限公司"))
            session.add(before_events("cust-2", "苏州远山贸易有限公司"))
        async with contracts.sessions() as session:
            assert await legal_name(session, "cust-1") is None  # contracts never heard of them

        assert (
            await restate_customers(customers.app.ctx.sessions, customers.app.ctx.outbox, customers.app.ctx.clock) == 2
        )

        async def both_known() -> dict[str, str | None] | None:
            async with contracts.sessions() as session:
                names = {c: await legal_name(session, c) for c in ("cust-1", "cust-2")}
            return names if all(names.values()) else None

        assert await eventually(both_known, timeout=20) == {
            "cust-1": "杭州星辰科技有限公司",
            "cust-2": "苏州远山贸易有限公司",
        }

    contract = await approved_contract(w)  # for cust-1
    printed = await w.docs.PrintContract(dpb.PrintContractRequest(contract_id=contract.id), metadata=w.tokens["rep-1"])
    assert "杭州星辰科技有限公司" in text_of(printed.content)
    paid = await w.docs.PrintReceipt(
        dpb.PrintReceiptRequest(receipt_id=(await receipt(w, contract)).id), metadata=w.tokens["rep-1"]
    )  # no payer stated: the customer paid, by name
    assert "杭州星辰科技有限公司" in text_of(paid.content)
