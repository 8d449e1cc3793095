"""The activities service end to end through gRPC, on SQLite and PostgreSQL: follow-ups, check-ins,
tasks, daily reports with the missing-report scheduler on a fake clock, scope, bad input, events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import grpc
import pytest
from sqlalchemy import func, select

from salesgrid.activities.v1 import activities_pb2 as pb
from salesgrid.activities.v1 import activities_pb2_grpc as pb_grpc
from salesgrid_activities.app import DEFINITION, MIGRATIONS
from salesgrid_activities.models import CustomerLocation, DailyReportRow, UnitPolicyRow, VisitRow
from salesgrid_activities.usecases import ActivitiesUseCases
from salesgrid_common.clock import FakeClock
from salesgrid_common.events.tables import outbox
from salesgrid_common.protos import to_timestamp as ts
from salesgrid_dev.directory_seed import add_unit, add_user, replica
from salesgrid_dev.testing import (
    bearer,
    consumer_applied,
    eventually,
    field_violations,
    principal,
    publish_customer_merge,
    run_service,
)

MANAGER_PATH = "/c/r1/b1/"
TEAM_PATH = "/c/r1/b1/t1/"
OTHER_PATH = "/c/r2/b2/t2/"
REP_PERMS = {
    p: "own"
    for p in (
        "activities:read",
        "activities:create",
        "tasks:read",
        "tasks:create",
        "tasks:update",
        "daily_reports:read",
        "daily_reports:create",
    )
}
MANAGER_PERMS = {**{p: "subtree" for p in REP_PERMS}, "daily_reports:review": "subtree"}
START = datetime(2026, 3, 10, 9, 59, 59, tzinfo=UTC)  # 17:59:59 in Shanghai, 10:59:59 in Berlin


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
        self.usecases = running.app.ctx.component(ActivitiesUseCases)
        self.meta = {
            "rep": bearer(keys.token(principal("rep-a", TEAM_PATH, permissions=REP_PERMS))),
            "rep2": bearer(keys.token(principal("rep-c", TEAM_PATH, permissions=REP_PERMS))),
            "other": bearer(keys.token(principal("rep-b", OTHER_PATH, permissions=REP_PERMS))),
            "manager": bearer(keys.token(principal("mgr", MANAGER_PATH, permissions=MANAGER_PERMS))),
        }

    async def add_users(self, *users: tuple[str, str, str, str], unit_id: str = "u") -> None:
        async with replica(self.running) as session:
            for user_id, org_path, zone, roles in users:
                await add_user(session, user_id, org_path, unit_id=unit_id, roles=roles, zone=zone, at=START)

    async def add_units(self, *units: tuple[str, str, str]) -> None:
        async with replica(self.running) as session:
            for unit_id, path, zone in units:
                await add_unit(session, unit_id, path, zone=zone, at=START)

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
        logged = await w.stub.LogFollowUp(
            pb.LogFollowUpRequest(
                kind="call",
                occurred_at=ts(START - timedelta(hours=1)),
                notes="discussed renewal",
                customer_id="cust-1",
                next_follow_up_on="2026-03-12",
            ),
            metadata=w.meta["rep"],
        )
        assert (logged.owner_id, logged.org_path, logged.next_follow_up_on) == ("rep-a", TEAM_PATH, "2026-03-12")

        bad = await rpc_error(
            w.stub.LogFollowUp(
                pb.LogFollowUpRequest(kind="fax", occurred_at=ts(START), notes="x", customer_id="cust-1"),
                metadata=w.meta["rep"],
            )
        )
        assert bad.code() == grpc.StatusCode.INVALID_ARGUMENT and field_violations(bad) == ["kind"]

        # Scope: the rep and his manager see the follow-up, a rep of another branch does not.
        for who, expected in (("rep", 1), ("manager", 1), ("other", 0)):
            listed = await w.stub.ListFollowUps(pb.ListFollowUpsRequest(customer_id="cust-1"), metadata=w.meta[who])
            assert len(listed.follow_ups) == expected and not listed.HasField("total"), who  # counted when asked
            counted = await w.stub.ListFollowUps(
                pb.ListFollowUpsRequest(customer_id="cust-1", include_total=True), metadata=w.meta[who]
            )
            assert (len(counted.follow_ups), counted.total) == (expected, expected), who  # within his scope
        other_customer = await w.stub.ListFollowUps(
            pb.ListFollowUpsRequest(customer_id="cust-2", include_total=True), metadata=w.meta["rep"]
        )
        assert (list(other_customer.follow_ups), other_customer.total) == ([], 0)  # the same filters

        reading = pb.LocationReading(latitude=91, longitude=121.47, accuracy_m=10, device_time=ts(START))
        bad = await rpc_error(
            w.stub.CheckIn(pb.CheckInRequest(customer_id="cust-1", reading=reading), metadata=w.meta["rep"])
        )
        assert bad.code() == grpc.StatusCode.INVALID_ARGUMENT and field_violations(bad) == ["latitude"]
        future = pb.LocationReading(
            latitude=31.23, longitude=121.47, accuracy_m=10, device_time=ts(START + timedelta(hours=1))
        )
        bad = await rpc_error(
            w.stub.CheckIn(pb.CheckInRequest(customer_id="cust-1", reading=future), metadata=w.meta["rep"])
        )
        assert field_violations(bad) == ["device_time"]
        assert await w.count(VisitRow) == 0

        # No reference coordinates yet (customers events will feed them): flagged no_reference.
        reading = pb.LocationReading(latitude=31.2304, longitude=121.4737, accuracy_m=15, device_time=ts(START))
        unknown = await w.stub.CheckIn(pb.CheckInRequest(customer_id="cust-1", reading=reading), metadata=w.meta["rep"])
        assert unknown.flagged and list(unknown.check_in.flags) == ["no_reference"]
        assert not unknown.check_in.has_distance

        async with w.sessions() as session, session.begin():
            session.add(CustomerLocation(customer_id="cust-2", latitude=31.2310, longitude=121.4740, updated_at=START))
        near = await w.stub.CheckIn(pb.CheckInRequest(customer_id="cust-2", reading=reading), metadata=w.meta["rep"])
        assert not near.flagged and near.check_in.has_distance and 50 < near.check_in.distance_m < 100

        clock.advance(timedelta(minutes=45))
        out = pb.LocationReading(
            latitude=31.2500, longitude=121.4740, accuracy_m=10, device_time=ts(START + timedelta(minutes=45))
        )
        # Someone else's visit is invisible; the rep's own closes with its duration and a far check-out flagged.
        denied = await rpc_error(
            w.stub.CheckOut(pb.CheckOutRequest(visit_id=near.id, reading=out), metadata=w.meta["other"])
        )
        assert denied.code() == grpc.StatusCode.NOT_FOUND
        closed = await w.stub.CheckOut(pb.CheckOutRequest(visit_id=near.id, reading=out), metadata=w.meta["rep"])
        assert closed.duration_seconds == 45 * 60 and closed.HasField("check_out")
        assert closed.flagged and list(closed.check_out.flags) == ["too_far"] and closed.check_out.distance_m > 2000
        again = await rpc_error(
            w.stub.CheckOut(pb.CheckOutRequest(visit_id=near.id, reading=out), metadata=w.meta["rep"])
        )
        assert again.code() == grpc.StatusCode.FAILED_PRECONDITION

        flagged = await w.stub.ListVisits(pb.ListVisitsRequest(flagged_only=True), metadata=w.meta["manager"])
        assert {v.id for v in flagged.visits} == {unknown.id, near.id}
        assert not (await w.stub.ListVisits(pb.ListVisitsRequest(), metadata=w.meta["other"])).visits

        assert await w.events() == sorted(
            [
                "salesgrid.activities.follow_up.logged",
                "salesgrid.activities.check_in.recorded",
                "salesgrid.activities.check_in.flagged",
                "salesgrid.activities.check_in.recorded",
                "salesgrid.activities.check_out.recorded",
            ]
        )


async def test_tasks(database_url: str, nats_url: str, test_keys) -> None:
    clock = FakeClock(START)
    async with run_service(DEFINITION, MIGRATIONS, database_url, nats_url, test_keys, clock=clock) as running:
        w = World(running, test_keys)
        await w.add_users(("rep-a", TEAM_PATH, "Asia/Shanghai", "rep"), ("rep-b", OTHER_PATH, "Europe/Berlin", "rep"))

        own = await w.stub.CreateTask(
            pb.CreateTaskRequest(title="call back", due_at=ts(START + timedelta(hours=2)), reminder_minutes=[15, 60]),
            metadata=w.meta["rep"],
        )
        assert (own.assignee_id, own.status, list(own.reminder_minutes)) == ("rep-a", "accepted", [60, 15])

        assigned = await w.stub.CreateTask(
            pb.CreateTaskRequest(assignee_id="rep-a", title="visit the plant", due_at=ts(START + timedelta(hours=1))),
            metadata=w.meta["manager"],
        )
        assert (assigned.status, assigned.org_path) == ("pending_acceptance", TEAM_PATH)

        outside = await rpc_error(
            w.stub.CreateTask(pb.CreateTaskRequest(assignee_id="rep-b", title="x"), metadata=w.meta["manager"])
        )
        assert outside.code() == grpc.StatusCode.PERMISSION_DENIED
        bad = await rpc_error(w.stub.CreateTask(pb.CreateTaskRequest(title="  "), metadata=w.meta["rep"]))
        assert bad.code() == grpc.StatusCode.INVALID_ARGUMENT and field_violations(bad) == ["title"]

        # Only the assignee answers: the creator cannot, another rep does not even see the task.
        creator = await rpc_error(w.stub.AcceptTask(pb.AcceptTaskRequest(id=assigned.id), metadata=w.meta["manager"]))
        assert creator.code() == grpc.StatusCode.PERMISSION_DENIED
        stranger = await rpc_error(w.stub.AcceptTask(pb.AcceptTaskRequest(id=assigned.id), metadata=w.meta["other"]))
        assert stranger.code() == grpc.StatusCode.NOT_FOUND
        no_reason = await rpc_error(w.stub.RejectTask(pb.RejectTaskRequest(id=assigned.id), metadata=w.meta["rep"]))
        assert field_violations(no_reason) == ["reason"]

        accepted = await w.stub.AcceptTask(pb.AcceptTaskRequest(id=assigned.id), metadata=w.meta["rep"])
        assert accepted.status == "accepted" and accepted.version == 2
        clock.advance(timedelta(hours=1, minutes=30))
        overdue = await w.stub.ListTasks(pb.ListTasksRequest(overdue_only=True), metadata=w.meta["manager"])
        assert [t.id for t in overdue.tasks] == [assigned.id] and overdue.tasks[0].overdue
        done = await w.stub.CompleteTask(pb.CompleteTaskRequest(id=assigned.id), metadata=w.meta["rep"])
        assert done.status == "completed" and not done.overdue

        assert len((await w.stub.ListTasks(pb.ListTasksRequest(), metadata=w.meta["rep"])).tasks) == 2
        assert not (await w.stub.ListTasks(pb.ListTasksRequest(), metadata=w.meta["other"])).tasks
        assert await w.events() == sorted(
            f"salesgrid.activities.task.{verb}" for verb in ("created", "created", "accepted", "completed")
        )


async def test_daily_reports_across_time_zones(database_url: str, nats_url: str, test_keys) -> None:
    clock = FakeClock(START)
    async with run_service(DEFINITION, MIGRATIONS, database_url, nats_url, test_keys, clock=clock) as running:
        w = World(running, test_keys)
        unknown = await rpc_error(
            w.stub.SubmitDailyReport(pb.SubmitDailyReportRequest(summary="x"), metadata=w.meta["rep"])
        )
        assert unknown.code() == grpc.StatusCode.FAILED_PRECONDITION
        await w.add_users(
            ("rep-a", TEAM_PATH, "Asia/Shanghai", "rep"),
            ("rep-c", TEAM_PATH, "Asia/Shanghai", "rep"),
            ("rep-b", "/c/r1/b1/t9/", "Europe/Berlin", "rep"),
            ("mgr", MANAGER_PATH, "Asia/Shanghai", "manager"),
        )
        assert await w.usecases.close_report_days() == 0  # first sight of each zone: starts tomorrow

        on_time = await w.stub.SubmitDailyReport(
            pb.SubmitDailyReportRequest(summary="two visits", tomorrow_plan="quote"), metadata=w.meta["rep"]
        )
        assert (on_time.status, on_time.report_date, on_time.time_zone) == ("on_time", "2026-03-10", "Asia/Shanghai")
        empty = await rpc_error(
            w.stub.SubmitDailyReport(pb.SubmitDailyReportRequest(summary=" "), metadata=w.meta["rep2"])
        )
        assert field_violations(empty) == ["summary"]

        # Shanghai's midnight closes its day (rep-c missing); Berlin's day is still open.
        clock.now = datetime(2026, 3, 10, 16, 0, tzinfo=UTC)
        assert await w.usecases.close_report_days() == 1

        clock.now = datetime(2026, 3, 10, 17, 0, 1, tzinfo=UTC)  # 18:00:01 in Berlin
        berlin = bearer(test_keys.token(principal("rep-b", "/c/r1/b1/t9/", permissions=REP_PERMS)))
        late = await w.stub.SubmitDailyReport(pb.SubmitDailyReportRequest(summary="late one"), metadata=berlin)
        assert late.status == "late"
        twice = await rpc_error(w.stub.SubmitDailyReport(pb.SubmitDailyReportRequest(summary="again"), metadata=berlin))
        assert twice.code() == grpc.StatusCode.ABORTED and field_violations(twice) == ["report_date"]
        clock.now = datetime(2026, 3, 10, 23, 0, tzinfo=UTC)  # Berlin midnight: everyone there filed
        assert await w.usecases.close_report_days() == 0
        assert await w.usecases.close_report_days() == 0  # idempotent
        assert await w.count(DailyReportRow) == 3

        denied = await rpc_error(
            w.stub.FalsifyDailyReport(
                pb.FalsifyDailyReportRequest(id=on_time.id, comment="no"), metadata=w.meta["rep2"]
            )
        )
        assert denied.code() == grpc.StatusCode.PERMISSION_DENIED
        falsified = await w.stub.FalsifyDailyReport(
            pb.FalsifyDailyReportRequest(id=on_time.id, comment="visits not in check-ins"), metadata=w.meta["manager"]
        )
        assert falsified.falsified and falsified.falsified_by == "mgr"

        compliance = await w.stub.GetDailyReportCompliance(
            pb.GetDailyReportComplianceRequest(from_date="2026-03-10", to_date="2026-03-10"), metadata=w.meta["manager"]
        )
        team = compliance.team
        assert (team.on_time, team.late, team.missing, team.falsified, team.compliant, team.total) == (1, 1, 1, 1, 0, 3)
        assert team.rate == "0.0000"
        mine = await w.stub.GetDailyReportCompliance(pb.GetDailyReportComplianceRequest(), metadata=w.meta["rep"])
        assert [r.rep_id for r in mine.reps] == ["rep-a"]

        ledger = await w.stub.GetPolicyLedger(pb.GetPolicyLedgerRequest(), metadata=w.meta["manager"])
        assert {r.rep_id: r.total for r in ledger.reps} == {"rep-a": "50", "rep-b": "10", "rep-c": "30"}
        bad_date = await rpc_error(
            w.stub.GetPolicyLedger(pb.GetPolicyLedgerRequest(from_date="10/03/2026"), metadata=w.meta["manager"])
        )
        assert field_violations(bad_date) == ["from_date"]

        assert await w.events() == sorted(
            f"salesgrid.activities.daily_report.{verb}"
            for verb in ("submitted", "missing", "submitted", "late", "falsified")
        )


async def test_unit_policies_nearest_ancestor_wins(database_url: str, nats_url: str, test_keys) -> None:
    """Radius, deadline and fines per unit (nearest unit on the path wins, value by value); the
    deadline and the end of day follow the branch unit's zone, not the zone copied on the user."""
    clock = FakeClock(START)
    async with run_service(DEFINITION, MIGRATIONS, database_url, nats_url, test_keys, clock=clock) as running:
        w = World(running, test_keys)
        await w.add_units(
            ("c", "/c/", "Asia/Shanghai"),
            ("b1", "/c/r1/b1/", "Europe/Berlin"),
            ("t1", TEAM_PATH, "Europe/Berlin"),
            ("t2", "/c/r1/b1/t2/", "Europe/Berlin"),
        )
        # Stale zones on the users: their units say Berlin.
        await w.add_users(("rep-a", TEAM_PATH, "Asia/Shanghai", "rep"), unit_id="t1")
        await w.add_users(("rep-d", "/c/r1/b1/t2/", "Asia/Shanghai", "rep"), unit_id="t2")
        admin = bearer(
            test_keys.token(
                principal(
                    "admin",
                    "/c/",
                    permissions={"org_units:update": "all", "org_units:read": "all", "daily_reports:read": "all"},
                )
            )
        )
        rep_d = bearer(test_keys.token(principal("rep-d", "/c/r1/b1/t2/", permissions=REP_PERMS)))

        bad = await rpc_error(
            w.stub.SetUnitPolicy(
                pb.SetUnitPolicyRequest(
                    unit_id="b1",
                    overrides=pb.PolicyValues(
                        check_in_radius_m=-5, report_deadline="25:00", late_fine="ten", currency="yuan"
                    ),
                ),
                metadata=admin,
            )
        )
        assert bad.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert field_violations(bad) == ["check_in_radius_m", "report_deadline", "late_fine", "currency"]
        denied = await rpc_error(
            w.stub.SetUnitPolicy(
                pb.SetUnitPolicyRequest(unit_id="b1", overrides=pb.PolicyValues(check_in_radius_m=50)),
                metadata=w.meta["manager"],
            )
        )
        assert denied.code() == grpc.StatusCode.PERMISSION_DENIED
        unknown = await rpc_error(
            w.stub.SetUnitPolicy(
                pb.SetUnitPolicyRequest(unit_id="nope", overrides=pb.PolicyValues(check_in_radius_m=50)), metadata=admin
            )
        )
        assert unknown.code() == grpc.StatusCode.NOT_FOUND
        assert await w.count(UnitPolicyRow) == 0

        await w.stub.SetUnitPolicy(
            pb.SetUnitPolicyRequest(
                unit_id="b1",
                overrides=pb.PolicyValues(check_in_radius_m=3000, report_deadline="17:00", late_fine="20.50"),
            ),
            metadata=admin,
        )
        team = await w.stub.SetUnitPolicy(
            pb.SetUnitPolicyRequest(unit_id="t1", overrides=pb.PolicyValues(check_in_radius_m=100)), metadata=admin
        )
        assert team.version == 1 and not team.overrides.HasField("late_fine")
        e = team.effective
        assert (e.check_in_radius_m, e.report_deadline, e.late_fine, e.missing_fine, e.currency) == (
            100,
            "17:00",
            "20.50",
            "30",
            "CNY",
        )
        company = await w.stub.GetUnitPolicy(pb.GetUnitPolicyRequest(unit_id="c"), metadata=admin)
        assert (company.version, company.effective.check_in_radius_m, company.effective.report_deadline) == (
            0,
            500,
            "18:00",
        )

        # About 1.1 km from the customer: beyond the team's 100 m, within the branch's 3 km
        # (and beyond the 500 m default, so the branch override is what lets rep-d through).
        async with w.sessions() as session, session.begin():
            session.add(CustomerLocation(customer_id="cust-9", latitude=52.5200, longitude=13.4050, updated_at=START))
        reading = pb.LocationReading(latitude=52.5300, longitude=13.4050, accuracy_m=10, device_time=ts(START))
        far_for_team = await w.stub.CheckIn(
            pb.CheckInRequest(customer_id="cust-9", reading=reading), metadata=w.meta["rep"]
        )
        assert far_for_team.flagged and list(far_for_team.check_in.flags) == ["too_far"]
        within_branch = await w.stub.CheckIn(pb.CheckInRequest(customer_id="cust-9", reading=reading), metadata=rep_d)
        assert not within_branch.flagged and 1000 < within_branch.check_in.distance_m < 1200

        assert await w.usecases.close_report_days() == 0  # first sight of the zones
        clock.now = datetime(2026, 3, 10, 16, 30, tzinfo=UTC)  # 17:30 in Berlin, already 00:30 in Shanghai
        late = await w.stub.SubmitDailyReport(pb.SubmitDailyReportRequest(summary="one visit"), metadata=w.meta["rep"])
        assert (late.status, late.report_date, late.time_zone) == ("late", "2026-03-10", "Europe/Berlin")
        assert await w.usecases.close_report_days() == 0  # Shanghai's midnight does not close Berlin's day
        clock.now = datetime(2026, 3, 10, 23, 0, tzinfo=UTC)
        assert await w.usecases.close_report_days() == 1  # rep-d, at Berlin's midnight

        ledger = await w.stub.GetPolicyLedger(pb.GetPolicyLedgerRequest(), metadata=admin)
        assert {r.rep_id: Decimal(r.total) for r in ledger.reps} == {"rep-a": Decimal("20.5"), "rep-d": 30}

        cleared = await w.stub.SetUnitPolicy(pb.SetUnitPolicyRequest(unit_id="t1"), metadata=admin)
        assert cleared.version == 0 and cleared.effective.check_in_radius_m == 3000
        assert await w.count(UnitPolicyRow) == 1


