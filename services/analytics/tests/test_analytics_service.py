"""The analytics service end to end: events published to JetStream (with duplicates) become facts
through the real consumers; targets, reports, scope and exports are exercised through gRPC."""

from __future__ import annotations

from datetime import UTC, datetime

import grpc
import pytest
from google.protobuf.message import Message

from salesgrid.analytics.v1 import analytics_pb2 as pb
from salesgrid.analytics.v1 import analytics_pb2_grpc as pb_grpc
from salesgrid.events.v1.activities_events_pb2 import (
    ActivitiesDailyReportState,
    ActivitiesFollowUpLogged,
    ActivitiesVisitReading,
)
from salesgrid.events.v1.contracts_events_pb2 import ContractsContractState, ContractsReceiptRecorded
from salesgrid.events.v1.customers_events_pb2 import CustomerRecordState
from salesgrid.events.v1.identity_events_pb2 import UserState
from salesgrid.events.v1.pipeline_events_pb2 import (
    PipelineGateViolated,
    PipelineOpportunityState,
    PipelineSlaNotice,
    PipelineStageDefinition,
    PipelineStageModelState,
)
from salesgrid_analytics.app import DEFINITION, MIGRATIONS
from salesgrid_common.events.bus import connect, ensure_stream
from salesgrid_common.events.envelope import EventMeta, build_envelope
from salesgrid_dev.testing import bearer, eventually, field_violations, principal, run_service

NOW = datetime(2026, 6, 20, 4, 0, tzinfo=UTC)
T1, T2, R2 = "/c/r1/b1/t1/", "/c/r1/b1/t2/", "/c/r2/b3/t9/"
Q2 = pb.AnalyticsQuery(period="2026-Q2", time_zone="Asia/Shanghai", currency="CNY")


def at(month: int, day: int) -> datetime:
    return datetime(2026, month, day, 2, 0, tzinfo=UTC)


def opportunity(opp: str, owner: str, path: str, stage: str, amount: str, close: str, from_stage: str = "") -> Message:
    return PipelineOpportunityState(
        opportunity_id=opp,
        owner_id=owner,
        org_path=path,
        stage=stage,
        amount=amount,
        currency="CNY",
        expected_close_date=close,
        from_stage=from_stage,
    )


def stage_model(code: str, version: int, *stages: tuple[str, int, str]) -> Message:
    """A `stage_model.published` payload: (code, probability, outcome) per stage, in order."""
    return PipelineStageModelState(
        code=code,
        name=code.title(),
        version=version,
        entry_stage=stages[0][0],
        stages=[PipelineStageDefinition(code=c, name=c, probability=p, outcome=o) for c, p, o in stages],
    )


# Test data: pipeline's built-in default as it publishes it at start-up.
DEFAULT_MODEL = stage_model(
    "default",
    0,
    ("lead", 5, ""),
    ("opportunity", 10, ""),
    ("approval", 25, ""),
    ("formal_communication", 40, ""),
    ("bidding", 60, ""),
    ("result", 80, ""),
    ("won", 100, "won"),
    ("lost", 0, "lost"),
)

