"""The inbox through gRPC on SQLite and PostgreSQL: notices from pipeline, customers, contracts
and activities' own scheduler become items for the right people, newest first, with links,
unread counts and read marks; redeliveries are absorbed; nobody reads another's inbox, and a
manager sees his team's escalations."""

from __future__ import annotations

from datetime import datetime, timedelta

import grpc
from google.protobuf.message import Message
from sqlalchemy import select

from salesgrid.activities.v1 import activities_pb2 as apb
from salesgrid.activities.v1 import activities_pb2_grpc as apb_grpc
from salesgrid.activities.v1 import inbox_pb2 as pb
from salesgrid.activities.v1 import inbox_pb2_grpc as pb_grpc
from salesgrid.events.v1.contracts_events_pb2 import ContractsInstalmentOverdue
from salesgrid.events.v1.customers_events_pb2 import (
    CustomerArbitrationDecided,
    CustomerMerged,
    CustomerPoolReturnWarning,
    CustomerShareRequestState,
)
from salesgrid.events.v1.envelope_pb2 import Envelope
from salesgrid.events.v1.pipeline_events_pb2 import PipelineSlaNotice
from salesgrid_activities.app import DEFINITION, MIGRATIONS
from salesgrid_activities.handlers_inbox import inbox_subscriptions
from salesgrid_activities.models import SchedulerMark
from salesgrid_activities.usecases import ActivitiesUseCases
from salesgrid_common.clock import FakeClock
from salesgrid_common.protos import to_timestamp as ts
from salesgrid_dev.directory_seed import add_user, replica
from salesgrid_dev.testing import RunningService, bearer, eventually, field_violations, principal, run_service

from activities_inbox_fixtures import START, TEAM, deliver_to, inbox_service
from activities_fixtures import rpc_error

BRANCH = "/c/r1/b1/"
OTHER = "/c/r2/b2/t2/"
READ = {"activities:read": "own", "tasks:read": "own", "tasks:create": "own", "tasks:update": "own"}
SUBS = {sub.producer: sub for sub in inbox_subscriptions()}


async def deliver(
    running: RunningService,
    event_type: str,
    payload: Message,
    at: datetime,
    org_path: str = TEAM,
    envelope: Envelope | None = None,
) -> Envelope:
    sub = SUBS[event_type.split(".")[1]]
    return await deliver_to(running, sub, event_type, payload, at, org_path=org_path, envelope=envelope)


async def people(running: RunningService) -> None:
    async with replica(running) as session:
        for user_id, path, manager in (
            ("rep-a", TEAM, "mgr"),
            ("rep-b", OTHER, None),
            ("mgr", BRANCH, "dir"),
            ("dir", "/c/", None),
        ):
            await add_user(session, user_id, path, unit_id="u", manager_id=manager, at=START)


def tokens(keys) -> dict[str, tuple[tuple[str, str], ...]]:  # type: ignore[no-untyped-def]
    return {
        "rep": bearer(keys.token(principal("rep-a", TEAM, permissions=READ))),
        "other": bearer(keys.token(principal("rep-b", OTHER, permissions=READ))),
        "mgr": bearer(keys.token(principal("mgr", BRANCH, permissions={"activities:read": "subtree"}))),
        "dir": bearer(keys.token(principal("dir", "/c/", permissions={"activities:read": "all"}))),
    }