async def test_calendar_comments_reminders_and_overdue(database_url: str, nats_url: str, test_keys) -> None:
    clock = FakeClock(START)
    async with run_service(DEFINITION, MIGRATIONS, database_url, nats_url, test_keys, clock=clock) as running:
        w = World(running, test_keys)
        await w.add_units(("t1", TEAM_PATH, "Asia/Shanghai"))
        await w.add_users(
            ("rep-a", TEAM_PATH, "Asia/Shanghai", "rep"), ("rep-c", TEAM_PATH, "Asia/Shanghai", "rep"), unit_id="t1"
        )
        # First sight of each job: nothing is fired for times before the service knew them.
        assert await w.usecases.fire_due_reminders() == 0 and await w.usecases.fire_overdue_tasks() == 0

        private = await w.stub.CreateTask(
            pb.CreateTaskRequest(
                title="dentist",
                private=True,
                start_at=ts(START + timedelta(hours=1)),
                end_at=ts(START + timedelta(hours=2)),
                reminder_minutes=[30],
            ),
            metadata=w.meta["rep"],
        )
        visit = await w.stub.CreateTask(
            pb.CreateTaskRequest(
                title="visit the plant",
                start_at=ts(START + timedelta(hours=3)),
                end_at=ts(START + timedelta(hours=4)),
                reminder_minutes=[15, 60],
            ),
            metadata=w.meta["rep"],
        )
        handed = await w.stub.CreateTask(
            pb.CreateTaskRequest(assignee_id="rep-a", title="send the quote", due_at=ts(START + timedelta(hours=1))),
            metadata=w.meta["manager"],
        )
        done = await w.stub.CreateTask(
            pb.CreateTaskRequest(title="call", due_at=ts(START + timedelta(hours=1))), metadata=w.meta["rep"]
        )
        await w.stub.CompleteTask(pb.CompleteTaskRequest(id=done.id), metadata=w.meta["rep"])

        # Calendars: the manager sees the rep's private entry as busy time only, the rep in full.
        window = {"window_start": ts(START), "window_end": ts(START + timedelta(days=1))}
        managers_view = await w.stub.GetCalendar(
            pb.GetCalendarRequest(user_id="rep-a", **window), metadata=w.meta["manager"]
        )
        entries = {e.task_id: e for e in managers_view.entries}
        assert set(entries) == {private.id, visit.id, handed.id, done.id}
        assert entries[private.id].busy_only and entries[private.id].title == ""
        assert entries[visit.id].title == "visit the plant" and not entries[visit.id].busy_only
        own = await w.stub.GetCalendar(pb.GetCalendarRequest(**window), metadata=w.meta["rep"])
        assert {e.task_id: e.title for e in own.entries}[private.id] == "dentist"
        denied = await rpc_error(
            w.stub.GetCalendar(pb.GetCalendarRequest(user_id="rep-a", **window), metadata=w.meta["rep2"])
        )
        assert denied.code() == grpc.StatusCode.PERMISSION_DENIED
        team = await w.stub.GetCalendar(pb.GetCalendarRequest(unit_id="t1", **window), metadata=w.meta["manager"])
        assert len(team.entries) == 4
        peers = await w.stub.GetCalendar(pb.GetCalendarRequest(unit_id="t1", **window), metadata=w.meta["rep2"])
        assert not peers.entries  # own scope: a colleague's schedule stays hidden
        later = await w.stub.GetCalendar(
            pb.GetCalendarRequest(
                window_start=ts(START + timedelta(hours=5)), window_end=ts(START + timedelta(days=1))
            ),
            metadata=w.meta["rep"],
        )
        assert not later.entries
        too_long = await rpc_error(
            w.stub.GetCalendar(
                pb.GetCalendarRequest(window_start=ts(START), window_end=ts(START + timedelta(days=90))),
                metadata=w.meta["rep"],
            )
        )
        assert too_long.code() == grpc.StatusCode.INVALID_ARGUMENT and field_violations(too_long) == ["window_end"]
        no_window = await rpc_error(w.stub.GetCalendar(pb.GetCalendarRequest(), metadata=w.meta["rep"]))
        assert field_violations(no_window) == ["window_start"]

        # Reminders fire once each as the clock passes them; the overdue task once, the completed one never.
        clock.advance(timedelta(minutes=35))
        assert await w.usecases.fire_due_reminders() == 1  # dentist, 30 min before
        assert await w.usecases.fire_due_reminders() == 0  # idempotent
        clock.advance(timedelta(hours=2, minutes=10, seconds=1))  # START + 2h45m01s
        assert await w.usecases.fire_due_reminders() == 2  # the visit's 60 and 15 minute reminders
        assert await w.usecases.fire_overdue_tasks() == 1
        assert await w.usecases.fire_overdue_tasks() == 0
        events = await w.events()
        assert events.count("salesgrid.activities.reminder.due") == 3
        assert events.count("salesgrid.activities.task.overdue") == 1

        # Report comments: the reviewing manager and the rep; a reader without review may not.
        report = await w.stub.SubmitDailyReport(
            pb.SubmitDailyReportRequest(summary="quote sent"), metadata=w.meta["rep"]
        )
        await w.stub.AddReportComment(
            pb.AddReportCommentRequest(report_id=report.id, body="which customer?"), metadata=w.meta["manager"]
        )
        await w.stub.AddReportComment(
            pb.AddReportCommentRequest(report_id=report.id, body="the plant"), metadata=w.meta["rep"]
        )
        blank = await rpc_error(
            w.stub.AddReportComment(
                pb.AddReportCommentRequest(report_id=report.id, body=" "), metadata=w.meta["manager"]
            )
        )
        assert blank.code() == grpc.StatusCode.INVALID_ARGUMENT and field_violations(blank) == ["body"]
        stranger = await rpc_error(
            w.stub.AddReportComment(pb.AddReportCommentRequest(report_id=report.id, body="hi"), metadata=w.meta["rep2"])
        )
        assert stranger.code() == grpc.StatusCode.NOT_FOUND
        reader = bearer(test_keys.token(principal("auditor", "/c/", permissions={"daily_reports:read": "all"})))
        not_reviewer = await rpc_error(
            w.stub.AddReportComment(pb.AddReportCommentRequest(report_id=report.id, body="hm"), metadata=reader)
        )
        assert not_reviewer.code() == grpc.StatusCode.PERMISSION_DENIED
        listed = await w.stub.ListReportComments(pb.ListReportCommentsRequest(report_id=report.id), metadata=reader)
        assert [(c.author_id, c.body) for c in listed.comments] == [("mgr", "which customer?"), ("rep-a", "the plant")]


