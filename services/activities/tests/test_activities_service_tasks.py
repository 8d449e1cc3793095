"""Tasks through the activities service's gRPC API, on SQLite and PostgreSQL: tasks, the
calendar, comments, reminders and overdue tasks on a fake clock."""

from __future__ import annotations

from datetime import timedelta

import grpc

from salesgrid.activities.v1 import activities_pb2 as pb
from salesgrid_activities.app import DEFINITION, MIGRATIONS
from salesgrid_common.clock import FakeClock
from salesgrid_common.protos import to_timestamp as ts
from salesgrid_dev.testing import bearer, field_violations, principal, run_service

from activities_fixtures import OTHER_PATH, START, TEAM_PATH, World, rpc_error


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
