"""Sales channels (销售渠道) across the real customers, pipeline and contracts services on SQLite and
PostgreSQL: an account becomes an agent or distributor partner in customers (tier, agreement,
within the owner's scope); pipeline and contracts learn the partners from customers' events only
and check every attribution against them; an opportunity's attribution carries over to the
contract drafted from its quote."""

from __future__ import annotations

import grpc
from sqlalchemy import select

from salesgrid.contracts.v1 import contracts_pb2 as kpb
from salesgrid.contracts.v1 import contracts_pb2_grpc as kpb_grpc
from salesgrid.customers.v1 import customers_pb2 as cpb
from salesgrid.customers.v1 import customers_pb2_grpc as cpb_grpc
from salesgrid.customers.v1 import partners_pb2 as ppb
from salesgrid.customers.v1 import partners_pb2_grpc as ppb_grpc
from salesgrid.events.v1.pipeline_events_pb2 import PipelineOpportunityState
from salesgrid.pipeline.v1 import pipeline_pb2 as pb
from salesgrid.pipeline.v1 import pipeline_pb2_grpc as pb_grpc
from salesgrid_common.channels import channel_partners
from salesgrid_common.events.envelope import parse_envelope, unpack
from salesgrid_common.events.tables import outbox
from salesgrid_dev.testing import bearer, eventually, field_violations, principal
from pipeline_fixtures import (  # noqa: F401 - fixtures
    REP_PERMS,
    START,
    add_product,
    contracts_service,
    customers_service,
    expect_error,
    money,
    new_customer,
    pipeline,
)

PERMS = {**REP_PERMS, "customers:update": "own", "contracts:create": "own", "contracts:read": "own"}


async def partner_channel_in(running, partner_id: str) -> str | None:
    async with running.app.ctx.sessions() as session:
        row = (
            await session.execute(
                select(channel_partners.c.channel, channel_partners.c.active).where(
                    channel_partners.c.partner_id == partner_id
                )
            )
        ).first()
        return None if row is None else f"{row.channel}:{row.active}"


