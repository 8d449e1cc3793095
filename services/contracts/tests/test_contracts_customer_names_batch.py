"""Contracts' copy of customers' legal names kept by its batch form (a run of customers' events
in one call, as the consumer hands over an import's events): each customer's newest name, an
older state arriving late changes nothing, in the run or after it (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime

from salesgrid.events.v1.customers_events_pb2 import CustomerRecordState
from salesgrid_common.db import SessionFactory, session_factory
from salesgrid_common.events.envelope import EventMeta, build_envelope
from salesgrid_contracts.customer_names import customer_names_subscription, legal_name

from contracts_fixtures import migrated

NOW = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)


async def run(sessions: SessionFactory, events: list[tuple[str, int, str, str]]) -> None:
    sub = customer_names_subscription()
    items = [
        (
            build_envelope(
                f"salesgrid.customers.customer.{verb}",
                "customers",
                CustomerRecordState(customer_id=customer, legal_name=name),
                EventMeta(aggregate_id=customer),
                NOW,
                version,
            ),
            CustomerRecordState(customer_id=customer, legal_name=name),
        )
        for verb, version, customer, name in events
    ]
    handler = sub.batch_route(items[0][0].type)
    assert handler is not None
    async with sessions() as session, session.begin():
        await handler(session, items)


async def names(sessions: SessionFactory, *customers: str) -> list[str | None]:
    async with sessions() as session:
        return [await legal_name(session, customer) for customer in customers]


async def test_a_run_keeps_each_customers_newest_name(database_url: str) -> None:
    async with migrated(database_url) as engine:
        sessions = session_factory(engine)
        await run(
            sessions,
            [
                ("created", 1, "c1", "杭州星辰科技有限公司"),
                ("created", 1, "c2", "宁波远航贸易有限公司"),
                ("updated", 3, "c1", "杭州星辰集团有限公司"),
                ("updated", 2, "c1", "旧名称有限公司"),  # older than 3: ignored
            ],
        )
        assert await names(sessions, "c1", "c2", "c3") == ["杭州星辰集团有限公司", "宁波远航贸易有限公司", None]
        # A later run: an older state of c1 (redelivered late) changes nothing, a newer one of c2 does.
        await run(sessions, [("updated", 2, "c1", "旧名称有限公司"), ("updated", 2, "c2", "宁波远航集团有限公司")])
        assert await names(sessions, "c1", "c2") == ["杭州星辰集团有限公司", "宁波远航集团有限公司"]