EVENTS: list[tuple[str, Message, str, datetime]] = [
    ("salesgrid.identity.user.created", UserState(user_id="u-a", org_path=T1, unit_id="t1", active=True), T1, at(4, 2)),
    ("salesgrid.identity.user.created", UserState(user_id="u-b", org_path=T2, unit_id="t2", active=True), T2, at(4, 3)),
    (
        "salesgrid.customers.customer.created",
        CustomerRecordState(customer_id="cu-1", owner_id="u-a", org_path=T1),
        T1,
        at(5, 10),
    ),
    (
        "salesgrid.customers.customer.created",
        CustomerRecordState(customer_id="cu-2", owner_id="", org_path="/c/"),
        "/c/",
        at(5, 11),
    ),  # public pool
    ("salesgrid.pipeline.stage_model.published", DEFAULT_MODEL, "/", at(4, 1)),
    (
        "salesgrid.pipeline.opportunity.created",
        opportunity("o-1", "u-a", T1, "opportunity", "1000.00", "2026-06-30"),
        T1,
        at(5, 1),
    ),
    (
        "salesgrid.pipeline.opportunity.stage_changed",
        opportunity("o-1", "u-a", T1, "approval", "1000.00", "2026-06-30", "opportunity"),
        T1,
        at(5, 3),
    ),
    (
        "salesgrid.pipeline.opportunity.won",
        opportunity("o-1", "u-a", T1, "won", "1000.00", "2026-06-30"),
        T1,
        at(5, 20),
    ),
    (
        "salesgrid.pipeline.opportunity.created",
        opportunity("o-2", "u-b", T2, "opportunity", "500.00", "2026-06-15"),
        T2,
        at(5, 2),
    ),
    (
        "salesgrid.pipeline.opportunity.lost",
        opportunity("o-2", "u-b", T2, "lost", "500.00", "2026-06-15"),
        T2,
        at(5, 25),
    ),
    (
        "salesgrid.pipeline.opportunity.created",
        opportunity("o-3", "u-c", R2, "bidding", "2000.00", "2026-06-10"),
        R2,
        at(5, 5),
    ),
    (
        "salesgrid.pipeline.gate.violated",
        PipelineGateViolated(violation_id="g-1", opportunity_id="o-2", owner_id="u-b", target_stage="bidding"),
        T2,
        at(5, 6),
    ),
    (
        "salesgrid.pipeline.sla.overdue",
        PipelineSlaNotice(opportunity_id="o-2", stage="opportunity", owner_id="u-b"),
        T2,
        at(5, 7),
    ),
    (
        "salesgrid.activities.follow_up.logged",
        ActivitiesFollowUpLogged(follow_up_id="f-1", owner_id="u-a", org_path=T1, customer_id="cu-1"),
        T1,
        at(5, 11),
    ),
    (
        "salesgrid.activities.check_in.recorded",
        ActivitiesVisitReading(visit_id="v-1", owner_id="u-a", org_path=T1, customer_id="cu-1"),
        T1,
        at(5, 12),
    ),
    (
        "salesgrid.activities.check_in.recorded",
        ActivitiesVisitReading(visit_id="v-2", owner_id="u-a", org_path=T1, customer_id="cu-1", flags=["too_far"]),
        T1,
        at(5, 13),
    ),
    (
        "salesgrid.activities.daily_report.submitted",
        ActivitiesDailyReportState(
            report_id="d-1", owner_id="u-a", org_path=T1, report_date="2026-05-12", status="on_time"
        ),
        T1,
        at(5, 12),
    ),
    (
        "salesgrid.activities.daily_report.submitted",
        ActivitiesDailyReportState(
            report_id="d-2", owner_id="u-a", org_path=T1, report_date="2026-05-13", status="late"
        ),
        T1,
        at(5, 14),
    ),
    (
        "salesgrid.activities.daily_report.missing",
        ActivitiesDailyReportState(
            report_id="d-3", owner_id="u-b", org_path=T2, report_date="2026-05-13", status="missing"
        ),
        T2,
        at(5, 14),
    ),
    (
        "salesgrid.contracts.contract.signed",
        ContractsContractState(
            contract_id="k-1", owner_id="u-a", org_path=T1, currency="CNY", total="1000.00", status="signed"
        ),
        T1,
        at(5, 21),
    ),
    (
        "salesgrid.contracts.receipt.recorded",
        ContractsReceiptRecorded(receipt_id="p-1", contract_id="k-1", amount="400.00", currency="CNY"),
        T1,
        at(5, 28),
    ),
]


async def publish_all(nats_url: str) -> None:
    """Every event once with JetStream's dedup header, then again without it (a redelivery)."""
    nc = await connect(nats_url, "test-producers")
    js = nc.jetstream()
    for producer in ("identity", "customers", "pipeline", "activities", "contracts"):
        await ensure_stream(js, producer, 1)
    for event_type, payload, org_path, when in EVENTS:
        envelope = build_envelope(
            event_type, event_type.split(".")[1], payload, EventMeta(aggregate_id="agg", org_path=org_path), when
        )
        data = envelope.SerializeToString()
        await js.publish(envelope.type, data, headers={"Nats-Msg-Id": envelope.event_id})
        await js.publish(envelope.type, data)
    await nc.drain()


async def _error(call) -> str:  # type: ignore[no-untyped-def]
    """The details of the error an RPC ends with."""
    with pytest.raises(grpc.aio.AioRpcError) as failed:
        await call
    return str(failed.value.details())