async def test_partners_from_customers_attribute_opportunities_and_contracts(
    database_url: str, nats_url: str, test_keys, customers_service, contracts_service
) -> None:
    async with pipeline(
        database_url,
        nats_url,
        test_keys,
        customers_addr=customers_service.address,
        contracts_addr=contracts_service.address,
    ) as running:
        api = pb_grpc.PipelineStub(running.channel)
        partners = ppb_grpc.ChannelPartnersStub(customers_service.channel)
        customers = cpb_grpc.CustomersStub(customers_service.channel)
        catalogue = kpb_grpc.ContractsStub(contracts_service.channel)
        rep = bearer(test_keys.token(principal("rep-1", org_path="/c/r1/t1/", permissions=PERMS)))
        other = bearer(test_keys.token(principal("rep-2", org_path="/c/r2/t2/", permissions=PERMS)))
        admin = bearer(test_keys.token(principal("admin", org_path="/c/", permissions={"products:create": "all"})))

        # a partner is a customer account: its owner gives it a channel, a partner tier, an agreement
        agent = await new_customer(customers_service, rep, "华南代理商贸有限公司")
        distributor = await new_customer(customers_service, rep, "西北分销集团有限公司")
        buyer = await new_customer(customers_service, rep, "东部制造有限公司")
        for channel, tier, contract_id, field in (
            ("reseller", "gold", "", "channel"),
            ("agent", "platinum", "", "tier"),
            ("", "gold", "", "channel"),
            ("agent", "gold", "no-such-contract", "contract_id"),
        ):
            error = await expect_error(
                partners.SetPartnerProfile(
                    ppb.SetPartnerProfileRequest(
                        customer_id=agent, channel=channel, tier=tier, contract_id=contract_id, expected_version=1
                    ),
                    metadata=rep,
                ),
                grpc.StatusCode.INVALID_ARGUMENT,
            )
            assert field in field_violations(error), error.details()
        await expect_error(
            partners.SetPartnerProfile(
                ppb.SetPartnerProfileRequest(customer_id=agent, channel="agent", tier="gold", expected_version=1),
                metadata=other,
            ),
            grpc.StatusCode.PERMISSION_DENIED,
        )
        await expect_error(
            partners.SetPartnerProfile(
                ppb.SetPartnerProfileRequest(customer_id=agent, channel="agent", tier="gold", expected_version=7),
                metadata=rep,
            ),
            grpc.StatusCode.ABORTED,
        )
        made = await partners.SetPartnerProfile(
            ppb.SetPartnerProfileRequest(customer_id=agent, channel="agent", tier="gold", expected_version=1),
            metadata=rep,
        )
        assert (made.partner_channel, made.partner_tier, made.version) == ("agent", "gold", 2)
        await partners.SetPartnerProfile(
            ppb.SetPartnerProfileRequest(
                customer_id=distributor, channel="distributor", tier="silver", expected_version=1
            ),
            metadata=rep,
        )
        listed = await partners.ListPartners(ppb.ListPartnersRequest(), metadata=rep)
        assert sorted(c.id for c in listed.customers) == sorted([agent, distributor])
        assert [
            c.id
            for c in (await partners.ListPartners(ppb.ListPartnersRequest(channel="agent"), metadata=rep)).customers
        ] == [agent]
        assert not (await partners.ListPartners(ppb.ListPartnersRequest(), metadata=other)).customers
        await expect_error(
            partners.ListPartners(ppb.ListPartnersRequest(channel="mail"), metadata=rep),
            grpc.StatusCode.INVALID_ARGUMENT,
            "channel",
        )

        # pipeline learns them from customers' events (no read of customers' tables)
        assert await eventually(lambda: partner_channel_in(running, distributor), timeout=30) == "distributor:True"
        assert await partner_channel_in(running, agent) == "agent:True"

        def create(name: str, channel: str, partner: str, customer: str = buyer) -> pb.CreateOpportunityRequest:
            return pb.CreateOpportunityRequest(
                customer_id=customer,
                name=name,
                amount=money("9000"),
                expected_close_date="2026-06-30",
                channel=channel,
                partner_id=partner,
            )

        for request, field in (
            (create("x", "direct", agent), "partner_id"),
            (create("x", "agent", ""), "partner_id"),
            (create("x", "agent", buyer), "partner_id"),  # an ordinary customer
            (create("x", "agent", distributor), "partner_id"),  # the other channel
            (create("x", "retail", ""), "channel"),
        ):
            error = await expect_error(api.CreateOpportunity(request, metadata=rep), grpc.StatusCode.INVALID_ARGUMENT)
            assert field in field_violations(error), (field, error.details())
        direct = await api.CreateOpportunity(create("Direct deal", "", ""), metadata=rep)
        through_agent = await api.CreateOpportunity(create("Agent deal", "agent", agent), metadata=rep)
        assert (direct.channel, direct.partner_id) == ("direct", "")
        assert (through_agent.channel, through_agent.partner_id) == ("agent", agent)
        async with running.app.ctx.sessions() as session:
            raw = (
                await session.scalars(
                    select(outbox.c.envelope).where(outbox.c.subject == "salesgrid.pipeline.opportunity.created")
                )
            ).all()
        assert sorted(
            (e.channel, e.partner_id) for e in (unpack(parse_envelope(r), PipelineOpportunityState) for r in raw)
        ) == [("agent", agent), ("direct", "")]

        # the contract drafted from the agent deal's quote is the agent's (contracts checks its replica)
        product = (await add_product(catalogue, admin, "AG-1", "Valve", CNY="900")).id
        quote = await api.CreateQuote(
            pb.CreateQuoteRequest(
                opportunity_id=through_agent.id, lines=[pb.QuoteLineInput(product_id=product, quantity="10")]
            ),
            metadata=rep,
        )
        block = pb.QuoteContractDraft(branch_code="SH", start_date="2026-04-01", end_date="2027-03-31")

        async def accepted() -> pb.Quote | None:
            try:
                return await api.AcceptQuote(pb.AcceptQuoteRequest(id=quote.id, contract=block), metadata=rep)
            except grpc.aio.AioRpcError as error:  # until contracts' replica has the partner
                if "partner_id" in error.details():
                    return None
                raise

        contract = await catalogue.GetContract(
            kpb.GetContractRequest(id=(await eventually(accepted, timeout=30)).contract_id), metadata=rep
        )
        assert (contract.channel, contract.partner_id) == ("agent", agent)
        # directly: checked the same way; ending the partnership makes the account unnamable
        bad = kpb.CreateContractRequest(
            customer_id=buyer,
            branch_code="SH",
            currency="CNY",
            start_date="2026-04-01",
            end_date="2027-03-31",
            channel="distributor",
            partner_id=agent,
            lines=[kpb.ContractLineInput(product_id=product, quantity="1")],
        )
        error = await expect_error(catalogue.CreateContract(bad, metadata=rep), grpc.StatusCode.INVALID_ARGUMENT)
        assert "partner_id" in field_violations(error), error.details()
        # the partner agreement must be a contract of the partner's own account (known from contracts' events)
        agreement = await catalogue.CreateContract(
            kpb.CreateContractRequest(
                customer_id=agent,
                branch_code="SH",
                currency="CNY",
                start_date="2026-04-01",
                end_date="2027-03-31",
                lines=[kpb.ContractLineInput(product_id=product, quantity="1")],
            ),
            metadata=rep,
        )
        version = (await customers.GetCustomer(cpb.GetCustomerRequest(id=agent), metadata=rep)).version
        error = await expect_error(
            partners.SetPartnerProfile(
                ppb.SetPartnerProfileRequest(
                    customer_id=agent, channel="agent", tier="gold", contract_id=contract.id, expected_version=version
                ),
                metadata=rep,
            ),
            grpc.StatusCode.INVALID_ARGUMENT,
        )  # the buyer's contract, not the agent's
        assert field_violations(error) == ["contract_id"]

        async def with_agreement() -> cpb.Customer | None:
            try:
                return await partners.SetPartnerProfile(
                    ppb.SetPartnerProfileRequest(
                        customer_id=agent,
                        channel="agent",
                        tier="silver",
                        contract_id=agreement.id,
                        expected_version=version,
                    ),
                    metadata=rep,
                )
            except grpc.aio.AioRpcError as error:  # until customers has seen the contract's event
                if field_violations(error) == ["contract_id"]:
                    return None
                raise

        signed_up = await eventually(with_agreement, timeout=30)
        assert (signed_up.partner_tier, signed_up.partner_contract_id) == ("silver", agreement.id)
        version = signed_up.version
        ended = await partners.SetPartnerProfile(
            ppb.SetPartnerProfileRequest(customer_id=agent, channel="", expected_version=version), metadata=rep
        )
        assert (ended.partner_channel, ended.partner_tier) == ("", "")
        assert await eventually(lambda: _ended(running, agent), timeout=30)
        error = await expect_error(
            api.CreateOpportunity(create("Late agent deal", "agent", agent), metadata=rep),
            grpc.StatusCode.INVALID_ARGUMENT,
        )
        assert "not an active channel partner" in error.details()


async def _ended(running, partner_id: str) -> bool | None:
    return True if await partner_channel_in(running, partner_id) == ":True" else None
