"""The activities service end to end through gRPC, on SQLite and PostgreSQL: follow-ups, check-ins,
tasks, daily reports with the missing-report scheduler on a fake clock, scope, bad input, events."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from google.rpc import error_details_pb2, status_pb2
from sqlalchemy import func, select

from salesgrid.activities.v1 import activities_pb2 as pb
from salesgrid.activities.v1 import activities_pb2_grpc as pb_grpc
from salesgrid_activities.app import DEFINITION, MIGRATIONS
from salesgrid_activities.models import CustomerLocation, DailyReportRow, VisitRow
from salesgrid_common.clock import FakeClock
from salesgrid_common.directory import directory_users
from salesgrid_common.events.tables import outbox
from salesgrid_dev.testing import bearer, principal, run_service

MANAGER_PATH = "/c/r1/b1/"
TEAM_PATH = "/c/r1/b1/t1/"
OTHER_PATH = "/c/r2/b2/t2/"
REP_PERMS = {p: "own" for p in ("activities:read", "activities:create", "tasks:read", "tasks:create",
                                "tasks:update", "daily_reports:read", "daily_reports:create")}
MANAGER_PERMS = {**{p: "subtree" for p in REP_PERMS}, "daily_reports:review": "subtree"}
START = datetime(2026, 3, 10, 9, 59, 59, tzinfo=UTC)  # 17:59:59 in Shanghai, 10:59:59 in Berlin


def ts(value: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(value)
    return stamp


def fields_of(error: grpc.aio.AioRpcError) -> list[str]:
    """Field names of the BadRequest violations carried in the status details."""
    for key, value in error.trailing_metadata() or ():
        if key == "grpc-status-details-bin":
            status = status_pb2.Status.FromString(value)
            for detail in status.details:
                if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
                    bad = error_details_pb2.BadRequest()
                    detail.Unpack(bad)
                    return [v.field for v in bad.field_violations]
    return []


async def rpc_error(call) -> grpc.aio.AioRpcError:  # type: ignore[no-untyped-def]
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await call
    return info.value


class World:
    """The service plus a few people, each with a token."""

    def __init__(self, running, keys) -> None:  # type: ignore[no-untyped-def]
        self.running = running
        self.stub = pb_grpc.ActivitiesStub(running.channel)
        self.sessions = running.app.ctx.sessions
        self.usecases = running.app.ctx.extras["usecases"]
        self.meta = {
            "rep": bearer(keys.token(principal("rep-a", TEAM_PATH, permissions=REP_PERMS))),
            "rep2": bearer(keys.token(principal("rep-c", TEAM_PATH, permissions=REP_PERMS))),
            "other": bearer(keys.token(principal("rep-b", OTHER_PATH, permissions=REP_PERMS))),
            "manager": bearer(keys.token(principal("mgr", MANAGER_PATH, permissions=MANAGER_PERMS))),
        }

    async def add_users(self, *users: tuple[str, str, str, str]) -> None:
        async with self.sessions() as session, session.begin():
            for user_id, org_path, zone, roles in users:
                await session.execute(directory_users.insert().values(
                    user_id=user_id, login=user_id, display_name=user_id, unit_id="u", org_path=org_path,
                    manager_id=None, roles=roles, active=True, time_zone=zone, updated_at=START))

    async def events(self) -> list[str]:
        """Event types in the outbox, sorted (events of one transaction share their timestamp)."""
        async with self.sessions() as session:
            return sorted((await session.scalars(select(outbox.c.subject))).all())

    async def count(self, model) -> int:  # type: ignore[no-untyped-def]
        async with self.sessions() as session:
            return await session.scalar(select(func.count()).select_from(model)) or 0


async def test_follow_ups_and_check_ins(database_url: str, nats_url: str, test_keys) -> None:
    clock = FakeClock(START)
    async with run_service(DEFINITION, MIGRATIONS, database_url, nats_url, test_keys, clock=clock) as running:
        w = World(running, test_keys)
        logged = await w.stub.LogFollowUp(pb.LogFollowUpRequest(
            kind="call", occurred_at=ts(START - timedelta(hours=1)), notes="discussed renewal",
            customer_id="cust-1", next_follow_up_on="2026-03-12"), metadata=w.meta["rep"])
        assert (logged.owner_id, logged.org_path, logged.next_follow_up_on) == ("rep-a", TEAM_PATH, "2026-03-12")

        bad = await rpc_error(w.stub.LogFollowUp(pb.LogFollowUpRequest(
            kind="fax", occurred_at=ts(START), notes="x", customer_id="cust-1"), metadata=w.meta["rep"]))
        assert bad.code() == grpc.StatusCode.INVALID_ARGUMENT and fields_of(bad) == ["kind"]

        # Scope: the rep and his manager see the follow-up, a rep of another branch does not.
        for who, expected in (("rep", 1), ("manager", 1), ("other", 0)):
            listed = await w.stub.ListFollowUps(pb.ListFollowUpsRequest(customer_id="cust-1"), metadata=w.meta[who])
            assert len(listed.follow_ups) == expected, who

        reading = pb.LocationReading(latitude=91, longitude=121.47, accuracy_m=10, device_time=ts(START))
        bad = await rpc_error(w.stub.CheckIn(pb.CheckInRequest(customer_id="cust-1", reading=reading),
                                             metadata=w.meta["rep"]))
        assert bad.code() == grpc.StatusCode.INVALID_ARGUMENT and fields_of(bad) == ["latitude"]
        future = pb.LocationReading(latitude=31.23, longitude=121.47, accuracy_m=10,
                                    device_time=ts(START + timedelta(hours=1)))
        bad = await rpc_error(w.stub.CheckIn(pb.CheckInRequest(customer_id="cust-1", reading=future),
                                             metadata=w.meta["rep"]))
        assert fields_of(bad) == ["device_time"]
        assert await w.count(VisitRow) == 0

        # No reference coordinates yet (customers events will feed them): flagged no_reference.
        reading = pb.LocationReading(latitude=31.2304, longitude=121.4737, accuracy_m=15, device_time=ts(START))
        unknown = await w.stub.CheckIn(pb.CheckInRequest(customer_id="cust-1", reading=reading),
                                       metadata=w.meta["rep"])
        assert unknown.flagged and list(unknown.check_in.flags) == ["no_reference"]
        assert not unknown.check_in.has_distance

        async with w.sessions() as session, session.begin():
            session.add(CustomerLocation(customer_id="cust-2", latitude=31.2310, longitude=121.4740, updated_at=START))
        near = await w.stub.CheckIn(pb.CheckInRequest(customer_id="cust-2", reading=reading), metadata=w.meta["rep"])
        assert not near.flagged and near.check_in.has_distance and 50 < near.check_in.distance_m < 100

        clock.advance(timedelta(minutes=45))
        out = pb.LocationReading(latitude=31.2500, longitude=121.4740, accuracy_m=10,
                                 device_time=ts(START + timedelta(minutes=45)))
        # Someone else's visit is invisible; the rep's own closes with its duration and a far check-out flagged.
        denied = await rpc_error(w.stub.CheckOut(pb.CheckOutRequest(visit_id=near.id, reading=out),
                                                 metadata=w.meta["other"]))
        assert denied.code() == grpc.StatusCode.NOT_FOUND
        closed = await w.stub.CheckOut(pb.CheckOutRequest(visit_id=near.id, reading=out), metadata=w.meta["rep"])
        assert closed.duration_seconds == 45 * 60 and closed.HasField("check_out")
        assert closed.flagged and list(closed.check_out.flags) == ["too_far"] and closed.check_out.distance_m > 2000
        again = await rpc_error(w.stub.CheckOut(pb.CheckOutRequest(visit_id=near.id, reading=out),
                                                metadata=w.meta["rep"]))
        assert again.code() == grpc.StatusCode.FAILED_PRECONDITION

        flagged = await w.stub.ListVisits(pb.ListVisitsRequest(flagged_only=True), metadata=w.meta["manager"])
        assert {v.id for v in flagged.visits} == {unknown.id, near.id}
        assert not (await w.stub.ListVisits(pb.ListVisitsRequest(), metadata=w.meta["other"])).visits

        assert await w.events() == sorted([
            "salesgrid.activities.follow_up.logged",
            "salesgrid.activities.check_in.recorded", "salesgrid.activities.check_in.flagged",
            "salesgrid.activities.check_in.recorded",
            "salesgrid.activities.check_out.recorded",
        ])


async def test_tasks(database_url: str, nats_url: str, test_keys) -> None:
    clock = FakeClock(START)
    async with run_service(DEFINITION, MIGRATIONS, database_url, nats_url, test_keys, clock=clock) as running:
        w = World(running, test_keys)
        await w.add_users(("rep-a", TEAM_PATH, "Asia/Shanghai", "rep"), ("rep-b", OTHER_PATH, "Europe/Berlin", "rep"))

        own = await w.stub.CreateTask(pb.CreateTaskRequest(title="call back", due_at=ts(START + timedelta(hours=2)),
                                                           reminder_minutes=[15, 60]), metadata=w.meta["rep"])
        assert (own.assignee_id, own.status, list(own.reminder_minutes)) == ("rep-a", "accepted", [60, 15])

        assigned = await w.stub.CreateTask(pb.CreateTaskRequest(
            assignee_id="rep-a", title="visit the plant", due_at=ts(START + timedelta(hours=1))),
            metadata=w.meta["manager"])
        assert (assigned.status, assigned.org_path) == ("pending_acceptance", TEAM_PATH)

        outside = await rpc_error(w.stub.CreateTask(pb.CreateTaskRequest(assignee_id="rep-b", title="x"),
                                                    metadata=w.meta["manager"]))
        assert outside.code() == grpc.StatusCode.PERMISSION_DENIED
        bad = await rpc_error(w.stub.CreateTask(pb.CreateTaskRequest(title="  "), metadata=w.meta["rep"]))
        assert bad.code() == grpc.StatusCode.INVALID_ARGUMENT and fields_of(bad) == ["title"]

        # Only the assignee answers: the creator cannot, another rep does not even see the task.
        creator = await rpc_error(w.stub.AcceptTask(pb.AcceptTaskRequest(id=assigned.id), metadata=w.meta["manager"]))
        assert creator.code() == grpc.StatusCode.PERMISSION_DENIED
        stranger = await rpc_error(w.stub.AcceptTask(pb.AcceptTaskRequest(id=assigned.id), metadata=w.meta["other"]))
        assert stranger.code() == grpc.StatusCode.NOT_FOUND
        no_reason = await rpc_error(w.stub.RejectTask(pb.RejectTaskRequest(id=assigned.id), metadata=w.meta["rep"]))
        assert fields_of(no_reason) == ["reason"]

        accepted = await w.stub.AcceptTask(pb.AcceptTaskRequest(id=assigned.id), metadata=w.meta["rep"])
        assert accepted.status == "accepted" and accepted.version == 2
        clock.advance(timedelta(hours=1, minutes=30))
        overdue = await w.stub.ListTasks(pb.ListTasksRequest(overdue_only=True), metadata=w.meta["manager"])
        assert [t.id for t in overdue.tasks] == [assigned.id] and overdue.tasks[0].overdue
        done = await w.stub.CompleteTask(pb.CompleteTaskRequest(id=assigned.id), metadata=w.meta["rep"])
        assert done.status == "completed" and not done.overdue

        assert len((await w.stub.ListTasks(pb.ListTasksRequest(), metadata=w.meta["rep"])).tasks) == 2
        assert not (await w.stub.ListTasks(pb.ListTasksRequest(), metadata=w.meta["other"])).tasks
        assert await w.events() == sorted(f"salesgrid.activities.task.{verb}"
                                          for verb in ("created", "created", "accepted", "completed"))


async def test_daily_reports_across_time_zones(database_url: str, nats_url: str, test_keys) -> None:
    clock = FakeClock(START)
    async with run_service(DEFINITION, MIGRATIONS, database_url, nats_url, test_keys, clock=clock) as running:
        w = World(running, test_keys)
        unknown = await rpc_error(w.stub.SubmitDailyReport(pb.SubmitDailyReportRequest(summary="x"),
                                                           metadata=w.meta["rep"]))
        assert unknown.code() == grpc.StatusCode.FAILED_PRECONDITION
        await w.add_users(("rep-a", TEAM_PATH, "Asia/Shanghai", "rep"), ("rep-c", TEAM_PATH, "Asia/Shanghai", "rep"),
                          ("rep-b", "/c/r1/b1/t9/", "Europe/Berlin", "rep"), ("mgr", MANAGER_PATH, "Asia/Shanghai",
                                                                                "manager"))
        assert await w.usecases.close_report_days() == 0  # first sight of each zone: starts tomorrow

        on_time = await w.stub.SubmitDailyReport(pb.SubmitDailyReportRequest(
            summary="two visits", tomorrow_plan="quote"), metadata=w.meta["rep"])
        assert (on_time.status, on_time.report_date, on_time.time_zone) == ("on_time", "2026-03-10", "Asia/Shanghai")
        empty = await rpc_error(w.stub.SubmitDailyReport(pb.SubmitDailyReportRequest(summary=" "),
                                                         metadata=w.meta["rep2"]))
        assert fields_of(empty) == ["summary"]

        # Shanghai's midnight closes its day (rep-c missing); Berlin's day is still open.
        clock.now = datetime(2026, 3, 10, 16, 0, tzinfo=UTC)
        assert await w.usecases.close_report_days() == 1

        clock.now = datetime(2026, 3, 10, 17, 0, 1, tzinfo=UTC)  # 18:00:01 in Berlin
        berlin = bearer(test_keys.token(principal("rep-b", "/c/r1/b1/t9/", permissions=REP_PERMS)))
        late = await w.stub.SubmitDailyReport(pb.SubmitDailyReportRequest(summary="late one"), metadata=berlin)
        assert late.status == "late"
        twice = await rpc_error(w.stub.SubmitDailyReport(pb.SubmitDailyReportRequest(summary="again"),
                                                         metadata=berlin))
        assert twice.code() == grpc.StatusCode.ABORTED and fields_of(twice) == ["report_date"]
        clock.now = datetime(2026, 3, 10, 23, 0, tzinfo=UTC)  # Berlin midnight: everyone there filed
        assert await w.usecases.close_report_days() == 0
        assert await w.usecases.close_report_days() == 0  # idempotent
        assert await w.count(DailyReportRow) == 3

        denied = await rpc_error(w.stub.FalsifyDailyReport(pb.FalsifyDailyReportRequest(id=on_time.id, comment="no"),
                                                           metadata=w.meta["rep2"]))
        assert denied.code() == grpc.StatusCode.PERMISSION_DENIED
        falsified = await w.stub.FalsifyDailyReport(pb.FalsifyDailyReportRequest(
            id=on_time.id, comment="visits not in check-ins"), metadata=w.meta["manager"])
        assert falsified.falsified and falsified.falsified_by == "mgr"

        compliance = await w.stub.GetDailyReportCompliance(pb.GetDailyReportComplianceRequest(
            from_date="2026-03-10", to_date="2026-03-10"), metadata=w.meta["manager"])
        team = compliance.team
        assert (team.on_time, team.late, team.missing, team.falsified, team.compliant, team.total) == (1, 1, 1, 1, 0, 3)
        assert team.rate == "0.0000"
        mine = await w.stub.GetDailyReportCompliance(pb.GetDailyReportComplianceRequest(), metadata=w.meta["rep"])
        assert [r.rep_id for r in mine.reps] == ["rep-a"]

        ledger = await w.stub.GetPolicyLedger(pb.GetPolicyLedgerRequest(), metadata=w.meta["manager"])
        assert {r.rep_id: r.total for r in ledger.reps} == {"rep-a": "50", "rep-b": "10", "rep-c": "30"}
        bad_date = await rpc_error(w.stub.GetPolicyLedger(pb.GetPolicyLedgerRequest(from_date="10/03/2026"),
                                                          metadata=w.meta["manager"]))
        assert fields_of(bad_date) == ["from_date"]

        assert await w.events() == sorted(f"salesgrid.activities.daily_report.{verb}" for verb in (
            "submitted", "missing", "submitted", "late", "falsified"))