async def test_notices_become_items_newest_first_with_links_counts_and_read_marks(
    database_url: str, nats_url: str, test_keys
) -> None:  # type: ignore[no-untyped-def]
    async with inbox_service(database_url, nats_url, test_keys) as (running, stub):
        await people(running)
        who = tokens(test_keys)
        warning = await deliver(
            running,
            "salesgrid.customers.customer.pool_return_warning",
            CustomerPoolReturnWarning(
                customer_id="cust-1", owner_id="rep-a", rule="no_follow_up", due_at="2026-03-17T00:00:00Z"
            ),
            START,
        )
        await deliver(
            running,
            "salesgrid.contracts.instalment.overdue",
            ContractsInstalmentOverdue(
                contract_id="ctr-1",
                number="HT-001",
                customer_id="cust-1",
                owner_id="rep-a",
                seq=2,
                due_date="2026-03-09",
                outstanding="5000.00",
                currency="CNY",
            ),
            START + timedelta(minutes=1),
        )
        await deliver(
            running,
            "salesgrid.customers.customer.arbitration_decided",
            CustomerArbitrationDecided(
                arbitration_id="arb-1",
                customer_ids=["cust-1", "cust-9"],
                rep_ids=["rep-a", "rep-b"],
                winner_rep_id="rep-b",
                winner_customer_id="cust-9",
                rule="exact_name",
                reason="registered name",
            ),
            START + timedelta(minutes=2),
        )
        await deliver(
            running,
            "salesgrid.pipeline.sla.overdue",
            PipelineSlaNotice(
                opportunity_id="opp-1",
                stage="project_approval",
                level="overdue",
                recipient_ids=["rep-a", "mgr"],
                owner_id="rep-a",
                due_at=ts(START - timedelta(days=1)),
            ),
            START + timedelta(minutes=3),
        )
        # A redelivered event is absorbed: still one item.
        await deliver(
            running,
            "salesgrid.customers.customer.pool_return_warning",
            CustomerPoolReturnWarning(),
            START,
            envelope=warning,
        )

        listed = await stub.ListInbox(pb.ListInboxRequest(), metadata=who["rep"])
        assert [(i.kind, i.record.type, i.record.id) for i in listed.items] == [
            ("sla_overdue", "opportunity", "opp-1"),
            ("ownership_decided", "customer", "cust-9"),
            ("instalment_overdue", "contract", "ctr-1"),
            ("pool_return_warning", "customer", "cust-1"),
        ]
        assert "HT-001" in listed.items[2].title and "2026-03-17" in listed.items[3].title
        # ... and the facts of each title, for clients that render it in their own language
        assert listed.items[2].params["number"] == "HT-001"
        assert dict(listed.items[3].params) == {"date": "2026-03-17", "rule": listed.items[3].params["rule"]}
        assert not any(i.read for i in listed.items)
        # Both reps of the ownership conflict are told; the manager gets the SLA reminder.
        other = await stub.ListInbox(pb.ListInboxRequest(), metadata=who["other"])
        assert [i.kind for i in other.items] == ["ownership_decided"]
        assert [i.kind for i in (await stub.ListInbox(pb.ListInboxRequest(), metadata=who["mgr"])).items] == [
            "sla_overdue"
        ]

        count = await stub.CountUnread(pb.CountUnreadRequest(), metadata=who["rep"])
        assert count.unread == 4 and dict(count.by_kind)["sla_overdue"] == 1
        read = await stub.MarkRead(pb.MarkReadRequest(id=listed.items[0].id), metadata=who["rep"])
        assert read.read and read.HasField("read_at")
        assert (await stub.CountUnread(pb.CountUnreadRequest(), metadata=who["rep"])).unread == 3
        unread = await stub.ListInbox(pb.ListInboxRequest(unread_only=True), metadata=who["rep"])
        assert [i.kind for i in unread.items] == ["ownership_decided", "instalment_overdue", "pool_return_warning"]

        # Cursor pages: never a repeat or a gap.
        first = await stub.ListInbox(pb.ListInboxRequest(page_size=3), metadata=who["rep"])
        second = await stub.ListInbox(
            pb.ListInboxRequest(page_size=3, page_token=first.next_page_token), metadata=who["rep"]
        )
        assert [i.id for i in first.items] + [i.id for i in second.items] == [i.id for i in listed.items]
        assert not second.next_page_token
        only = await stub.ListInbox(pb.ListInboxRequest(kind="instalment_overdue"), metadata=who["rep"])
        assert [i.record.id for i in only.items] == ["ctr-1"]

        # Nobody reads or marks another's items.
        foreign = await rpc_error(stub.MarkRead(pb.MarkReadRequest(id=listed.items[1].id), metadata=who["other"]))
        assert foreign.code() == grpc.StatusCode.NOT_FOUND
        marked = await stub.MarkAllRead(pb.MarkAllReadRequest(kind="pool_return_warning"), metadata=who["rep"])
        assert marked.marked == 1
        assert (await stub.MarkAllRead(pb.MarkAllReadRequest(), metadata=who["rep"])).marked == 2
        assert (await stub.CountUnread(pb.CountUnreadRequest(), metadata=who["rep"])).unread == 0
        assert (await stub.CountUnread(pb.CountUnreadRequest(), metadata=who["other"])).unread == 1

        # A merge re-points links to the merged customer at the survivor.
        await deliver(
            running,
            "salesgrid.customers.customer.merged",
            CustomerMerged(survivor_id="cust-7", merged_ids=["cust-1"], owner_id="rep-a", org_path=TEAM),
            START,
        )
        relinked = await stub.ListInbox(pb.ListInboxRequest(kind="pool_return_warning"), metadata=who["rep"])
        assert [i.record.id for i in relinked.items] == ["cust-7"]

        bad_kind = await rpc_error(stub.ListInbox(pb.ListInboxRequest(kind="gossip"), metadata=who["rep"]))
        assert bad_kind.code() == grpc.StatusCode.INVALID_ARGUMENT and field_violations(bad_kind) == ["kind"]
        bad_cursor = await rpc_error(stub.ListInbox(pb.ListInboxRequest(page_token="nope"), metadata=who["rep"]))
        assert field_violations(bad_cursor) == ["cursor"]


