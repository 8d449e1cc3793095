"""The facts customers keeps from pipeline's and contracts' events (one statement per fact, the
customer resolved through the merge map by the statement itself), on SQLite and PostgreSQL: an
event naming a merged customer, or a customer merged twice over, lands on the survivor; the rep's
opportunity and deal times are order-free and leave the follow-up counts alone; a redelivered
event is applied once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from google.protobuf.message import Message
from sqlalchemy import select, text

from salesgrid.events.v1.contracts_events_pb2 import ContractsContractState, ContractsReceiptRecorded
from salesgrid.events.v1.envelope_pb2 import Envelope
from salesgrid.events.v1.pipeline_events_pb2 import PipelineOpportunityState
from salesgrid_common.customer_merges import record_merge
from salesgrid_common.db import SessionFactory
from salesgrid_common.events.consumer import Subscription, apply_once
from salesgrid_common.events.envelope import EventMeta, build_envelope
from salesgrid_customers import models
from salesgrid_customers.handlers import (
    activities_subscription,
    contracts_subscription,
    pipeline_subscription,
    record_follow_up,
)

T0 = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
OPPORTUNITY = "salesgrid.pipeline.opportunity."


def envelope_of(
    sub: Subscription, event_type: str, payload: Message, aggregate: str, version: int, at: datetime
) -> Envelope:
    return build_envelope(event_type, sub.producer, payload, EventMeta(aggregate_id=aggregate), at, version)


async def deliver(sessions: SessionFactory, sub: Subscription, envelope: Envelope, payload: Message) -> bool:
    route = sub.route(envelope.type)
    assert route is not None
    return await apply_once(sessions, sub.name, envelope, route[1], payload)


def opportunity(
    opportunity_id: str, customer_id: str, status: str = "open", amount: str = "100"
) -> PipelineOpportunityState:
    return PipelineOpportunityState(
        opportunity_id=opportunity_id,
        customer_id=customer_id,
        owner_id="rep-a",
        status=status,
        amount=amount,
        currency="CNY",
    )


async def merge(sessions: SessionFactory, survivor: str, *merged: str) -> None:
    async with sessions() as session, session.begin():
        await record_merge(session, survivor, merged, T0)


async def rep_row(sessions: SessionFactory, customer_id: str) -> models.RepActivity | None:
    async with sessions() as session:
        return await session.get(models.RepActivity, (customer_id, "rep-a"))


async def test_events_naming_a_merged_customer_land_on_its_survivor(sessions: SessionFactory) -> None:
    pipeline, contracts = pipeline_subscription(), contracts_subscription()
    await merge(sessions, "c-b", "c-a")
    await merge(sessions, "c-c", "c-b")  # c-a was merged into c-b, c-b into c-c: both stand for c-c
    created = envelope_of(pipeline, OPPORTUNITY + "created", opportunity("o-1", "c-a"), "o-1", 1, T0)
    assert await deliver(sessions, pipeline, created, opportunity("o-1", "c-a"))
    won = opportunity("o-1", "c-b", "won", "150")
    assert await deliver(sessions, pipeline, envelope_of(pipeline, OPPORTUNITY + "won", won, "o-1", 2, T0), won)
    signed = ContractsContractState(contract_id="k-1", customer_id="c-a", status="signed", total="900", currency="CNY")
    event = envelope_of(contracts, "salesgrid.contracts.contract.signed", signed, "k-1", 1, T0)
    assert await deliver(sessions, contracts, event, signed)
    paid = ContractsReceiptRecorded(
        receipt_id="r-1", contract_id="k-1", customer_id="c-b", amount="400", currency="CNY"
    )
    assert await deliver(
        sessions, contracts, envelope_of(contracts, "salesgrid.contracts.receipt.recorded", paid, "r-1", 1, T0), paid
    )
    async with sessions() as session:
        fact = await session.get(models.OpportunityFact, "o-1")
        assert fact is not None and (fact.customer_id, fact.status, fact.amount) == ("c-c", "won", Decimal("150"))
        assert (await session.execute(select(models.ContractFact.customer_id, models.ContractFact.total))).all() == [
            ("c-c", Decimal("900"))
        ]
        assert (await session.execute(select(models.MoneyFact.customer_id, models.MoneyFact.amount))).all() == [
            ("c-c", Decimal("400"))
        ]
        assert set(await session.scalars(select(models.RepActivity.customer_id))) == {"c-c"}
    row = await rep_row(sessions, "c-c")
    assert row is not None and (row.first_opportunity_at, row.last_opportunity_at, row.last_deal_at) == (T0, T0, T0)


async def test_opportunity_and_deal_times_are_order_free_and_keep_the_follow_ups(sessions: SessionFactory) -> None:
    pipeline = pipeline_subscription()
    async with sessions() as session, session.begin():
        await record_follow_up(session, "c-1", "rep-a", T0 - timedelta(days=3))
    for number, days in enumerate((5, 2, 9)):  # three opportunities, created out of order
        payload = opportunity(f"o-{number}", "c-1")
        created = envelope_of(pipeline, OPPORTUNITY + "created", payload, f"o-{number}", 1, T0 + timedelta(days=days))
        assert await deliver(sessions, pipeline, created, payload)
    for number, days in ((0, 7), (1, 4)):  # a later deal first, then an earlier one
        payload = opportunity(f"o-{number}", "c-1", "won")
        won = envelope_of(pipeline, OPPORTUNITY + "won", payload, f"o-{number}", 2, T0 + timedelta(days=days))
        assert await deliver(sessions, pipeline, won, payload)
    row = await rep_row(sessions, "c-1")
    assert row is not None
    assert (row.follow_up_count, row.first_follow_up_at, row.last_follow_up_at) == (
        1,
        T0 - timedelta(days=3),
        T0 - timedelta(days=3),
    )
    assert (row.first_opportunity_at, row.last_opportunity_at, row.last_deal_at) == (
        T0 + timedelta(days=2),
        T0 + timedelta(days=9),
        T0 + timedelta(days=7),
    )


async def test_a_redelivered_event_is_applied_once(sessions: SessionFactory) -> None:
    activities, pipeline = activities_subscription(), pipeline_subscription()
    from salesgrid.events.v1.activities_events_pb2 import ActivitiesFollowUpLogged

    logged = ActivitiesFollowUpLogged(customer_id="c-1", owner_id="rep-a")
    follow_up = envelope_of(activities, "salesgrid.activities.follow_up.logged", logged, "f-1", 1, T0)
    payload = opportunity("o-1", "c-1")
    created = envelope_of(pipeline, OPPORTUNITY + "created", payload, "o-1", 1, T0)
    assert await deliver(sessions, activities, follow_up, logged)
    assert await deliver(sessions, pipeline, created, payload)
    assert not await deliver(sessions, activities, follow_up, logged)
    assert not await deliver(sessions, pipeline, created, payload)
    row = await rep_row(sessions, "c-1")
    assert row is not None and (row.follow_up_count, row.first_opportunity_at) == (1, T0)
    async with sessions() as session:
        assert await session.scalar(select(models.OpportunityFact.status)) == "open"


async def _facts_and_times(sessions: SessionFactory) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    async with sessions() as session:
        facts = (
            await session.execute(
                select(
                    models.OpportunityFact.opportunity_id,
                    models.OpportunityFact.customer_id,
                    models.OpportunityFact.status,
                    models.OpportunityFact.amount,
                ).order_by(models.OpportunityFact.opportunity_id)
            )
        ).all()
        times = (
            await session.execute(
                select(
                    models.RepActivity.customer_id,
                    models.RepActivity.rep_id,
                    models.RepActivity.first_opportunity_at,
                    models.RepActivity.last_opportunity_at,
                    models.RepActivity.last_deal_at,
                    models.RepActivity.follow_up_count,
                ).order_by(models.RepActivity.customer_id, models.RepActivity.rep_id)
            )
        ).all()
    return [tuple(row) for row in facts], [tuple(row) for row in times]


async def test_a_run_of_opportunity_events_leaves_what_they_leave_one_by_one(sessions: SessionFactory) -> None:
    """The consumer's batch form on a run as pipeline publishes them: times order-free, each
    opportunity's newest version stored (an older one arriving later in the run changes nothing),
    a merged customer's events on its survivor, an event without a customer ignored."""
    pipeline = pipeline_subscription()
    await merge(sessions, "c-2", "c-old")
    run = [  # (verb, version, state, hours after T0), in the order fetched
        ("created", 1, opportunity("o-1", "c-1"), 0),
        ("stage_changed", 3, opportunity("o-1", "c-1", "open", "120"), 5),
        ("stage_changed", 2, opportunity("o-1", "c-1", "open", "110"), 3),  # older: the state stays v3's
        ("created", 1, opportunity("o-2", "c-old"), 1),  # merged into c-2
        ("won", 2, opportunity("o-2", "c-old", "won", "300"), 7),
        ("created", 1, opportunity("o-3", "c-1"), 2),
        ("lost", 2, opportunity("o-3", "c-1", "lost"), 6),
        ("created", 1, opportunity("o-4", ""), 4),  # no customer yet
    ]
    items = [
        (
            envelope_of(pipeline, OPPORTUNITY + verb, state, state.opportunity_id, version, T0 + timedelta(hours=h)),
            state,
        )
        for verb, version, state, h in run
    ]
    handler = pipeline.batch_route(items[0][0].type)
    assert handler is not None and {pipeline.batch_route(e.type) for e, _ in items} == {handler}
    async with sessions() as session, session.begin():
        await handler(session, items)
    facts, times = await _facts_and_times(sessions)
    assert facts == [
        ("o-1", "c-1", "open", Decimal("120")),
        ("o-2", "c-2", "won", Decimal("300")),
        ("o-3", "c-1", "lost", Decimal("100")),
    ]
    assert times == [
        ("c-1", "rep-a", T0, T0 + timedelta(hours=2), None, 0),
        ("c-2", "rep-a", T0 + timedelta(hours=1), T0 + timedelta(hours=1), T0 + timedelta(hours=7), 0),
    ]
    # The same run one event at a time, on a fresh projection, leaves the same.
    async with sessions() as session, session.begin():
        for table in (models.OpportunityFact, models.RepActivity):
            await session.execute(table.__table__.delete())
        await session.execute(text("DELETE FROM projection_versions"))
    for envelope, state in items:
        route = pipeline.route(envelope.type)
        assert route is not None
        async with sessions() as session, session.begin():
            await route[1](session, envelope, state)
    assert await _facts_and_times(sessions) == (facts, times)
