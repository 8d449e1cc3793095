"""Daily reports on the branch's calendar when a team's unit was published without a zone (it works
on its parent's), and the scheduler's missing reports carry the service's system actor; on SQLite
and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

from google.protobuf.message import Message
from sqlalchemy import select

from salesgrid.activities.v1 import activities_pb2 as pb
from salesgrid.activities.v1 import activities_pb2_grpc as pb_grpc
from salesgrid.events.v1.envelope_pb2 import Envelope
from salesgrid.events.v1.identity_events_pb2 import OrgUnitState, UserState
from salesgrid_activities.app import DEFINITION, MIGRATIONS
from salesgrid_activities.usecases import ActivitiesUseCases
from salesgrid_common import localtime
from salesgrid_common.actors import system_actor
from salesgrid_common.clock import FakeClock
from salesgrid_common.directory import directory_subscription
from salesgrid_common.events.consumer import apply_once
from salesgrid_common.events.envelope import EventMeta, build_envelope, unpack
from salesgrid_common.events.tables import outbox
from salesgrid_common.ids import new_id
from salesgrid_dev.testing import bearer, principal, run_service

BRANCH, TEAM = "/c/b1/", "/c/b1/t1/"
REP_PERMS = {"daily_reports:create": "own", "daily_reports:read": "own"}
# 18:30 UTC on 9 March is 02:30 on 10 March in Shanghai: the report is for the 10th, on time.
AT = datetime(2026, 3, 9, 18, 30, tzinfo=UTC)


async def publish(running, event_type: str, payload: Message) -> None:  # type: ignore[no-untyped-def]
    sub = directory_subscription("activities")
    envelope = build_envelope(event_type, "identity", payload, EventMeta(aggregate_id=new_id()), AT)
    route = sub.route(event_type)
    assert route is not None and route[0] is not None
    assert await apply_once(running.app.ctx.sessions, sub.name, envelope, route[1], unpack(envelope, route[0]))


async def test_a_team_without_zone_reports_on_its_branch_calendar(database_url: str, nats_url: str, test_keys) -> None:
    clock = FakeClock(AT)
    async with run_service(DEFINITION, MIGRATIONS, database_url, nats_url, test_keys, clock=clock) as running:
        await publish(
            running,
            "salesgrid.identity.org_unit.created",
            OrgUnitState(
                unit_id="b1", name="Shanghai", path=BRANCH, time_zone="Asia/Shanghai", currency="CNY", active=True
            ),
        )
        await publish(
            running,
            "salesgrid.identity.org_unit.created",
            OrgUnitState(
                unit_id="t1", parent_id="b1", name="Team", path=TEAM, time_zone="", currency="CNY", active=True
            ),
        )
        for rep in ("rep-1", "rep-2"):
            await publish(
                running,
                "salesgrid.identity.user.created",
                UserState(
                    user_id=rep, login=rep, display_name=rep, unit_id="t1", org_path=TEAM, roles=["rep"], active=True
                ),
            )
        async with running.app.ctx.sessions() as session:
            assert (await localtime.unit_calendar(session, "t1")).zone_name == "Asia/Shanghai"
            assert (await localtime.user_calendar(session, "rep-1")).zone_name == "Asia/Shanghai"

        stub = pb_grpc.ActivitiesStub(running.channel)
        uc = running.app.ctx.component(ActivitiesUseCases)
        assert await uc.close_report_days() == 0  # first sight of Shanghai's calendar
        report = await stub.SubmitDailyReport(
            pb.SubmitDailyReportRequest(summary="visited two plants"),
            metadata=bearer(test_keys.token(principal("rep-1", TEAM, unit_id="t1", permissions=REP_PERMS))),
        )
        assert (report.report_date, report.status, report.time_zone) == ("2026-03-10", "on_time", "Asia/Shanghai")

        clock.now = datetime(2026, 3, 10, 16, 0, tzinfo=UTC)  # Shanghai's midnight closes the 10th
        assert await uc.close_report_days() == 1  # rep-2's report is missing
        async with running.app.ctx.sessions() as session:
            rows = (
                await session.scalars(
                    select(outbox.c.envelope).where(outbox.c.subject == "salesgrid.activities.daily_report.missing")
                )
            ).all()
        assert [Envelope.FromString(row).actor_id for row in rows] == [system_actor("activities")]