async def test_a_manager_sees_his_teams_escalations_and_share_requests_reach_owner_and_manager(
    database_url: str, nats_url: str, test_keys
) -> None:  # type: ignore[no-untyped-def]
    async with inbox_service(database_url, nats_url, test_keys) as (running, stub):
        await people(running)
        who = tokens(test_keys)
        await deliver(
            running,
            "salesgrid.pipeline.sla.escalated",
            PipelineSlaNotice(
                opportunity_id="opp-1",
                stage="bidding",
                level="escalated",
                recipient_ids=["rep-a", "mgr", "dir"],
                owner_id="rep-a",
                due_at=ts(START - timedelta(days=30)),
            ),
            START,
        )
        await deliver(
            running,
            "salesgrid.pipeline.sla.escalated",
            PipelineSlaNotice(
                opportunity_id="opp-2",
                stage="bidding",
                level="escalated",
                recipient_ids=["rep-b"],
                owner_id="rep-b",
                due_at=ts(START - timedelta(days=30)),
            ),
            START,
            org_path=OTHER,
        )
        # Everyone named gets his own copy of the escalation.
        for name in ("rep", "mgr", "dir"):
            items = (await stub.ListInbox(pb.ListInboxRequest(), metadata=who[name])).items
            assert [(i.kind, i.record.id) for i in items] == [("sla_escalated", "opp-1")], name
        # Team view: one item per notice, for records in the caller's scope only.
        team = await stub.ListInbox(pb.ListInboxRequest(team=True, kind="sla_escalated"), metadata=who["mgr"])
        assert [(i.record.id, i.recipient_id) for i in team.items] == [("opp-1", "rep-a")]
        company = await stub.ListInbox(pb.ListInboxRequest(team=True), metadata=who["dir"])
        assert sorted(i.record.id for i in company.items) == ["opp-1", "opp-2"]
        own_scope = await stub.ListInbox(pb.ListInboxRequest(team=True), metadata=who["other"])
        assert [i.record.id for i in own_scope.items] == ["opp-2"]

        request = CustomerShareRequestState(
            request_id="sr-1",
            customer_id="cust-1",
            customer_name="上海某某有限公司",
            requester_id="rep-b",
            requester_name="Rep B",
            owner_id="rep-a",
            owner_manager_id="mgr",
            status="pending",
            role="collaborator",
        )
        await deliver(running, "salesgrid.customers.share_request.created", request, START + timedelta(hours=1))
        for name in ("rep", "mgr"):
            newest = (await stub.ListInbox(pb.ListInboxRequest(), metadata=who[name])).items[0]
            assert (newest.kind, newest.record.type, newest.record.id) == ("share_requested", "share_request", "sr-1")
            assert "Rep B" in newest.title
        request.status, request.decided_by, request.decided_by_name = "accepted", "mgr", "Manager M"
        await deliver(running, "salesgrid.customers.share_request.accepted", request, START + timedelta(hours=2))
        for name in ("rep", "other"):
            newest = (await stub.ListInbox(pb.ListInboxRequest(), metadata=who[name])).items[0]
            assert newest.kind == "share_request_decided" and "accepted by Manager M" in newest.title


async def test_task_reminders_from_the_scheduler_reach_the_assignee(
    database_url: str, nats_url: str, test_keys
) -> None:  # type: ignore[no-untyped-def]
    clock = FakeClock(START)
    async with run_service(DEFINITION, MIGRATIONS, database_url, nats_url, test_keys, clock=clock) as running:
        await people(running)
        stub, who = pb_grpc.InboxStub(running.channel), tokens(test_keys)
        uc = running.app.ctx.component(ActivitiesUseCases)

        async def schedulers_started() -> bool:  # their first run marks where firing starts
            async with running.app.ctx.sessions() as session:
                return len((await session.scalars(select(SchedulerMark.name))).all()) == 2

        await eventually(schedulers_started)
        task = await apb_grpc.ActivitiesStub(running.channel).CreateTask(
            apb.CreateTaskRequest(
                title="visit the plant",
                start_at=ts(START + timedelta(hours=1)),
                end_at=ts(START + timedelta(hours=2)),
                due_at=ts(START + timedelta(hours=2)),
                reminder_minutes=[30],
            ),
            metadata=who["rep"],
        )
        clock.advance(timedelta(hours=2, minutes=1))
        assert await uc.fire_due_reminders() == 1 and await uc.fire_overdue_tasks() == 1
        # The live path: outbox → relay → NATS → this service's own inbox consumer.

        async def both_arrived() -> list[pb.InboxItem]:
            found = (await stub.ListInbox(pb.ListInboxRequest(), metadata=who["rep"])).items
            return list(found) if len(found) >= 2 else []

        await eventually(both_arrived, timeout=20)
        items = (await stub.ListInbox(pb.ListInboxRequest(), metadata=who["rep"])).items
        assert sorted((i.kind, i.record.type, i.record.id) for i in items) == [
            ("task_overdue", "task", task.id),
            ("task_reminder", "task", task.id),
        ]