async def test_daily_reports_on_the_berlin_dst_day(database_url: str, nats_url: str, test_keys) -> None:
    """2026-03-29 in Europe/Berlin has 23 hours (02:00 CET → 03:00 CEST): 18:00 local is 16:00 UTC
    and the day closes at 22:00 UTC, not at the 23:00 UTC a fixed +01:00 offset would give."""
    clock = FakeClock(datetime(2026, 3, 29, 0, 30, tzinfo=UTC))  # 01:30 CET, before the change
    async with run_service(DEFINITION, MIGRATIONS, database_url, nats_url, test_keys, clock=clock) as running:
        w = World(running, test_keys)
        await w.add_units(("t1", TEAM_PATH, "Europe/Berlin"))
        await w.add_users(
            ("rep-a", TEAM_PATH, "Europe/Berlin", "rep"),
            ("rep-c", TEAM_PATH, "Europe/Berlin", "rep"),
            ("rep-d", TEAM_PATH, "Europe/Berlin", "rep"),
            unit_id="t1",
        )
        assert await w.usecases.close_report_days() == 0  # first sight: from 2026-03-29 on

        clock.now = datetime(2026, 3, 29, 15, 59, 59, tzinfo=UTC)  # 17:59:59 CEST
        on_time = await w.stub.SubmitDailyReport(pb.SubmitDailyReportRequest(summary="in time"), metadata=w.meta["rep"])
        assert (on_time.status, on_time.report_date) == ("on_time", "2026-03-29")
        clock.now = datetime(2026, 3, 29, 16, 0, 1, tzinfo=UTC)  # 18:00:01 CEST
        late = await w.stub.SubmitDailyReport(pb.SubmitDailyReportRequest(summary="just late"), metadata=w.meta["rep2"])
        assert (late.status, late.report_date) == ("late", "2026-03-29")

        clock.now = datetime(2026, 3, 29, 21, 59, 59, tzinfo=UTC)  # 23:59:59 CEST: the day is still open
        assert await w.usecases.close_report_days() == 0
        clock.now = datetime(2026, 3, 29, 22, 0, tzinfo=UTC)  # local midnight
        assert await w.usecases.close_report_days() == 1
        async with w.sessions() as session:
            missing = (await session.scalars(select(DailyReportRow).where(DailyReportRow.status == "missing"))).all()
        assert [(r.owner_id, r.report_date.isoformat()) for r in missing] == [("rep-d", "2026-03-29")]