def target(
    metric: str, period: str, org_path: str, amount: str, currency: str = "", rep_id: str = ""
) -> pb.AnalyticsTarget:
    return pb.AnalyticsTarget(
        metric=metric, period=period, org_path=org_path, amount=amount, currency=currency, rep_id=rep_id
    )


async def test_analytics_projections_targets_scope_and_exports(database_url: str, nats_url: str, test_keys) -> None:
    async with run_service(DEFINITION, MIGRATIONS, database_url, nats_url, test_keys, clock=lambda: NOW) as running:
        api = pb_grpc.AnalyticsStub(running.channel)
        director = bearer(
            test_keys.token(
                principal(
                    user_id="boss",
                    org_path="/c/",
                    permissions={
                        "analytics:read": "all",
                        "analytics:export": "all",
                        "targets:read": "all",
                        "targets:update": "all",
                    },
                )
            )
        )
        manager = bearer(
            test_keys.token(
                principal(
                    user_id="m-1",
                    org_path="/c/r1/",
                    unit_id="r1",
                    permissions={"analytics:read": "subtree", "targets:read": "subtree", "targets:update": "subtree"},
                )
            )
        )
        rep = bearer(
            test_keys.token(
                principal(
                    user_id="u-a",
                    org_path=T1,
                    unit_id="t1",
                    permissions={"analytics:read": "own", "targets:read": "own"},
                )
            )
        )

        await publish_all(nats_url)

        async def all_applied() -> pb.DashboardResponse | None:
            """True once the last event of every stream is in (each stream is applied in order)."""
            board = await api.GetDashboard(Q2, metadata=director)
            last = [(t.new_customers, t.sla_overdue, t.reports_missing, t.collections) for t in board.totals]
            return board if last == [(1, 1, 1, "400.00")] and len(board.new_users) == 2 else None

        board = await eventually(all_applied)
        assert {(u.org_path, u.new_users) for u in board.new_users} == {(T1, 1), (T2, 1)}
        assert [(line.key, line.new_customers) for line in board.totals] == [("/c/", 1)]

        # Funnel: duplicates counted once; o-3 entered at bidding.
        report = await api.GetFunnel(Q2, metadata=director)
        stages = {s.stage: s for s in report.stages}
        assert (stages["opportunity"].entered, stages["opportunity"].amount, stages["opportunity"].advanced) == (
            2,
            "1500.00",
            1,
        )
        assert (stages["bidding"].entered, report.won, report.lost, report.won_amount, report.win_rate) == (
            1,
            1,
            1,
            "1000.00",
            "0.5000",
        )

        rows = {r.key: r for r in (await api.GetPerformance(Q2, metadata=director)).rows}
        assert (rows["u-a"].new_customers, rows["u-b"].gate_violations, rows["u-b"].sla_overdue) == (1, 1, 1)
        a = rows["u-a"]
        assert (a.follow_ups, a.visits, a.flagged_visits, a.reports_on_time, a.reports_late) == (1, 1, 1, 1, 1)
        assert (a.contract_amount, a.collections, a.receivables_outstanding) == ("1000.00", "400.00", "600.00")
        assert (rows["u-b"].reports_missing, rows["u-b"].report_compliance) == (1, "0.0000")
        board = await api.GetLeaderboard(
            pb.AnalyticsQuery(period="2026-Q2", by="new_customers", limit=1), metadata=director
        )
        assert [(e.rank, e.key, e.value) for e in board.entries] == [(1, "u-a", "1")]

        # Targets: decomposition rejected when it does not add up, reported on request.
        with pytest.raises(grpc.aio.AioRpcError) as short:
            await api.SetTargets(
                pb.SetTargetsRequest(
                    parent=target("contract_amount", "2026-Q2", "/c/", "3000.00", "CNY"),
                    children=[target("contract_amount", m, "/c/", "900.00", "CNY") for m in ("2026-04", "2026-05")]
                    + [target("contract_amount", "2026-06", "/c/", "1000.00", "CNY")],
                ),
                metadata=director,
            )
        assert short.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "difference 200.00" in short.value.details()
        reported = await api.SetTargets(
            pb.SetTargetsRequest(
                parent=target("contract_amount", "2026-Q2", "/c/", "3000.00", "CNY"),
                mode="report",
                children=[
                    target("contract_amount", m, "/c/", "900.00", "CNY") for m in ("2026-04", "2026-05", "2026-06")
                ],
            ),
            metadata=director,
        )
        assert reported.difference == "300.00"
        await api.SetTargets(
            pb.SetTargetsRequest(
                parent=target("contract_amount", "2026-Q2", "/c/", "3000.00", "CNY"),
                children=[
                    target("contract_amount", m, "/c/", "1000.00", "CNY") for m in ("2026-04", "2026-05", "2026-06")
                ],
            ),
            metadata=director,
        )
        for bad, field in [
            (target("contract_amount", "2026", "/c/", "-1", "CNY"), "must not be negative"),
            (target("calls", "2026", "/c/", "1"), "unknown metric"),
            (target("visits", "2026-13", "/c/", "1"), "month must be 01-12"),
        ]:
            with pytest.raises(grpc.aio.AioRpcError) as invalid:
                await api.SetTargets(pb.SetTargetsRequest(parent=bad), metadata=director)
            assert invalid.value.code() == grpc.StatusCode.INVALID_ARGUMENT and field in invalid.value.details()
        with pytest.raises(grpc.aio.AioRpcError) as outside:
            await api.SetTargets(
                pb.SetTargetsRequest(parent=target("visits", "2026", "/c/r2/", "10")), metadata=manager
            )
        assert outside.value.code() == grpc.StatusCode.PERMISSION_DENIED
        await api.SetTargets(
            pb.SetTargetsRequest(parent=target("new_customers", "2026-Q2", "/c/r1/", "2")), metadata=manager
        )
        listed = await api.ListTargets(
            pb.ListTargetsRequest(subtree="/c/r1/", time_zone="Asia/Shanghai"), metadata=manager
        )
        assert [(t.metric, t.amount, t.actual, t.attainment) for t in listed.targets] == [
            ("new_customers", "2", "1", "0.5000")
        ]

        # Forecast: May won 1000, June weighted 2000 × 0.60 against the month targets.
        forecast = await api.GetForecast(Q2, metadata=director)
        assert (forecast.total.won, forecast.total.weighted_pipeline, forecast.total.target, forecast.total.gap) == (
            "1000.00",
            "1200.00",
            "3000.00",
            "800.00",
        )

        # Scope: the manager sees his subtree only, the rep himself only.
        r1 = await api.GetFunnel(Q2, metadata=manager)
        assert sum(s.entered for s in r1.stages if s.stage == "bidding") == 0 and r1.subtree == "/c/r1/"
        with pytest.raises(grpc.aio.AioRpcError) as denied:
            await api.GetPerformance(pb.AnalyticsQuery(period="2026-Q2", subtree="/c/r2/"), metadata=manager)
        assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED and "/c/r2" in denied.value.details()
        mine = await api.GetPerformance(Q2, metadata=rep)
        assert [r.key for r in mine.rows] == ["u-a"]
        with pytest.raises(grpc.aio.AioRpcError) as bad_period:
            await api.GetFunnel(pb.AnalyticsQuery(period="2026-Q5"), metadata=director)
        assert bad_period.value.code() == grpc.StatusCode.INVALID_ARGUMENT

        # Daily-report compliance per rep and per team: due = on time + late + missing.
        compliance = await api.GetCompliance(Q2, metadata=director)
        assert [(r.key, r.on_time, r.late, r.missing, r.due, r.compliance) for r in compliance.rows] == [
            ("u-a", 1, 1, 0, 2, "0.5000"),
            ("u-b", 0, 0, 1, 1, "0.0000"),
        ]
        assert (compliance.total.key, compliance.total.due, compliance.total.compliance) == ("/c/", 3, "0.3333")
        teams = await api.GetCompliance(pb.AnalyticsQuery(period="2026-Q2", group_depth=4), metadata=director)
        assert [(r.key, r.compliance) for r in teams.rows] == [(T1, "0.5000"), (T2, "0.0000")]
        own = await api.GetCompliance(Q2, metadata=rep)
        assert [r.key for r in own.rows] == ["u-a"]

        # Ranges instead of a period: May alone holds Q2's activity; June only the receivable.
        def ranged(start: str, end: str, **more: object) -> pb.AnalyticsQuery:
            return pb.AnalyticsQuery(
                from_period=start, to_period=end, time_zone="Asia/Shanghai", currency="CNY", **more
            )

        may = {r.key: r for r in (await api.GetPerformance(ranged("2026-05", "2026-05"), metadata=director)).rows}
        assert (may["u-a"].new_customers, may["u-a"].contract_amount, may["u-a"].reports_late) == (1, "1000.00", 1)
        june = await api.GetPerformance(ranged("2026-06", "2026-Q3"), metadata=director)
        assert june.period == "2026-06..2026-09"
        assert [(r.key, r.new_customers, r.receivables_outstanding) for r in june.rows] == [("u-a", 0, "600.00")]
        may_funnel = await api.GetFunnel(ranged("2026-05", "2026-05"), metadata=director)
        assert (may_funnel.period, may_funnel.won, may_funnel.lost) == ("2026-05..2026-05", 1, 1)
        assert [s.entered for s in may_funnel.stages] == [s.entered for s in report.stages]
        for bad_query, field in [
            (ranged("2026-06", "2026-05"), "to"),
            (ranged("2026-06", ""), "to"),
            (ranged("2026-13", "2026-12"), "from"),
            (pb.AnalyticsQuery(period="2026", from_period="2026-01", to_period="2026-02"), "period"),
        ]:
            for method in (api.GetPerformance, api.GetFunnel):
                with pytest.raises(grpc.aio.AioRpcError) as backwards:
                    await method(bad_query, metadata=director)
                assert backwards.value.code() == grpc.StatusCode.INVALID_ARGUMENT
                assert field_violations(backwards.value) == [field], (bad_query, backwards.value.details())
        assert "ends before it starts" in (await _error(api.GetFunnel(ranged("2026-06", "2026-05"), metadata=director)))

        # Monthly trend: every month of the period (or range) present.
        trend = await api.GetTrend(
            pb.AnalyticsQuery(period="2026-Q2", metric="contract_amount", currency="CNY", time_zone="Asia/Shanghai"),
            metadata=director,
        )
        assert (trend.metric, trend.currency) == ("contract_amount", "CNY")
        assert [(p.period, p.value) for p in trend.points] == [
            ("2026-04", "0.00"),
            ("2026-05", "1000.00"),
            ("2026-06", "0.00"),
        ]
        visits = await api.GetTrend(ranged("2026-04", "2026-05", metric="visits"), metadata=rep)
        assert ([(p.period, p.value) for p in visits.points], visits.currency) == (
            [("2026-04", "0"), ("2026-05", "1")],
            "",
        )
        for bad_metric in ("", "calls"):
            with pytest.raises(grpc.aio.AioRpcError) as unknown:
                await api.GetTrend(pb.AnalyticsQuery(period="2026", metric=bad_metric), metadata=director)
            assert field_violations(unknown.value) == ["metric"]

        # Exports need analytics:export.
        csv = await api.ExportReport(
            pb.ExportReportRequest(report="performance", format="csv", query=Q2), metadata=director
        )
        assert csv.content.startswith(b"\xef\xbb\xbfkey,contract_amount") and b"u-b" in csv.content
        xlsx = await api.ExportReport(
            pb.ExportReportRequest(report="targets", format="xlsx", query=Q2), metadata=director
        )
        assert xlsx.content.startswith(b"PK") and xlsx.filename == "targets-2026-Q2.xlsx"
        # The monthly trend exports one row per month; it needs its metric like GetTrend.
        trend_csv = await api.ExportReport(
            pb.ExportReportRequest(
                report="trend",
                format="csv",
                query=pb.AnalyticsQuery(
                    period="2026-Q2", metric="contract_amount", currency="CNY", time_zone="Asia/Shanghai"
                ),
            ),
            metadata=director,
        )
        assert trend_csv.content.decode("utf-8-sig").splitlines() == [
            "month,contract_amount",
            "2026-04,0.00",
            "2026-05,1000.00",
            "2026-06,0.00",
        ]
        with pytest.raises(grpc.aio.AioRpcError) as no_metric:
            await api.ExportReport(pb.ExportReportRequest(report="trend", format="csv", query=Q2), metadata=director)
        assert field_violations(no_metric.value) == ["metric"]
        with pytest.raises(grpc.aio.AioRpcError) as no_export:
            await api.ExportReport(pb.ExportReportRequest(report="funnel", format="csv", query=Q2), metadata=manager)
        assert no_export.value.code() == grpc.StatusCode.PERMISSION_DENIED
