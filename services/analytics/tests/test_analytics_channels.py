"""Channel and partner performance through the real consumers: pipeline's opportunities and
contracts' contracts and receipts carry their channel and partner; GetChannelPerformance reads
them within scope (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime

import grpc
import pytest
from salesgrid.analytics.v1 import analytics_pb2 as pb
from salesgrid.analytics.v1 import analytics_pb2_grpc as pb_grpc
from salesgrid.events.v1.contracts_events_pb2 import ContractsContractState, ContractsReceiptRecorded
from salesgrid.events.v1.pipeline_events_pb2 import PipelineOpportunityState
from salesgrid_analytics.app import DEFINITION, MIGRATIONS
from salesgrid_common.events.bus import connect, ensure_stream
from salesgrid_common.events.envelope import EventMeta, build_envelope
from salesgrid_dev.testing import bearer, eventually, field_violations, principal, run_service

T1, T2 = "/c/b1/t1/", "/c/b1/t2/"
WHEN = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)
MARCH = pb.AnalyticsQuery(period="2026-03", time_zone="Asia/Shanghai", currency="CNY")


def opportunity(
    opp: str, owner: str, path: str, channel: str, partner: str, status: str = "open", reason: str = ""
) -> PipelineOpportunityState:
    return PipelineOpportunityState(
        opportunity_id=opp,
        owner_id=owner,
        org_path=path,
        amount="1000",
        currency="CNY",
        expected_close_date="2026-03-31",
        stage="opportunity",
        status=status,
        channel=channel,
        partner_id=partner,
        reason=reason,
    )


EVENTS = [
    ("salesgrid.pipeline.opportunity.created", opportunity("o-1", "rep-a", T1, "agent", "p-1"), T1),
    ("salesgrid.pipeline.opportunity.created", opportunity("o-2", "rep-b", T2, "direct", ""), T2),
    ("salesgrid.pipeline.opportunity.won", opportunity("o-1", "rep-a", T1, "agent", "p-1", "won"), T1),
    ("salesgrid.pipeline.opportunity.lost", opportunity("o-2", "rep-b", T2, "direct", "", "lost", "price"), T2),
    (
        "salesgrid.contracts.contract.signed",
        ContractsContractState(
            contract_id="k-1",
            owner_id="rep-a",
            org_path=T1,
            currency="CNY",
            total="6000.00",
            status="signed",
            channel="agent",
            partner_id="p-1",
        ),
        T1,
    ),
    (
        "salesgrid.contracts.contract.signed",
        ContractsContractState(
            contract_id="k-2",
            owner_id="rep-b",
            org_path=T2,
            currency="CNY",
            total="2500.00",
            status="signed",
            channel="direct",
        ),
        T2,
    ),
    (
        "salesgrid.contracts.receipt.recorded",
        ContractsReceiptRecorded(
            receipt_id="r-1",
            contract_id="k-1",
            owner_id="rep-a",
            amount="4000.00",
            currency="CNY",
            channel="agent",
            partner_id="p-1",
        ),
        T1,
    ),
]


async def publish(nats_url: str) -> None:
    nc = await connect(nats_url, "test-producers")
    js = nc.jetstream()
    for producer in ("pipeline", "contracts"):
        await ensure_stream(js, producer, 1)
    for event_type, payload, path in EVENTS:
        envelope = build_envelope(
            event_type, event_type.split(".")[1], payload, EventMeta(aggregate_id="agg", org_path=path), WHEN
        )
        await js.publish(envelope.type, envelope.SerializeToString(), headers={"Nats-Msg-Id": envelope.event_id})
    await nc.drain()


async def test_channel_and_partner_performance_within_scope(database_url: str, nats_url: str, test_keys) -> None:
    async with run_service(DEFINITION, MIGRATIONS, database_url, nats_url, test_keys, clock=lambda: WHEN) as running:
        api = pb_grpc.AnalyticsStub(running.channel)
        manager = bearer(
            test_keys.token(
                principal("mgr", "/c/b1/", permissions={"analytics:read": "subtree", "analytics:export": "subtree"})
            )
        )
        rep_b = bearer(test_keys.token(principal("rep-b", T2, permissions={"analytics:read": "own"})))
        await publish(nats_url)

        async def settled() -> pb.ChannelPerformanceResponse | None:
            reply = await api.GetChannelPerformance(MARCH, metadata=manager)
            done = reply.total.collected == "4000.00" and reply.total.contracts == 2 and reply.total.lost == 1
            return reply if done else None

        by_channel = await eventually(settled)
        assert [
            (l.rank, l.key, l.contract_amount, l.collected, l.won, l.lost, l.win_rate) for l in by_channel.lines
        ] == [(1, "agent", "6000.00", "4000.00", 1, 0, "1.0000"), (2, "direct", "2500.00", "0.00", 0, 1, "0.0000")]
        by_partner = await api.GetChannelPerformance(
            pb.AnalyticsQuery(period="2026-03", time_zone="Asia/Shanghai", currency="CNY", by="partner"),
            metadata=manager,
        )
        assert [(l.key, l.channel, l.contract_amount) for l in by_partner.lines] == [("p-1", "agent", "6000.00")]
        export = await api.ExportReport(
            pb.ExportReportRequest(report="channels", format="csv", query=MARCH), metadata=manager
        )
        assert export.content.decode("utf-8-sig").splitlines()[:2] == [
            "rank,channel,channel,contract_amount,contracts,collected,won,lost,win_rate",
            "1,agent,agent,6000.00,1,4000.00,1,0,1.0000",
        ]

        # a rep sees his own sales only
        own = await api.GetChannelPerformance(MARCH, metadata=rep_b)
        assert [(l.key, l.contract_amount) for l in own.lines] == [("direct", "2500.00")]
        with pytest.raises(grpc.aio.AioRpcError) as bad:
            await api.GetChannelPerformance(pb.AnalyticsQuery(period="2026-03", by="planet"), metadata=manager)
        assert (bad.value.code(), field_violations(bad.value)) == (grpc.StatusCode.INVALID_ARGUMENT, ["by"])