async def test_customer_coordinates_arrive_from_customers_events(database_url: str, nats_url: str, test_keys) -> None:  # type: ignore[no-untyped-def]
    """Check-in distances use the coordinates customers publishes (created/updated), through the
    real event path; a customer whose address loses its coordinates falls back to no_reference."""
    from salesgrid.events.v1.customers_events_pb2 import CustomerRecordState
    from salesgrid_common.events.bus import connect, ensure_stream
    from salesgrid_common.events.envelope import EventMeta, build_envelope
    from salesgrid_dev.testing import eventually

    async def publish(verb: str, state: CustomerRecordState) -> None:
        nc = await connect(nats_url, "test-customers")
        js = nc.jetstream()
        await ensure_stream(js, "customers", 1)
        envelope = build_envelope(
            f"salesgrid.customers.customer.{verb}", "customers", state, EventMeta(aggregate_id=state.customer_id), START
        )
        await js.publish(envelope.type, envelope.SerializeToString(), headers={"Nats-Msg-Id": envelope.event_id})
        await nc.drain()

    async with run_service(
        DEFINITION, MIGRATIONS, database_url, nats_url, test_keys, clock=FakeClock(START)
    ) as running:
        w = World(running, test_keys)
        await publish(
            "created",
            CustomerRecordState(
                customer_id="cust-geo",
                legal_name="外滩中心",
                owner_id="rep-a",
                has_location=True,
                latitude=31.2400,
                longitude=121.4900,
            ),
        )

        async def known() -> bool:
            return await w.count(CustomerLocation) == 1

        await eventually(known)
        at_door = pb.LocationReading(latitude=31.2404, longitude=121.4900, accuracy_m=10, device_time=ts(START))
        near = await w.stub.CheckIn(pb.CheckInRequest(customer_id="cust-geo", reading=at_door), metadata=w.meta["rep"])
        assert not near.flagged and 40 < near.check_in.distance_m < 50
        far = pb.LocationReading(latitude=31.2580, longitude=121.4900, accuracy_m=10, device_time=ts(START))
        away = await w.stub.CheckIn(pb.CheckInRequest(customer_id="cust-geo", reading=far), metadata=w.meta["rep2"])
        assert away.flagged and list(away.check_in.flags) == ["too_far"] and 1900 < away.check_in.distance_m < 2100

        await publish(
            "updated",
            CustomerRecordState(
                customer_id="cust-geo", legal_name="外滩中心", owner_id="rep-a", version=2, has_location=False
            ),
        )

        async def forgotten() -> bool:
            return await w.count(CustomerLocation) == 0

        await eventually(forgotten)


