"""Analytics learns each stage model from pipeline's events and reports funnel, win rate and
forecast per model; a customer merge re-attaches the merged record's activity facts. Events go
through JetStream to the real consumers; reports are read through gRPC, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import grpc
import pytest
from google.protobuf.message import Message
from sqlalchemy import select

from salesgrid.analytics.v1 import analytics_pb2 as pb
from salesgrid.analytics.v1 import analytics_pb2_grpc as pb_grpc
from salesgrid.events.v1.activities_events_pb2 import ActivitiesFollowUpLogged, ActivitiesVisitReading
from salesgrid.events.v1.customers_events_pb2 import CustomerMerged
from salesgrid.events.v1.expenses_events_pb2 import ExpensesClaimState, ExpensesLineState
from salesgrid.events.v1.pipeline_events_pb2 import PipelineOpportunityState
from salesgrid_analytics.app import DEFINITION, MIGRATIONS
from salesgrid_analytics.models import StoredFact
from salesgrid_common.events.bus import connect, ensure_stream
from salesgrid_common.events.envelope import EventMeta, build_envelope
from salesgrid_dev.testing import bearer, eventually, field_violations, principal, run_service
from test_analytics_service import DEFAULT_MODEL, stage_model

NOW = datetime(2026, 6, 20, 4, 0, tzinfo=UTC)
T1 = "/c/r1/b1/t1/"
QUERY = dict(period="2026-Q2", time_zone="Asia/Shanghai", currency="CNY")
RETAIL_V1 = stage_model(
    "retail", 1, ("contact", 10, ""), ("pitch", 30, ""), ("closed_won", 100, "won"), ("closed_lost", 0, "lost")
)
RETAIL_V2 = stage_model(
    "retail", 2, ("contact", 20, ""), ("demo", 50, ""), ("closed_won", 100, "won"), ("closed_lost", 0, "lost")
)


def at(month: int, day: int, hour: int = 2) -> datetime:
    return datetime(2026, month, day, hour, 0, tzinfo=UTC)


def opp(
    opp_id: str, stage: str, amount: str, close: str, model: str = "default", from_stage: str = "", probability: int = 0
) -> Message:
    return PipelineOpportunityState(
        opportunity_id=opp_id,
        owner_id="u-a",
        org_path=T1,
        stage=stage,
        amount=amount,
        currency="CNY",
        expected_close_date=close,
        from_stage=from_stage,
        stage_model=model,
        probability=probability,
    )


def created(opp_id: str, stage: str, amount: str, close: str, when: datetime, model: str = "default"):
    return ("salesgrid.pipeline.opportunity.created", opp(opp_id, stage, amount, close, model), when)


def moved(opp_id: str, frm: str, to: str, when: datetime, model: str = "default"):
    return ("salesgrid.pipeline.opportunity.stage_changed", opp(opp_id, to, "0", "2026-06-30", model, frm), when)


PIPELINE = [
    ("salesgrid.pipeline.stage_model.published", DEFAULT_MODEL, at(4, 1)),
    ("salesgrid.pipeline.stage_model.published", RETAIL_V2, at(4, 1)),
    ("salesgrid.pipeline.stage_model.published", RETAIL_V1, at(4, 2)),  # an older version arriving late
    # default model: d1 goes to formal communication with 100,000; d2 stops at approval; d3 stays
    created("d1", "opportunity", "100000.00", "2026-06-30", at(5, 1)),
    moved("d1", "opportunity", "approval", at(5, 2)),
    moved("d1", "approval", "formal_communication", at(5, 3)),
    created("d2", "opportunity", "500.00", "2026-07-31", at(5, 1)),
    moved("d2", "opportunity", "approval", at(5, 4)),
    created("d3", "opportunity", "700.00", "2026-07-31", at(5, 1)),
    # the retail line: r1 won from demo, r2 lost in contact, r3 open in demo (1,000 × 50 %)
    created("r1", "contact", "300.00", "2026-06-30", at(5, 1), "retail"),
    moved("r1", "contact", "demo", at(5, 2), "retail"),
    ("salesgrid.pipeline.opportunity.won", opp("r1", "closed_won", "300.00", "2026-06-30", "retail"), at(5, 9)),
    created("r2", "contact", "200.00", "2026-06-30", at(5, 1), "retail"),
    ("salesgrid.pipeline.opportunity.lost", opp("r2", "closed_lost", "200.00", "2026-06-30", "retail"), at(5, 9)),
    created("r3", "contact", "1000.00", "2026-06-30", at(5, 1), "retail"),
    moved("r3", "contact", "demo", at(5, 5), "retail"),
]


async def publish(nats_url: str, events: list[tuple[str, Message, datetime]]) -> None:
    nc = await connect(nats_url, "test-producers")
    js = nc.jetstream()
    for producer in ("pipeline", "customers", "activities", "expenses"):
        await ensure_stream(js, producer, 1)
    for event_type, payload, when in events:
        envelope = build_envelope(
            event_type, event_type.split(".")[1], payload, EventMeta(aggregate_id="agg", org_path=T1), when
        )
        await js.publish(envelope.type, envelope.SerializeToString(), headers={"Nats-Msg-Id": envelope.event_id})
    await nc.drain()


async def test_funnel_and_forecast_per_published_stage_model(database_url: str, nats_url: str, test_keys) -> None:
    async with run_service(DEFINITION, MIGRATIONS, database_url, nats_url, test_keys, clock=lambda: NOW) as running:
        api = pb_grpc.AnalyticsStub(running.channel)
        boss = bearer(test_keys.token(principal(user_id="boss", org_path="/c/", permissions={"analytics:read": "all"})))
        await publish(nats_url, PIPELINE)

        async def retail_funnel() -> pb.FunnelResponse | None:
            try:
                report = await api.GetFunnel(pb.AnalyticsQuery(**QUERY, stage_model="retail"), metadata=boss)
            except grpc.aio.AioRpcError as error:  # the model is not learned yet
                assert error.code() == grpc.StatusCode.NOT_FOUND
                return None
            return report if sum(s.entered for s in report.stages) == 5 else None

        retail = await eventually(retail_funnel)
        # every stage of the custom model (the newest version), in its order, with its own counts
        assert (retail.stage_model, retail.stage_model_version) == ("retail", 2)
        assert [(s.stage, s.entered, s.advanced) for s in retail.stages] == [("contact", 3, 2), ("demo", 2, 1)]
        assert (retail.won, retail.lost, retail.win_rate, retail.won_amount) == (1, 1, "0.5000", "300.00")
        assert list(retail.stage_models) == ["default", "retail"]

        # every stage of the default model, formal_communication included, default model only
        default = await api.GetFunnel(pb.AnalyticsQuery(**QUERY), metadata=boss)
        assert default.stage_model == "default"
        assert [(s.stage, s.entered, s.advanced) for s in default.stages] == [
            ("lead", 0, 0),
            ("opportunity", 3, 2),
            ("approval", 2, 1),
            ("formal_communication", 1, 0),
            ("bidding", 0, 0),
            ("result", 0, 0),
        ]
        approval = default.stages[2]
        assert (approval.conversion, approval.has_average, approval.average_hours) == ("0.5000", True, 24.0)
        assert (default.won, default.lost) == (0, 0)

        with pytest.raises(grpc.aio.AioRpcError) as unknown:
            await api.GetFunnel(pb.AnalyticsQuery(**QUERY, stage_model="no-such-line"), metadata=boss)
        assert unknown.value.code() == grpc.StatusCode.NOT_FOUND
        assert field_violations(unknown.value) == ["stage_model"]

        # the 100,000 deal in formal communication weighs 40,000 (as in pipeline's /v1/forecast)
        june = pb.AnalyticsQuery(period="2026-06", time_zone="Asia/Shanghai", currency="CNY", stage_model="default")
        forecast = await api.GetForecast(june, metadata=boss)
        assert forecast.total.weighted_pipeline == "40000.00"
        # all models: r3 adds 1,000 × 50 % by the retail model's own probability
        june.stage_model = ""
        assert (await api.GetForecast(june, metadata=boss)).total.weighted_pipeline == "40500.00"


async def test_merge_reattaches_activity_facts_and_routes_later_ones(
    database_url: str, nats_url: str, test_keys
) -> None:
    async with run_service(DEFINITION, MIGRATIONS, database_url, nats_url, test_keys, clock=lambda: NOW) as running:

        def follow_up(fid: str, customer: str, when: datetime):
            return (
                "salesgrid.activities.follow_up.logged",
                ActivitiesFollowUpLogged(follow_up_id=fid, owner_id="u-a", org_path=T1, customer_id=customer),
                when,
            )

        async def customers_of(kind: str) -> list[str] | None:
            async with running.app.ctx.sessions() as session:
                rows = (
                    await session.scalars(
                        select(StoredFact).where(StoredFact.kind == kind).order_by(StoredFact.occurred_at)
                    )
                ).all()
            return [json.loads(r.data)["customer_id"] for r in rows]

        def paid(claim_id: str, *customers: str):
            return (
                "salesgrid.expenses.claim.paid",
                ExpensesClaimState(
                    claim_id=claim_id,
                    owner_id="u-a",
                    org_path=T1,
                    currency="CNY",
                    total=f"{10 * len(customers)}.00",
                    lines=[
                        ExpensesLineState(line_no=n, customer_id=c, amount="10.00") for n, c in enumerate(customers)
                    ],
                ),
                at(5, 4),
            )

        async def expense_customers() -> list[list[str]]:
            async with running.app.ctx.sessions() as session:
                rows = (
                    await session.scalars(
                        select(StoredFact).where(StoredFact.kind == "expense_paid").order_by(StoredFact.data)
                    )
                ).all()
            return sorted([line["customer_id"] for line in json.loads(r.data)["lines"]] for r in rows)

        merge = (
            "salesgrid.customers.customer.merged",
            CustomerMerged(survivor_id="cu-s", merged_ids=["cu-d"]),
            at(5, 5),
        )
        await publish(
            nats_url,
            [
                follow_up("f-1", "cu-d", at(5, 1)),
                follow_up("f-2", "cu-s", at(5, 2)),
                (
                    "salesgrid.activities.check_in.recorded",
                    ActivitiesVisitReading(visit_id="v-1", owner_id="u-a", org_path=T1, customer_id="cu-d"),
                    at(5, 3),
                ),
                paid("x-1", "cu-d", "cu-o"),
                merge,
            ],
        )

        async def reattached() -> list[str] | None:
            found = await customers_of("follow_up_logged")
            return found if found == ["cu-s", "cu-s"] else None

        await eventually(reattached)
        # the check-in travels behind the follow-ups on the activities stream: wait for it too
        assert await eventually(lambda: _when_equal(customers_of("check_in_recorded"), ["cu-s"]))
        assert await eventually(lambda: _when_equal(expense_customers(), [["cu-s", "cu-o"]]))
        # a later event naming the merged id lands on the survivor; the same merge again changes nothing
        await publish(
            nats_url,
            [follow_up("f-3", "cu-d", at(5, 6)), merge, follow_up("f-4", "cu-x", at(5, 7)), paid("x-2", "cu-d")],
        )
        found = await eventually(lambda: _when_len(customers_of("follow_up_logged"), 4))
        assert found == ["cu-s", "cu-s", "cu-s", "cu-x"]
        assert await eventually(lambda: _when_equal(expense_customers(), [["cu-s"], ["cu-s", "cu-o"]]))


async def _when_len(pending, n: int):  # type: ignore[no-untyped-def]
    found = await pending
    return found if found is not None and len(found) == n else None


async def _when_equal(pending, expected):  # type: ignore[no-untyped-def]
    return (await pending) == expected
