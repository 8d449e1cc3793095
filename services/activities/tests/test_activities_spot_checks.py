"""Weekly spot checks through the scheduler and gRPC on SQLite and PostgreSQL: each rep's ended
week (Monday–Sunday in the branch's calendar) is sampled once, reproducibly, and assigned to the
sales administrator over him; his false finding carries the unit's falsified fine into the
falsification ledger, which the rep's manager reads within scope and the rep's inbox and his
manager's receive; only the assignee decides, once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import grpc
from sqlalchemy import select

from salesgrid.activities.v1 import inbox_pb2 as ipb
from salesgrid.activities.v1 import inbox_pb2_grpc as ipb_grpc
from salesgrid.activities.v1 import spot_checks_pb2 as pb
from salesgrid.activities.v1 import spot_checks_pb2_grpc as pb_grpc
from salesgrid.events.v1.activities_events_pb2 import ActivitiesSpotCheck
from salesgrid.events.v1.envelope_pb2 import Envelope
from salesgrid_activities.app import DEFINITION, MIGRATIONS, spot_checks_for
from salesgrid_activities.domain import spot_checks
from salesgrid_activities.models import DailyReportRow, FollowUpRow, SpotCheckRoundRow, UnitPolicyRow
from salesgrid_common.clock import FakeClock
from salesgrid_common.events.tables import outbox
from salesgrid_dev.directory_seed import add_unit, add_user, replica
from salesgrid_dev.testing import bearer, eventually, field_violations, principal, run_service

from activities_fixtures import rpc_error

BRANCH, TEAM = "/c/r1/b1/", "/c/r1/b1/t1/"
# 23:00 on Sunday 8 March in Shanghai: week 2026-W10 (2–8 March) has not ended there yet.
SUNDAY_NIGHT = datetime(2026, 3, 8, 15, 0, tzinfo=UTC)
# user, path, roles, manager
PEOPLE = [
    ("rep-a", TEAM, "rep", "mgr"),
    ("rep-b", TEAM, "rep", "mgr"),
    ("mgr", BRANCH, "manager", None),
    ("adm", BRANCH, "sales_admin", None),
]


async def test_weekly_spot_checks_fines_and_ledger(database_url: str, nats_url: str, test_keys) -> None:  # type: ignore[no-untyped-def]
    clock = FakeClock(SUNDAY_NIGHT)
    async with run_service(DEFINITION, MIGRATIONS, database_url, nats_url, test_keys, clock=clock) as running:
        w10 = {"rep-a": [], "rep-b": []}  # type: dict[str, list[str]]
        async with replica(running) as session:
            for unit_id, path in (("b1", BRANCH), ("t1", TEAM)):
                await add_unit(session, unit_id, path, at=clock())
            for user_id, path, roles, manager in PEOPLE:
                await add_user(session, user_id, path, manager_id=manager, roles=roles, zone="UTC", at=clock())
            # the branch fines 虚报 80.00 (the company default is 50)
            session.add(
                UnitPolicyRow(
                    unit_id="b1",
                    falsified_fine=Decimal("80.00"),
                    currency="CNY",
                    updated_by="admin",
                    updated_at=clock(),
                    version=1,
                )
            )
            # rep-a: 01:00 Monday 2 March in Shanghai (still 1 March in UTC) opens W10; 00:30 Monday
            # 9 March in Shanghai (8 March in UTC) is already W11
            moments = {
                "rep-a": [datetime(2026, 3, 1, 17, 0, tzinfo=UTC)]
                + [datetime(2026, 3, 3 + i, 2, 0, tzinfo=UTC) for i in range(5)]
                + [datetime(2026, 3, 8, 16, 30, tzinfo=UTC)],
                "rep-b": [datetime(2026, 3, 4, 2, 0, tzinfo=UTC)],
            }
            for rep, times in moments.items():
                for n, at in enumerate(times):
                    fid = f"{rep}-fu-{n}"
                    session.add(
                        FollowUpRow(
                            id=fid,
                            owner_id=rep,
                            org_path=TEAM,
                            kind="call",
                            occurred_at=at,
                            notes="拜访客户",
                            created_at=at,
                            version=1,
                        )
                    )
                    if at < datetime(2026, 3, 8, 16, 0, tzinfo=UTC):
                        w10[rep].append(fid)
            # rep-a's daily report of 5 March was marked falsified by his manager
            session.add(
                DailyReportRow(
                    id="rep-a-dr",
                    owner_id="rep-a",
                    org_path=TEAM,
                    report_date=datetime(2026, 3, 5).date(),
                    time_zone="Asia/Shanghai",
                    status="on_time",
                    visit_ids=[],
                    recorded_at=clock(),
                    falsified=True,
                    falsified_by="mgr",
                    falsified_at=datetime(2026, 3, 6, 2, tzinfo=UTC),
                    version=1,
                )
            )
        uc = spot_checks_for(running.app.ctx)

        # Sunday 23:00 in Shanghai: W10 has not ended; only the (empty) W09 is drawn
        assert await uc.draw_spot_checks() == 0
        async with running.app.ctx.sessions() as session:
            rounds = (await session.scalars(select(SpotCheckRoundRow))).all()
        assert sorted((r.rep_id, r.week, r.population) for r in rounds) == [
            ("rep-a", "2026-W09", 0),
            ("rep-b", "2026-W09", 0),
        ]
        clock.advance(timedelta(hours=2))  # 01:00 Monday 9 March in Shanghai
        # two replicas at once: rep-a gets 3 of his 6 W10 follow-ups, rep-b his only one, once
        assert sum(await asyncio.gather(uc.draw_spot_checks(), uc.draw_spot_checks())) == 4
        assert await uc.draw_spot_checks() == 0  # each week is drawn once
        async with running.app.ctx.sessions() as session:
            rounds = (
                await session.scalars(select(SpotCheckRoundRow).where(SpotCheckRoundRow.week == "2026-W10"))
            ).all()
        assert sorted((r.rep_id, r.population, r.sampled, r.verifier_id) for r in rounds) == [
            ("rep-a", 6, 3, "adm"),
            ("rep-b", 1, 1, "adm"),
        ]

        who = {
            "adm": bearer(
                test_keys.token(
                    principal(
                        "adm", BRANCH, permissions={"spot_checks:verify": "subtree", "activities:read": "subtree"}
                    )
                )
            ),
            "mgr": bearer(
                test_keys.token(
                    principal(
                        "mgr", BRANCH, permissions={"activities:read": "subtree", "daily_reports:read": "subtree"}
                    )
                )
            ),
            "rep-a": bearer(test_keys.token(principal("rep-a", TEAM, permissions={"activities:read": "own"}))),
            "rep-b": bearer(test_keys.token(principal("rep-b", TEAM, permissions={"activities:read": "own"}))),
        }
        api = pb_grpc.SpotChecksStub(running.channel)
        queue = (
            await api.ListSpotChecks(pb.ListSpotChecksRequest(assigned_to_me=True), metadata=who["adm"])
        ).spot_checks
        sampled_a = sorted(c.follow_up_id for c in queue if c.rep_id == "rep-a")
        # the sample is the reproducible draw over exactly the rep's W10 follow-ups
        assert sampled_a == spot_checks.draw(w10["rep-a"], week="2026-W10", rep_id="rep-a", size=3)
        assert {c.week for c in queue} == {"2026-W10"} and {c.verdict for c in queue} == {"pending"}
        assert [
            c.rep_id for c in (await api.ListSpotChecks(pb.ListSpotChecksRequest(), metadata=who["rep-b"])).spot_checks
        ] == ["rep-b"]

        target = next(c for c in queue if c.rep_id == "rep-a")
        error = await rpc_error(
            api.VerifySpotCheck(pb.VerifySpotCheckRequest(id=target.id, verdict="false", note="x"), metadata=who["mgr"])
        )
        assert error.code() == grpc.StatusCode.PERMISSION_DENIED  # managers read, administrators verify
        error = await rpc_error(
            api.VerifySpotCheck(pb.VerifySpotCheckRequest(id=target.id, verdict="false"), metadata=who["adm"])
        )
        assert (error.code(), field_violations(error)) == (grpc.StatusCode.INVALID_ARGUMENT, ["note"])
        found = await api.VerifySpotCheck(
            pb.VerifySpotCheckRequest(
                id=target.id, verdict="false", note="客户表示当天未见面", expected_version=target.version
            ),
            metadata=who["adm"],
        )
        assert (found.verdict, found.fine, found.currency) == ("false", "80.00", "CNY")
        error = await rpc_error(
            api.VerifySpotCheck(pb.VerifySpotCheckRequest(id=target.id, verdict="true"), metadata=who["adm"])
        )
        assert error.code() == grpc.StatusCode.ABORTED  # decided once
        other = next(c for c in queue if c.rep_id == "rep-b")
        assert (
            await api.VerifySpotCheck(pb.VerifySpotCheckRequest(id=other.id, verdict="true"), metadata=who["adm"])
        ).fine == ""

        # the rep's manager sees his reps' checks and findings (not assigned to him)
        seen = (await api.ListSpotChecks(pb.ListSpotChecksRequest(verdict="false"), metadata=who["mgr"])).spot_checks
        assert [(c.id, c.rep_id, c.note) for c in seen] == [(target.id, "rep-a", "客户表示当天未见面")]
        assert (
            list(
                (
                    await api.ListSpotChecks(pb.ListSpotChecksRequest(assigned_to_me=True), metadata=who["mgr"])
                ).spot_checks
            )
            == []
        )
        ledger = await api.GetFalsificationLedger(pb.GetFalsificationLedgerRequest(), metadata=who["mgr"])
        assert sorted((e.rep_id, e.kind, e.record_id, e.fine) for e in ledger.entries) == [
            ("rep-a", "daily_report", "rep-a-dr", "80.00"),
            ("rep-a", "follow_up", target.follow_up_id, "80.00"),
        ]
        assert [(r.rep_id, r.count, r.total, r.currency) for r in ledger.reps] == [("rep-a", 2, "160.00", "CNY")]
        dated = await api.GetFalsificationLedger(
            pb.GetFalsificationLedgerRequest(from_date="2026-03-08"), metadata=who["mgr"]
        )
        assert [e.kind for e in dated.entries] == ["follow_up"]
        assert (
            list((await api.GetFalsificationLedger(pb.GetFalsificationLedgerRequest(), metadata=who["rep-b"])).entries)
            == []
        )  # not his scope

        async with running.app.ctx.sessions() as session:
            rows = (await session.execute(select(outbox.c.envelope).order_by(outbox.c.event_id))).all()
        checks = [
            (e.type.rsplit(".", 1)[1], ActivitiesSpotCheck.FromString(e.payload))
            for e in map(Envelope.FromString, (r.envelope for r in rows))
            if ".spot_check." in e.type
        ]
        assert [verb for verb, _ in checks].count("assigned") == 4
        assert [(c.verdict, c.manager_id, c.fine) for verb, c in checks if verb == "verified"] == [
            ("false", "mgr", "80.00"),
            ("true", "", ""),
        ]

        inbox = ipb_grpc.InboxStub(running.channel)

        async def kinds(user: str) -> list[str]:
            return sorted(i.kind for i in (await inbox.ListInbox(ipb.ListInboxRequest(), metadata=who[user])).items)

        await eventually(lambda: _equals(kinds("mgr"), ["spot_check_false"]))
        await eventually(lambda: _equals(kinds("rep-a"), ["spot_check_false"]))
        await eventually(lambda: _equals(kinds("adm"), ["spot_check_assigned"] * 4))


async def _equals(pending, expected) -> bool:  # type: ignore[no-untyped-def]
    return await pending == expected
