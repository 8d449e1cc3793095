"""Daily reports through the activities service's gRPC API, on SQLite and PostgreSQL: the
missing-report scheduler across time zones on a fake clock, and on Berlin's daylight-saving day."""

from __future__ import annotations

from datetime import UTC, datetime

import grpc
from sqlalchemy import select

from salesgrid.activities.v1 import activities_pb2 as pb
from salesgrid_activities.app import DEFINITION, MIGRATIONS
from salesgrid_activities.models import DailyReportRow
from salesgrid_common.clock import FakeClock
from salesgrid_dev.testing import bearer, field_violations, principal, run_service

from activities_fixtures import MANAGER_PATH, REP_PERMS, START, TEAM_PATH, World, rpc_error


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
