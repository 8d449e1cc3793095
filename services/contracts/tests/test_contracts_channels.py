"""A contract's channel attribution (销售渠道) on SQLite and PostgreSQL: checked against contracts'
replica of customers' channel partners, carried by the contract's events, and inherited by its
receipts and refunds so collections are credited to the channel and partner."""

from __future__ import annotations

import grpc
from salesgrid.contracts.v1 import contracts_pb2 as pb
from salesgrid.events.v1.contracts_events_pb2 import (
    ContractsContractState,
    ContractsReceiptRecorded,
    ContractsRefundRecorded,
)
from salesgrid_common.channels import channel_partners
from salesgrid_common.events.envelope import unpack
from contracts_service_fixtures import Platform, envelopes, failure, platform  # noqa: F401 - fixture


async def test_contract_receipts_and_refunds_carry_the_channel_and_partner(platform: Platform) -> None:
    p = platform
    async with p.running.app.ctx.sessions() as session, session.begin():  # type: ignore[attr-defined]
        for partner, channel, active in (("p-dist", "distributor", True), ("p-gone", "agent", False)):
            await session.execute(
                channel_partners.insert().values(
                    partner_id=partner,
                    name=partner,
                    channel=channel,
                    tier="gold",
                    owner_id="rep-9",
                    org_path="/c/",
                    active=active,
                    version=1,
                    updated_at=p.clock(),
                )
            )
    product = await p.api.CreateProduct(
        pb.CreateProductRequest(sku="CH-1", name="Pump", prices=[pb.ProductPrice(currency="CNY", amount="10000.00")]),
        metadata=p.tokens["admin"],
    )

    def request(channel: str, partner: str) -> pb.CreateContractRequest:
        return pb.CreateContractRequest(
            customer_id="cust-1",
            branch_code="SH",
            currency="CNY",
            start_date="2026-04-01",
            end_date="2027-03-31",
            lines=[pb.ContractLineInput(product_id=product.id, quantity="2")],
            channel=channel,
            partner_id=partner,
        )

    for channel, partner, field in (
        ("distributor", "", "partner_id"),
        ("agent", "p-dist", "partner_id"),
        ("agent", "p-gone", "partner_id"),
        ("direct", "p-dist", "partner_id"),
        ("wholesale", "", "channel"),
    ):
        code, fields = await failure(p.api.CreateContract(request(channel, partner), metadata=p.tokens["rep-1"]))
        assert (code, fields) == (grpc.StatusCode.INVALID_ARGUMENT, [field]), (channel, partner)
    assert all("contract.created" not in e.type for e in await envelopes(p))  # nothing half-written

    contract = await p.api.CreateContract(request("distributor", "p-dist"), metadata=p.tokens["rep-1"])
    assert (contract.channel, contract.partner_id) == ("distributor", "p-dist")
    plain = await p.api.CreateContract(request("", ""), metadata=p.tokens["rep-1"])
    assert (plain.channel, plain.partner_id) == ("direct", "")
    await p.api.SubmitContract(pb.ContractActionRequest(id=contract.id), metadata=p.tokens["rep-1"])
    await p.api.ApproveContract(pb.ContractDecisionRequest(id=contract.id), metadata=p.tokens["mgr-1"])
    await p.api.SignContract(pb.SignContractRequest(id=contract.id), metadata=p.tokens["rep-1"])
    await p.api.RecordReceipt(
        pb.RecordReceiptRequest(contract_id=contract.id, amount="5000.00", method="cash"), metadata=p.tokens["rep-1"]
    )
    await p.api.RecordRefund(
        pb.RecordRefundRequest(contract_id=contract.id, amount="1000.00", reason="returned"), metadata=p.tokens["rep-1"]
    )

    events = {e.type.removeprefix("salesgrid.contracts."): e for e in await envelopes(p)}
    signed = unpack(events["contract.signed"], ContractsContractState)
    receipt = unpack(events["receipt.recorded"], ContractsReceiptRecorded)
    refund = unpack(events["refund.recorded"], ContractsRefundRecorded)
    assert [(m.channel, m.partner_id) for m in (signed, receipt, refund)] == [("distributor", "p-dist")] * 3
