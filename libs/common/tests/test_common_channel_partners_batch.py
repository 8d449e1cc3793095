"""The channel-partner replica's batch form (customers' events of a run with one probe for all of
them) keeps what the one-by-one handler keeps: ordinary customers leave nothing, a partner is
kept, and an account that stops being a partner later in the same run, or in a later one, stays
with an empty channel (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import MetaData, select

from salesgrid.events.v1.customers_events_pb2 import CustomerRecordState
from salesgrid_common.channels import channel_partner_metadata, channel_partners, channel_partners_subscription
from salesgrid_common.db import SessionFactory
from salesgrid_common.events.envelope import EventMeta, build_envelope

NOW = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)


@pytest.fixture
def side_tables() -> list[MetaData]:
    return [channel_partner_metadata]


def event(verb: str, version: int, customer: str, channel: str = "") -> tuple:  # type: ignore[type-arg]
    state = CustomerRecordState(
        customer_id=customer, legal_name=f"{customer}公司", partner_channel=channel, version=version
    )
    envelope = build_envelope(
        f"salesgrid.customers.customer.{verb}", "customers", state, EventMeta(aggregate_id=customer), NOW, version
    )
    return envelope, state


async def replica(sessions: SessionFactory) -> dict[str, tuple[str, bool]]:
    async with sessions() as session:
        rows = await session.execute(
            select(channel_partners.c.partner_id, channel_partners.c.channel, channel_partners.c.active)
        )
        return {partner: (channel, active) for partner, channel, active in rows}


async def apply(sessions: SessionFactory, name: str, items: list[tuple], *, batch: bool) -> None:  # type: ignore[type-arg]
    sub = channel_partners_subscription(name)
    async with sessions() as session, session.begin():
        if batch:
            handler = sub.batch_route(items[0][0].type)
            assert handler is not None
            await handler(session, items)
        else:
            for envelope, state in items:
                route = sub.route(envelope.type)
                assert route is not None
                await route[1](session, envelope, state)


async def test_a_run_keeps_what_the_events_one_by_one_keep(sessions: SessionFactory) -> None:
    first = [
        event("created", 1, "plain-1"),
        event("created", 1, "agent-1", "agent"),
        event("updated", 2, "agent-1"),  # no longer a partner, in the same run
        event("created", 1, "dist-1", "distributor"),
        event("created", 1, "plain-2"),
    ]
    second = [event("updated", 2, "dist-1"), event("updated", 2, "plain-1"), event("deactivated", 3, "agent-1")]
    expected = {"agent-1": ("", False), "dist-1": ("", True)}
    await apply(sessions, "pipeline", first, batch=True)
    await apply(sessions, "pipeline", second, batch=True)
    assert await replica(sessions) == expected
    async with sessions() as session, session.begin():
        await session.execute(channel_partners.delete())
    await apply(sessions, "contracts", first, batch=False)  # another projection name: its own versions
    await apply(sessions, "contracts", second, batch=False)
    assert await replica(sessions) == expected
