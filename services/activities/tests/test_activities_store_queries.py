"""The queries the activities use cases hand to their stores (SQLite and PostgreSQL): a calendar
window by owner or unit subtree, the open tasks a scheduler run looks at, scoped task, visit,
follow-up and report pages with their filters, which reps filed a report for a day, and the
scheduler's marks (a job's mark moves once; a zone's closed days start and move)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from salesgrid_dev.pytest_plugin import Migrated
from salesgrid_activities.app import MIGRATIONS
from salesgrid_activities.domain.daily_reports import DailyReport, ReportStatus
from salesgrid_activities.domain.follow_ups import FollowUp, FollowUpKind
from salesgrid_activities.domain.tasks import Task, TaskStatus
from salesgrid_activities.stores import daily_reports as report_store
from salesgrid_activities.stores import follow_ups as follow_up_store
from salesgrid_activities.stores import scheduler_marks
from salesgrid_activities.stores import tasks as task_store
from salesgrid_dev.testing import principal

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
HOUR = timedelta(hours=1)


def task(task_id: str, owner: str, path: str, *, start: datetime | None, due: datetime | None, **kw) -> Task:  # type: ignore[no-untyped-def]
    return Task(
        task_id=task_id,
        creator_id=kw.pop("creator", "mgr"),
        assignee_id=owner,
        title=task_id,
        description=None,
        start_at=start,
        end_at=kw.pop("end", None),
        due_at=due,
        reminder_minutes=(),
        private=False,
        status=kw.pop("status", TaskStatus.ACCEPTED),
        created_at=NOW - 10 * HOUR,
        org_path=path,
    )


async def test_task_windows_scheduler_picks_and_scoped_pages(migrated: Migrated) -> None:
    sessions = await migrated(MIGRATIONS)
    async with sessions() as session, session.begin():
        for t in (
            task("t-1", "rep-a", "/c/sz/t1/", start=NOW, due=None, end=NOW + 2 * HOUR),
            task("t-2", "rep-b", "/c/sz/t2/", start=None, due=NOW + HOUR),
            task("t-3", "rep-a", "/c/sz/t1/", start=None, due=NOW - HOUR, status=TaskStatus.COMPLETED),
            task("t-4", "rep-c", "/c/bj/", start=NOW + 30 * HOUR, due=None, creator="rep-a"),
            task("t-5", "rep-a", "/c/sz/t1/", start=None, due=NOW - 2 * HOUR),
        ):
            task_store.insert_task(session, t)
    async with sessions() as session:
        ids = lambda found: sorted(t.task_id for t in found)  # noqa: E731
        window = (NOW - 3 * HOUR, NOW + 3 * HOUR)
        assert ids(await task_store.in_window(session, *window, owner_id="rep-a")) == ["t-1", "t-3", "t-5"]
        assert ids(await task_store.in_window(session, *window, unit_path="/c/sz/")) == ["t-1", "t-2", "t-3", "t-5"]
        # ends after the window's start: the one that ended before it is left out
        assert ids(await task_store.in_window(session, NOW - HOUR / 2, NOW + 3 * HOUR, owner_id="rep-a")) == ["t-1"]
        assert ids(await task_store.open_starting_between(session, NOW - 3 * HOUR, NOW + HOUR)) == [
            "t-1",
            "t-2",
            "t-5",
        ]
        due = await task_store.open_due_between(session, NOW - 3 * HOUR, NOW + 2 * HOUR)
        assert [t.task_id for t in due] == ["t-5", "t-2"]  # by due time; the completed one is not open

        rep_a = principal("rep-a", "/c/sz/t1/", permissions={"tasks:read": "own"})
        pages = {
            "all": dict(status=None, open_and_due_before=None),
            "completed": dict(status=TaskStatus.COMPLETED, open_and_due_before=None),
            "overdue": dict(status=None, open_and_due_before=NOW),
        }
        found = {
            name: ids(
                (
                    await task_store.page_in_scope(
                        session, rep_a, assignee_id="", page_size=10, page_token="", **filters
                    )
                ).items
            )
            for name, filters in pages.items()
        }
        # his own, and what he handed out (t-4) whatever his read scope
        assert found == {"all": ["t-1", "t-3", "t-4", "t-5"], "completed": ["t-3"], "overdue": ["t-5"]}
        handed_out = await task_store.page_in_scope(
            session,
            rep_a,
            assignee_id="rep-c",
            status=None,
            open_and_due_before=None,
            page_size=10,
            page_token="",
        )
        assert ids(handed_out.items) == ["t-4"]


def report(report_id: str, rep: str, path: str, day: date) -> DailyReport:
    return DailyReport(
        report_id=report_id,
        rep_id=rep,
        report_date=day,
        time_zone="Asia/Shanghai",
        status=ReportStatus.MISSING,
        content=None,
        submitted_at=None,
        recorded_at=NOW,
        org_path=path,
    )


async def test_report_and_follow_up_pages_filed_reps_and_scheduler_marks(migrated: Migrated) -> None:
    sessions = await migrated(MIGRATIONS)
    day = date(2026, 3, 1)
    async with sessions() as session, session.begin():
        report_store.add_report(session, report("r-1", "rep-a", "/c/sz/", day))
        report_store.add_report(session, report("r-2", "rep-b", "/c/sz/", day - timedelta(days=1)))
        report_store.add_report(session, report("r-3", "rep-c", "/c/bj/", day))
        logged = FollowUp(
            kind=FollowUpKind.CALL,
            occurred_at=NOW,
            notes="call",
            customer_id="c-1",
            contact_id=None,
            opportunity_id=None,
            lead_id=None,
            next_follow_up_on=None,
        )
        for n, (owner, customer) in enumerate((("rep-a", "c-1"), ("rep-a", "c-2"), ("rep-c", "c-1"))):
            follow_up = replace(logged, customer_id=customer).logged(
                id=f"f-{n}", owner_id=owner, org_path="/c/bj/" if owner == "rep-c" else "/c/sz/", now=NOW
            )
            await follow_up_store.insert_follow_up(session, follow_up)
    manager = principal("mgr", "/c/sz/", permissions={"daily_reports:read": "subtree", "activities:read": "subtree"})
    async with sessions() as session:
        assert sorted(await report_store.filed_by(session, day, ["rep-a", "rep-b", "rep-c", "rep-d"])) == [
            "rep-a",
            "rep-c",
        ]
        in_scope = await report_store.in_scope(session, manager, None, None)
        assert [r.report_id for r in in_scope] == ["r-2", "r-1"]  # by date, his subtree only
        assert [r.report_id for r in await report_store.in_scope(session, manager, day, day)] == ["r-1"]
        page = await report_store.page_in_scope(
            session, manager, owner_id="rep-b", start=None, end=None, page_size=10, page_token=""
        )
        assert [r.report_id for r in page.items] == ["r-2"]
        follow_ups = await follow_up_store.page_in_scope(
            session, manager, customer_id="c-1", lead_id="", owner_id="", page_size=10, page_token=""
        )
        assert [f.id for f in follow_ups.items] == ["f-0"]

    async with sessions() as session, session.begin():
        assert await scheduler_marks.advance(session, "reminders", NOW) is None  # first sight
        assert await scheduler_marks.last_closed_day(session, "Asia/Shanghai") is None
        await scheduler_marks.start_report_days(session, "Asia/Shanghai", day)
    async with sessions() as session, session.begin():
        assert await scheduler_marks.advance(session, "reminders", NOW) is None  # not past the mark
        assert await scheduler_marks.advance(session, "reminders", NOW + HOUR) == NOW
        await scheduler_marks.close_report_days(session, "Asia/Shanghai", day + timedelta(days=2))
    async with sessions() as session:
        assert await scheduler_marks.advance(session, "reminders", NOW + 2 * HOUR) == NOW + HOUR
        assert await scheduler_marks.last_closed_day(session, "Asia/Shanghai") == day + timedelta(days=2)


async def test_two_runs_seeing_a_mark_for_the_first_time_at_once_both_succeed(
    migrated: Migrated, database_url: str
) -> None:
    """The scheduler's loop and another run (another replica, an operator's call) at once. On
    PostgreSQL both find no mark yet: the first makes it, the second's insert waits for the first's
    key, finds it made and does nothing, and neither run fails. On SQLite the second waits for the
    one writer, then sees the first's mark and moves it as any later run does."""
    import asyncio

    postgres = database_url.startswith("postgresql")
    sessions = await migrated(MIGRATIONS)
    first_made, release = asyncio.Event(), asyncio.Event()

    async def first() -> tuple[object, object]:
        async with sessions() as session, session.begin():
            answers = (
                await scheduler_marks.advance(session, "overdue_tasks", NOW),
                await scheduler_marks.start_report_days(session, "Asia/Shanghai", date(2026, 3, 1)),
            )
            first_made.set()
            await release.wait()
            return answers

    async def second() -> tuple[object, object]:
        await first_made.wait()
        async with sessions() as session, session.begin():
            return (
                await scheduler_marks.advance(session, "overdue_tasks", NOW + HOUR),
                await scheduler_marks.start_report_days(session, "Asia/Shanghai", date(2026, 3, 2)),
            )

    runs = [asyncio.create_task(first()), asyncio.create_task(second())]
    await first_made.wait()
    await asyncio.sleep(0.2)
    release.set()
    second_saw = None if postgres else NOW
    assert await asyncio.wait_for(asyncio.gather(*runs), 10) == [(None, None), (second_saw, None)]
    async with sessions() as session:  # the first run's marks stand (SQLite: moved by the second)
        assert await scheduler_marks.last_closed_day(session, "Asia/Shanghai") == date(2026, 3, 1)
        assert await scheduler_marks.advance(session, "overdue_tasks", NOW + 2 * HOUR) == (
            NOW if postgres else NOW + HOUR
        )
