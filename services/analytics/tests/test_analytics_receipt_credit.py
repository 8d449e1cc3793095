"""A receipt is credited to the contract's owner whatever order the events arrive in: the receipt
event carries the owner, so a receipt redelivered before the contract's signing is still his."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from salesgrid.events.v1.contracts_events_pb2 import ContractsContractState, ContractsReceiptRecorded
from salesgrid_analytics.app import MIGRATIONS
from salesgrid_analytics.factstore import StoredFact
from salesgrid_analytics.handlers import contracts_subscription
from salesgrid_common.events.consumer import apply_once
from salesgrid_common.events.envelope import EventMeta, build_envelope
from salesgrid_dev.pytest_plugin import Migrated

NOW = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)


async def test_receipt_before_signing_is_credited_to_the_contract_owner(migrated: Migrated) -> None:
    sessions = await migrated(MIGRATIONS)
    sub = contracts_subscription()

    async def deliver(event_type: str, payload, aggregate: str) -> None:  # type: ignore[no-untyped-def]
        envelope = build_envelope(
            event_type,
            "contracts",
            payload,
            EventMeta(aggregate_id=aggregate, actor_id="finance-clerk", org_path="/c/r1/b1/"),
            NOW,
        )
        _, handler = sub.route(event_type)  # type: ignore[misc]
        await apply_once(sessions, sub.name, envelope, handler, payload)

    await deliver(
        "salesgrid.contracts.receipt.recorded",
        ContractsReceiptRecorded(receipt_id="r1", contract_id="k1", amount="300", currency="CNY", owner_id="rep-a"),
        "r1",
    )
    await deliver(
        "salesgrid.contracts.contract.signed",
        ContractsContractState(contract_id="k1", owner_id="rep-a", org_path="/c/r1/b1/", total="500", currency="CNY"),
        "k1",
    )
    async with sessions() as session:
        rows = (
            await session.execute(
                select(StoredFact.kind, StoredFact.owner_id, StoredFact.org_path).order_by(StoredFact.kind)
            )
        ).all()
    assert [tuple(r) for r in rows] == [
        ("contract_signed", "rep-a", "/c/r1/b1/"),
        ("receipt_recorded", "rep-a", "/c/r1/b1/"),
    ]
