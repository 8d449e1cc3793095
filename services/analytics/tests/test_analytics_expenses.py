"""Cost of sale through the real consumer: the expenses service's claim.paid events (sent twice)
and the contracts service's receipts become facts; GetCostOfSale reads them within scope."""

from __future__ import annotations

from datetime import UTC, datetime

import grpc
import pytest
from salesgrid.analytics.v1 import analytics_pb2 as pb
from salesgrid.analytics.v1 import analytics_pb2_grpc as pb_grpc
from salesgrid.events.v1.contracts_events_pb2 import ContractsContractState, ContractsReceiptRecorded
from salesgrid.events.v1.expenses_events_pb2 import ExpensesClaimState, ExpensesLineState
from salesgrid_analytics.app import DEFINITION, MIGRATIONS
from salesgrid_common.events.bus import connect, ensure_stream
from salesgrid_common.events.envelope import EventMeta, build_envelope
from salesgrid_dev.testing import bearer, eventually, field_violations, principal, run_service

T1, T2 = "/c/b1/t1/", "/c/b1/t2/"
WHEN = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)
MARCH = pb.AnalyticsQuery(period="2026-03", time_zone="Asia/Shanghai", currency="CNY")


def claim(claim_id: str, owner: str, path: str, *lines: tuple[str, str, str]) -> ExpensesClaimState:
    total = sum(float(a) for _c, _o, a in lines)
    return ExpensesClaimState(
        claim_id=claim_id,
        owner_id=owner,
        org_path=path,
        currency="CNY",
        total=f"{total:.2f}",
        status="paid",
        lines=[ExpensesLineState(customer_id=c, opportunity_id=o, amount=a) for c, o, a in lines],
    )


EVENTS = [
    ("salesgrid.expenses.claim.paid", claim("e-1", "rep-a", T1, ("cu-1", "o-1", "300.00"), ("cu-1", "", "100.00")), T1),
    ("salesgrid.expenses.claim.paid", claim("e-2", "rep-b", T2, ("cu-2", "o-2", "200.00")), T2),
    (
        "salesgrid.contracts.contract.signed",
        ContractsContractState(
            contract_id="k-1", owner_id="rep-a", org_path=T1, currency="CNY", total="8000.00", status="signed"
        ),
        T1,
    ),
    (
        "salesgrid.contracts.receipt.recorded",
        ContractsReceiptRecorded(receipt_id="p-1", contract_id="k-1", amount="8000.00", currency="CNY"),
        T1,
    ),
]


async def publish(nats_url: str) -> None:
    nc = await connect(nats_url, "test-producers")
    js = nc.jetstream()
    for producer in ("expenses", "contracts"):
        await ensure_stream(js, producer, 1)
    for event_type, payload, path in EVENTS:
        envelope = build_envelope(
            event_type, event_type.split(".")[1], payload, EventMeta(aggregate_id="agg", org_path=path), WHEN
        )
        data = envelope.SerializeToString()
        await js.publish(envelope.type, data, headers={"Nats-Msg-Id": envelope.event_id})
        await js.publish(envelope.type, data)  # a redelivery: counted once
    await nc.drain()


async def test_cost_of_sale_from_paid_claims_and_receipts(database_url: str, nats_url: str, test_keys) -> None:
    async with run_service(DEFINITION, MIGRATIONS, database_url, nats_url, test_keys, clock=lambda: WHEN) as running:
        api = pb_grpc.AnalyticsStub(running.channel)
        manager = bearer(
            test_keys.token(
                principal("mgr", "/c/b1/", permissions={"analytics:read": "subtree", "analytics:export": "subtree"})
            )
        )
        rep_b = bearer(test_keys.token(principal("rep-b", T2, permissions={"analytics:read": "own"})))
        await publish(nats_url)

        async def settled() -> pb.CostOfSaleResponse | None:
            reply = await api.GetCostOfSale(MARCH, metadata=manager)
            return reply if reply.total.claims == 2 and reply.total.collected == "8000.00" else None

        by_rep = await eventually(settled)
        assert [(l.key, l.expenses, l.collected, l.ratio) for l in by_rep.lines] == [
            ("rep-a", "400.00", "8000.00", "0.0500"),
            ("rep-b", "200.00", "0.00", ""),
        ]
        assert (by_rep.total.expenses, by_rep.total.ratio) == ("600.00", "0.0750")
        query = pb.AnalyticsQuery(period="2026-03", time_zone="Asia/Shanghai", currency="CNY", by="opportunity")
        by_opportunity = await api.GetCostOfSale(query, metadata=manager)
        assert [(l.key, l.expenses) for l in by_opportunity.lines] == [
            ("o-1", "300.00"),
            ("o-2", "200.00"),
            ("", "100.00"),
        ]

        export = await api.ExportReport(
            pb.ExportReportRequest(report="cost_of_sale", format="csv", query=query), metadata=manager
        )
        assert export.content.decode("utf-8-sig").splitlines() == [
            "opportunity,expenses,claims,collected,ratio",
            "o-1,300.00,1,,",
            "o-2,200.00,1,,",
            ",100.00,1,,",
            "total,600.00,2,8000.00,0.0750",
        ]

        # a rep sees his own cost of sale only
        own = await api.GetCostOfSale(MARCH, metadata=rep_b)
        assert [l.key for l in own.lines] == ["rep-b"]
        with pytest.raises(grpc.aio.AioRpcError) as denied:
            await api.GetCostOfSale(pb.AnalyticsQuery(period="2026-03", rep_id="rep-a"), metadata=rep_b)
        assert denied.value.code() is grpc.StatusCode.PERMISSION_DENIED
        with pytest.raises(grpc.aio.AioRpcError) as bad:
            await api.GetCostOfSale(pb.AnalyticsQuery(period="2026-03", by="planet"), metadata=manager)
        assert (bad.value.code(), field_violations(bad.value)) == (grpc.StatusCode.INVALID_ARGUMENT, ["by"])
