"""Expense claims reach the inbox through activities' consumer of the expenses stream (SQLite and
PostgreSQL): the approver whose turn it is, the reminder, then the claimant's outcome."""

from __future__ import annotations

from datetime import datetime, timedelta

from google.protobuf.message import Message

from salesgrid.activities.v1 import inbox_pb2 as pb
from salesgrid.events.v1.expenses_events_pb2 import ExpensesApprovalStep, ExpensesClaimState
from salesgrid_activities.handlers_inbox import expenses_notices
from salesgrid_dev.testing import RunningService

from activities_inbox_fixtures import START, TEAM, deliver_to, inbox_service, reader

SUB = expenses_notices()


async def deliver(running: RunningService, event_type: str, payload: Message, at: datetime) -> None:
    await deliver_to(running, SUB, event_type, payload, at, aggregate_id="claim-1")


async def test_expense_claims_in_the_approvers_and_the_claimants_inbox(
    database_url: str, nats_url: str, test_keys
) -> None:  # type: ignore[no-untyped-def]
    async with inbox_service(database_url, nats_url, test_keys) as (running, stub):
        rep, sup = reader(test_keys, "rep-a"), reader(test_keys, "sup-1")
        step = ExpensesApprovalStep(
            claim_id="claim-1",
            step_order=1,
            role="supervisor",
            approver_id="sup-1",
            status="pending",
            owner_id="rep-a",
            total="430.05",
            currency="CNY",
        )
        await deliver(running, "salesgrid.expenses.approval.step_activated", step, START)
        await deliver(running, "salesgrid.expenses.approval.step_reminded", step, START + timedelta(days=1))
        await deliver(
            running,
            "salesgrid.expenses.claim.rejected",
            ExpensesClaimState(
                claim_id="claim-1",
                owner_id="rep-a",
                org_path=TEAM,
                currency="CNY",
                total="430.05",
                status="rejected",
                comment="no receipt date",
            ),
            START + timedelta(days=2),
        )

        asked = await stub.ListInbox(pb.ListInboxRequest(), metadata=sup)
        assert [(i.kind, i.record.type, i.record.id, i.title.startswith("Reminder")) for i in asked.items] == [
            ("expense_approval", "expense_claim", "claim-1", True),
            ("expense_approval", "expense_claim", "claim-1", False),
        ]
        told = await stub.ListInbox(pb.ListInboxRequest(), metadata=rep)
        assert [(i.kind, i.title) for i in told.items] == [
            ("expense_settled", "Your expense claim of 430.05 CNY was rejected: no receipt date")
        ]