async def test_merged_customers_follow_ups_and_check_ins_follow_the_survivor(
    database_url: str, nats_url: str, test_keys
) -> None:
    """customers' `merged` event re-attaches the duplicate's follow-ups and check-ins to the survivor;
    a follow-up, check-in or list naming the merged id later is served for the survivor."""
    clock = FakeClock(START)
    async with run_service(DEFINITION, MIGRATIONS, database_url, nats_url, test_keys, clock=clock) as running:
        w = World(running, test_keys)
        rep = w.meta["rep"]
        reading = pb.LocationReading(latitude=31.2304, longitude=121.4737, accuracy_m=15, device_time=ts(START))

        async def follow_up(customer_id: str) -> pb.FollowUp:
            return await w.stub.LogFollowUp(
                pb.LogFollowUpRequest(
                    kind="visit", occurred_at=ts(START - timedelta(hours=1)), notes="n", customer_id=customer_id
                ),
                metadata=rep,
            )

        kept, moved = await follow_up("cust-s"), await follow_up("cust-d")
        visit = await w.stub.CheckIn(pb.CheckInRequest(customer_id="cust-d", reading=reading), metadata=rep)

        async def follow_ups_of(customer_id: str) -> set[str]:
            listed = await w.stub.ListFollowUps(pb.ListFollowUpsRequest(customer_id=customer_id), metadata=rep)
            return {f.id for f in listed.follow_ups}

        async def visits_of(customer_id: str) -> set[str]:
            listed = await w.stub.ListVisits(pb.ListVisitsRequest(customer_id=customer_id), metadata=rep)
            return {v.id for v in listed.visits}

        await publish_customer_merge(nats_url, "cust-s", ["cust-d"], START)

        async def merged() -> bool:
            return await follow_ups_of("cust-s") == {kept.id, moved.id}

        await eventually(merged)
        assert await visits_of("cust-s") == {visit.id}
        assert await follow_ups_of("cust-d") == {kept.id, moved.id}  # the merged id lists the survivor's
        late = await follow_up("cust-d")
        assert late.customer_id == "cust-s"
        await w.stub.CheckOut(pb.CheckOutRequest(visit_id=visit.id, reading=reading), metadata=rep)
        again = await w.stub.CheckIn(pb.CheckInRequest(customer_id="cust-d", reading=reading), metadata=rep)
        assert again.customer_id == "cust-s"
        # the same merge again changes nothing
        await publish_customer_merge(nats_url, "cust-s", ["cust-d"], START)

        async def applied_twice() -> bool:
            return await consumer_applied(running, "activities-customer-merges") == 2

        await eventually(applied_twice)
        assert await follow_ups_of("cust-s") == {kept.id, moved.id, late.id}
        assert await visits_of("cust-s") == {visit.id, again.id}
