"""Expense claims reach the inbox through activities' consumer of the expenses stream (SQLite and
PostgreSQL): the approver whose turn it is, the reminder, then the claimant's outcome."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from google.protobuf.message import Message

from salesgrid.activities.v1 import inbox_pb2 as pb
from salesgrid.activities.v1 import inbox_pb2_grpc as pb_grpc
from salesgrid.events.v1.expenses_events_pb2 import ExpensesApprovalStep, ExpensesClaimState
from salesgrid_activities.app import DEFINITION, MIGRATIONS
from salesgrid_activities.handlers_inbox import expenses_notices
from salesgrid_common.clock import FakeClock
from salesgrid_common.events.consumer import apply_once
from salesgrid_common.events.envelope import EventMeta, build_envelope, unpack
from salesgrid_dev.testing import RunningService, bearer, principal, run_service

START = datetime(2026, 3, 10, 1, 0, tzinfo=UTC)
TEAM = "/c/r1/b1/t1/"
SUB = expenses_notices()


async def deliver(running: RunningService, event_type: str, payload: Message, at: datetime) -> None:
    envelope = build_envelope(event_type, "expenses", payload, EventMeta(aggregate_id="claim-1", org_path=TEAM), at)
    route = SUB.route(event_type)
    assert route is not None and route[0] is not None
    await apply_once(running.app.ctx.sessions, SUB.name, envelope, route[1], unpack(envelope, route[0]))


async def test_expense_claims_in_the_approvers_and_the_claimants_inbox(
    database_url: str, nats_url: str, test_keys
) -> None:  # type: ignore[no-untyped-def]
    async with run_service(
        DEFINITION, MIGRATIONS, database_url, nats_url, test_keys, clock=FakeClock(START)
    ) as running:
        stub = pb_grpc.InboxStub(running.channel)
        rep = bearer(test_keys.token(principal("rep-a", TEAM, permissions={"activities:read": "own"})))
        sup = bearer(test_keys.token(principal("sup-1", TEAM, permissions={"activities:read": "own"})))
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
