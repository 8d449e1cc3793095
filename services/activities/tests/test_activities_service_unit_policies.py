"""Unit policies through the activities service's gRPC API, on SQLite and PostgreSQL: radius,
deadline and fines per unit, the nearest unit on the path winning value by value."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import grpc

from salesgrid.activities.v1 import activities_pb2 as pb
from salesgrid_activities.app import DEFINITION, MIGRATIONS
from salesgrid_activities.models import CustomerLocation, UnitPolicyRow
from salesgrid_common.clock import FakeClock
from salesgrid_common.protos import to_timestamp as ts
from salesgrid_dev.testing import bearer, field_violations, principal, run_service

from activities_fixtures import REP_PERMS, START, TEAM_PATH, World, rpc_error


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
