"""Special-discount approvals (特批折扣) reach the inbox through activities' consumer of the pipeline
stream (SQLite and PostgreSQL): the approver whose turn it is, then the outcome for the quote's
owner and its issuer (a rejection with its reason)."""

from __future__ import annotations

from datetime import datetime, timedelta

from google.protobuf.message import Message

from salesgrid.activities.v1 import inbox_pb2 as pb
from salesgrid.events.v1.pipeline_events_pb2 import PipelineDiscountApprovalStep, PipelineQuoteState
from salesgrid_activities.handlers_inbox import pipeline_notices
from salesgrid_dev.testing import RunningService

from activities_inbox_fixtures import START, deliver_to, inbox_service, reader

SUB = pipeline_notices()


async def deliver(running: RunningService, event_type: str, payload: Message, at: datetime) -> None:
    await deliver_to(running, SUB, event_type, payload, at, aggregate_id="q-1")


async def test_special_discounts_in_the_approvers_and_the_reps_inbox(
    database_url: str, nats_url: str, test_keys
) -> None:  # type: ignore[no-untyped-def]
    async with inbox_service(database_url, nats_url, test_keys) as (running, stub):
        rep, mgr = reader(test_keys, "rep-a"), reader(test_keys, "mgr-1")
        step = PipelineDiscountApprovalStep(
            quote_id="q-1",
            quote_version=1,
            step_order=1,
            role="manager",
            approver_id="mgr-1",
            status="pending",
            owner_id="rep-a",
            discount_rate="25.00",
            submitted_by="rep-a",
        )
        await deliver(running, "salesgrid.pipeline.discount_approval.step_activated", step, START)
        await deliver(running, "salesgrid.pipeline.discount_approval.step_reminded", step, START + timedelta(minutes=5))
        rejected = PipelineDiscountApprovalStep()
        rejected.CopyFrom(step)
        rejected.status, rejected.comment = "rejected", "too deep"
        await deliver(
            running, "salesgrid.pipeline.discount_approval.step_rejected", rejected, START + timedelta(hours=1)
        )
        await deliver(
            running,
            "salesgrid.pipeline.quote.discount_approved",
            PipelineQuoteState(
                quote_id="q-2", version=2, owner_id="rep-a", discount_rate="15.00", discount_approval="approved"
            ),
            START + timedelta(hours=2),
        )

        asked = await stub.ListInbox(pb.ListInboxRequest(), metadata=mgr)
        assert [(i.kind, i.record.type, i.record.id, i.title) for i in asked.items] == [
            ("discount_approval", "quote", "q-1", "Reminder: A special discount of 25.00% awaits your approval"),
            ("discount_approval", "quote", "q-1", "A special discount of 25.00% awaits your approval"),
        ]
        told = await stub.ListInbox(pb.ListInboxRequest(), metadata=rep)
        assert [(i.kind, i.record.id, i.title) for i in told.items] == [
            ("discount_settled", "q-2", "The special discount of 15.00% was approved"),
            ("discount_settled", "q-1", "The special discount of 25.00% was rejected: too deep"),
        ]
