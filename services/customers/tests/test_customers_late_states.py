"""The customer 360's opportunity and contract facts keep the newest state: an older state event
redelivered after a crash (it comes back after ack_wait, behind newer ones) is ignored."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from google.protobuf.message import Message
from sqlalchemy import select

from salesgrid.events.v1.contracts_events_pb2 import ContractsContractState
from salesgrid.events.v1.pipeline_events_pb2 import PipelineOpportunityState
from salesgrid_common.events.consumer import Subscription, apply_once
from salesgrid_common.events.envelope import EventMeta, build_envelope
from salesgrid_dev.pytest_plugin import Migrated
from salesgrid_customers import models
from salesgrid_customers.app import MIGRATIONS
from salesgrid_customers.handlers import contracts_subscription, pipeline_subscription

NOW = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)


async def deliver(
    sessions,
    sub: Subscription,
    event_type: str,
    payload: Message,
    aggregate: str,  # type: ignore[no-untyped-def]
    version: int,
) -> None:
    envelope = build_envelope(event_type, sub.producer, payload, EventMeta(aggregate_id=aggregate), NOW, version)
    _, handler = sub.route(event_type)  # type: ignore[misc]
    await apply_once(sessions, sub.name, envelope, handler, payload)


async def test_late_older_states_do_not_overwrite_newer_ones(migrated: Migrated) -> None:
    sessions = await migrated(MIGRATIONS)
    pipeline, contracts = pipeline_subscription(), contracts_subscription()

    def opp(status: str, amount: str) -> PipelineOpportunityState:
        return PipelineOpportunityState(
            opportunity_id="o1", customer_id="c1", owner_id="rep-a", status=status, amount=amount, currency="CNY"
        )

    await deliver(sessions, pipeline, "salesgrid.pipeline.opportunity.created", opp("open", "100"), "o1", 1)
    await deliver(sessions, pipeline, "salesgrid.pipeline.opportunity.lost", opp("lost", "120"), "o1", 3)
    # v2 was held by a consumer that was killed; it comes back last.
    await deliver(sessions, pipeline, "salesgrid.pipeline.opportunity.stage_changed", opp("open", "120"), "o1", 2)

    def contract(status: str) -> ContractsContractState:
        return ContractsContractState(contract_id="k1", customer_id="c1", status=status, total="500", currency="CNY")

    await deliver(sessions, contracts, "salesgrid.contracts.contract.signed", contract("signed"), "k1", 4)
    await deliver(sessions, contracts, "salesgrid.contracts.contract.approved", contract("approved"), "k1", 3)
    async with sessions() as session:
        fact = await session.get(models.OpportunityFact, "o1")
        assert (fact.status, fact.amount) == ("lost", Decimal("120"))
        assert await session.scalar(select(models.ContractFact.status)) == "signed"
        # The order-free rep facts still took the late created event's time into account.
        rep = await session.get(models.RepActivity, ("c1", "rep-a"))
        assert rep.first_opportunity_at is not None
