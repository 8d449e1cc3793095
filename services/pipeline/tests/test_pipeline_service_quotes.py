"""Quotes through the pipeline service's gRPC API on SQLite and PostgreSQL, next to the real
customers and contracts services: lines priced from the contracts catalogue, the commit flag, and
an accepted quote starting the contract's draft."""

from __future__ import annotations

import grpc
from sqlalchemy import select

from salesgrid.contracts.v1 import contracts_pb2 as kpb
from salesgrid.contracts.v1 import contracts_pb2_grpc as kpb_grpc
from salesgrid.events.v1.pipeline_events_pb2 import PipelineQuoteState
from salesgrid.pipeline.v1 import pipeline_pb2 as pb
from salesgrid.pipeline.v1 import pipeline_pb2_grpc as pb_grpc
from salesgrid_common.events.envelope import parse_envelope
from salesgrid_common.events.tables import outbox
from salesgrid_dev.testing import bearer, field_violations, principal
from salesgrid_pipeline.usecases import PipelineUseCases

from pipeline_fixtures import (
    MANAGER_PERMS,
    REP_PERMS,
    add_product,
    expect_error,
    money,
    new_opportunity,
    pipeline,
    subjects,
)
from pipeline_fixtures import contracts_service, customers_service  # noqa: F401 - fixtures


async def test_quotes_priced_from_the_contracts_catalogue_and_commit_flag(
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
        rep = bearer(test_keys.token(principal("rep-1", org_path="/c/r1/t1/", permissions=REP_PERMS)))
        other = bearer(test_keys.token(principal("rep-2", org_path="/c/r2/t2/", permissions=REP_PERMS)))
        manager = bearer(test_keys.token(principal("mgr-1", org_path="/c/r1/", permissions=MANAGER_PERMS)))
        catalogue = kpb_grpc.ContractsStub(contracts_service.channel)
        admin = bearer(test_keys.token(principal("admin", org_path="/c/", permissions={"products:create": "all"})))
        server = await add_product(catalogue, admin, "SRV-1", "Server", CNY="99.99", USD="14")
        support = await add_product(catalogue, admin, "SUP-1", "Support", CNY="1000")
        opp = await new_opportunity(api, customers_service, rep, "华北重工集团有限公司", "Line 2", "5000", "2026-06-30")

        # lines take name and price from the catalogue; discounts and totals in Decimal, per line
        first = await api.CreateQuote(
            pb.CreateQuoteRequest(
                opportunity_id=opp.id,
                lines=[
                    pb.QuoteLineInput(
                        product_id=server.id, quantity="3", discount_kind="percent", discount_value="9.5"
                    ),
                    pb.QuoteLineInput(product_id=support.id, discount_kind="amount", discount_value="100"),
                ],
            ),
            metadata=rep,
        )
        assert (first.version, first.status, first.currency) == (1, "current", "CNY")
        assert [(line.name, line.unit_price, line.gross, line.discount, line.net) for line in first.lines] == [
            ("Server", "99.99", "299.97", "28.50", "271.47"),
            ("Support", "1000.00", "1000.00", "100.00", "900.00"),
        ]
        assert (first.subtotal, first.discount_total, first.total) == ("1299.97", "128.50", "1171.47")
        assert (first.discount_rate, first.discount_approval) == ("10.00", "")  # within the default threshold

        # bad lines name the field and write nothing
        bad_lines = [
            ([pb.QuoteLineInput(product_id="no-such-product")], "lines[0].product_id"),
            (
                [pb.QuoteLineInput(product_id=server.id), pb.QuoteLineInput(product_id=support.id)],
                "lines[1].product_id",
            ),
            ([pb.QuoteLineInput(product_id=server.id, quantity="abc")], "lines[0].quantity"),
            ([pb.QuoteLineInput(product_id=server.id, quantity="0")], "lines[0].quantity"),
            (
                [pb.QuoteLineInput(product_id=server.id, discount_kind="percent", discount_value="150")],
                "lines[0].discount.value",
            ),
            (
                [pb.QuoteLineInput(product_id=server.id, discount_kind="bribe", discount_value="1")],
                "lines[0].discount_kind",
            ),
            ([], "lines"),
        ]
        for lines, field in bad_lines:
            currency = "USD" if field == "lines[1].product_id" else ""  # Support has no USD price
            error = await expect_error(
                api.CreateQuote(
                    pb.CreateQuoteRequest(opportunity_id=opp.id, currency=currency, lines=lines), metadata=rep
                ),
                grpc.StatusCode.INVALID_ARGUMENT,
            )
            assert field_violations(error)[0] == field, (field, error.details())
        await expect_error(
            api.CreateQuote(
                pb.CreateQuoteRequest(
                    opportunity_id=opp.id, currency="XXX", lines=[pb.QuoteLineInput(product_id=server.id)]
                ),
                metadata=rep,
            ),
            grpc.StatusCode.INVALID_ARGUMENT,
            "lines[0]",
        )
        reader = bearer(
            test_keys.token(
                principal(
                    "rep-1",
                    org_path="/c/r1/t1/",
                    permissions={k: v for k, v in REP_PERMS.items() if k != "quotes:create"},
                )
            )
        )
        await expect_error(
            api.CreateQuote(
                pb.CreateQuoteRequest(opportunity_id=opp.id, lines=[pb.QuoteLineInput(product_id=server.id)]),
                metadata=reader,
            ),
            grpc.StatusCode.PERMISSION_DENIED,
        )
        assert [
            q.version
            for q in (await api.ListQuotes(pb.ListQuotesRequest(opportunity_id=opp.id), metadata=reader)).quotes
        ] == [1]

        # a new version supersedes the current one; only the current version can be accepted, once
        second = await api.CreateQuote(
            pb.CreateQuoteRequest(
                opportunity_id=opp.id, currency="USD", lines=[pb.QuoteLineInput(product_id=server.id, quantity="2")]
            ),
            metadata=rep,
        )
        assert (second.version, second.currency, second.total, second.lines[0].unit_price) == (
            2,
            "USD",
            "28.00",
            "14.00",
        )
        quotes = (await api.ListQuotes(pb.ListQuotesRequest(opportunity_id=opp.id), metadata=manager)).quotes
        assert [(q.version, q.status) for q in quotes] == [(1, "superseded"), (2, "current")]
        await expect_error(
            api.AcceptQuote(pb.AcceptQuoteRequest(id=first.id), metadata=rep),
            grpc.StatusCode.FAILED_PRECONDITION,
            "superseded",
        )
        await expect_error(
            api.AcceptQuote(pb.AcceptQuoteRequest(id=second.id), metadata=other), grpc.StatusCode.PERMISSION_DENIED
        )
        await expect_error(
            api.ListQuotes(pb.ListQuotesRequest(opportunity_id=opp.id), metadata=other),
            grpc.StatusCode.PERMISSION_DENIED,
        )
        accepted = await api.AcceptQuote(pb.AcceptQuoteRequest(id=second.id), metadata=rep)
        assert (accepted.status, accepted.accepted_by) == ("accepted", "rep-1")
        await expect_error(
            api.AcceptQuote(pb.AcceptQuoteRequest(id=second.id), metadata=rep),
            grpc.StatusCode.FAILED_PRECONDITION,
            "already accepted",
        )
        await expect_error(
            api.CreateQuote(
                pb.CreateQuoteRequest(opportunity_id=opp.id, lines=[pb.QuoteLineInput(product_id=server.id)]),
                metadata=rep,
            ),
            grpc.StatusCode.FAILED_PRECONDITION,
            "already accepted",
        )

        # the commit flag, amount and close date: If-Match version required, bad input writes nothing
        update = pb.UpdateOpportunityRequest(id=opp.id, commit=True)
        await expect_error(
            api.UpdateOpportunity(update, metadata=rep), grpc.StatusCode.INVALID_ARGUMENT, "expected_version"
        )
        update.expected_version = opp.version + 5
        await expect_error(api.UpdateOpportunity(update, metadata=rep), grpc.StatusCode.ABORTED, "expected_version")
        for bad in (
            pb.UpdateOpportunityRequest(id=opp.id, amount=money("-1"), expected_version=opp.version),
            pb.UpdateOpportunityRequest(id=opp.id, expected_close_date="2020-01-01", expected_version=opp.version),
            pb.UpdateOpportunityRequest(id=opp.id, expected_version=opp.version),
        ):
            await expect_error(api.UpdateOpportunity(bad, metadata=rep), grpc.StatusCode.INVALID_ARGUMENT)
        await expect_error(
            api.UpdateOpportunity(
                pb.UpdateOpportunityRequest(id=opp.id, commit=True, expected_version=opp.version), metadata=other
            ),
            grpc.StatusCode.PERMISSION_DENIED,
        )
        forecast = await api.GetForecast(pb.GetForecastRequest(), metadata=rep)
        assert [(b.commit_amount, b.pipeline_amount) for b in forecast.buckets] == [("0.00", "5000.00")]
        update.expected_version = opp.version
        updated = await api.UpdateOpportunity(update, metadata=rep)
        assert (updated.commit, updated.amount.amount, updated.version) == (True, "5000", opp.version + 1)
        updated = await api.UpdateOpportunity(
            pb.UpdateOpportunityRequest(
                id=opp.id, amount=money("6000.5"), expected_close_date="2026-07-15", expected_version=updated.version
            ),
            metadata=rep,
        )
        assert (updated.commit, updated.amount.amount, updated.expected_close_date) == (True, "6000.5", "2026-07-15")
        forecast = await api.GetForecast(pb.GetForecastRequest(), metadata=rep)
        assert [(b.month, b.commit_amount) for b in forecast.buckets] == [("2026-07", "6000.50")]
        await api.LoseOpportunity(pb.LoseOpportunityRequest(id=opp.id, reason="budget cut"), metadata=rep)
        await expect_error(
            api.UpdateOpportunity(
                pb.UpdateOpportunityRequest(id=opp.id, commit=False, expected_version=updated.version + 1), metadata=rep
            ),
            grpc.StatusCode.FAILED_PRECONDITION,
            "closed",
        )

        assert [e.removeprefix("salesgrid.pipeline.") for e in await subjects(running)] == [
            "opportunity.created",
            "quote.created",
            "quote.versioned",
            "quote.accepted",
            "opportunity.updated",
            "opportunity.updated",
            "opportunity.lost",
        ]


async def test_accepting_a_quote_starts_the_contract_draft(
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
        perms = {**REP_PERMS, "contracts:create": "own", "contracts:read": "own"}
        rep = bearer(test_keys.token(principal("rep-1", org_path="/c/r1/t1/", permissions=perms)))
        no_contracts = bearer(test_keys.token(principal("rep-1", org_path="/c/r1/t1/", permissions=REP_PERMS)))
        catalogue = kpb_grpc.ContractsStub(contracts_service.channel)
        admin = bearer(test_keys.token(principal("admin", org_path="/c/", permissions={"products:create": "all"})))
        server = await add_product(catalogue, admin, "SRV-9", "Server", CNY="99.99")
        support = await add_product(catalogue, admin, "SUP-9", "Support", CNY="1000")
        opp = await new_opportunity(api, customers_service, rep, "华中装备制造有限公司", "Line 9", "5000", "2026-06-30")
        customer = opp.customer_id
        quote = await api.CreateQuote(
            pb.CreateQuoteRequest(
                opportunity_id=opp.id,
                lines=[
                    pb.QuoteLineInput(
                        product_id=server.id, quantity="3", discount_kind="percent", discount_value="9.5"
                    ),
                    pb.QuoteLineInput(product_id=support.id, discount_kind="amount", discount_value="100"),
                ],
            ),
            metadata=rep,
        )
        # the catalogue price changes after quoting: the contract keeps the quote's snapshot
        await catalogue.UpdateProduct(
            kpb.UpdateProductRequest(
                id=server.id,
                expected_version=server.version,
                set_prices=True,
                prices=[kpb.ProductPrice(currency="CNY", amount="150")],
            ),
            metadata=bearer(
                test_keys.token(principal("admin", org_path="/c/", permissions={"products:update": "all"}))
            ),
        )

        async def contracts_of_customer() -> list:
            return list(
                (await catalogue.ListContracts(kpb.ListContractsRequest(customer_id=customer), metadata=rep)).contracts
            )

        def block(**changes) -> pb.QuoteContractDraft:
            draft = pb.QuoteContractDraft(
                branch_code="SH", start_date="2026-04-01", end_date="2027-03-31", terms="Net 30"
            )
            for name, value in changes.items():
                setattr(draft, name, value)
            return draft

        # bad contract blocks are refused locally or by the contracts service: the quote stays current
        for bad, field, code in (
            (block(branch_code=""), "contract.branch_code", grpc.StatusCode.INVALID_ARGUMENT),
            (block(start_date="April"), "contract.start_date", grpc.StatusCode.INVALID_ARGUMENT),
            (block(end_date="2026-03-01"), "contract.end_date", grpc.StatusCode.INVALID_ARGUMENT),
            (block(branch_code="1X"), "contract.branch_code", grpc.StatusCode.INVALID_ARGUMENT),
        ):
            error = await expect_error(
                api.AcceptQuote(pb.AcceptQuoteRequest(id=quote.id, contract=bad), metadata=rep), code
            )
            assert field_violations(error)[0] == field, (field, error.details())
        # the contracts service refuses the caller (no contracts:create): nothing accepted
        await expect_error(
            api.AcceptQuote(pb.AcceptQuoteRequest(id=quote.id, contract=block()), metadata=no_contracts),
            grpc.StatusCode.PERMISSION_DENIED,
            "contract",
        )
        listed = (await api.ListQuotes(pb.ListQuotesRequest(opportunity_id=opp.id), metadata=rep)).quotes
        assert [(q.status, q.contract_id) for q in listed] == [("current", "")]
        assert await contracts_of_customer() == []

        # the commit fails after the contract was created: the error names the contract, the quote stays current
        usecases = running.app.ctx.component(PipelineUseCases)
        original_record = usecases.outbox.record

        async def failing_record(*args, **kwargs):
            raise RuntimeError("database went away")

        usecases.outbox.record = failing_record
        try:
            error = await expect_error(
                api.AcceptQuote(pb.AcceptQuoteRequest(id=quote.id, contract=block()), metadata=rep),
                grpc.StatusCode.FAILED_PRECONDITION,
            )
        finally:
            usecases.outbox.record = original_record
        orphans = await contracts_of_customer()
        assert len(orphans) == 1 and orphans[0].id in error.details(), error.details()
        listed = (await api.ListQuotes(pb.ListQuotesRequest(opportunity_id=opp.id), metadata=rep)).quotes
        assert [(q.status, q.contract_id) for q in listed] == [("current", "")]

        # accepted with the contract block: the draft is created with the quote's lines and currency
        accepted = await api.AcceptQuote(pb.AcceptQuoteRequest(id=quote.id, contract=block()), metadata=rep)
        assert accepted.status == "accepted" and accepted.contract_id
        contract = await catalogue.GetContract(kpb.GetContractRequest(id=accepted.contract_id), metadata=rep)
        assert (contract.customer_id, contract.currency, contract.status) == (customer, "CNY", "draft")
        assert (contract.start_date, contract.end_date, contract.terms) == ("2026-04-01", "2027-03-31", "Net 30")
        assert [
            (line.product_id, line.quantity, line.unit_price, line.discount_percent, line.total)
            for line in contract.lines
        ] == [(server.id, "3", "99.99", "9.5", "271.47"), (support.id, "1", "1000.00", "10", "900.00")]
        assert contract.total == accepted.total == "1171.47"
        listed = (await api.ListQuotes(pb.ListQuotesRequest(opportunity_id=opp.id), metadata=rep)).quotes
        assert [(q.status, q.contract_id) for q in listed] == [("accepted", accepted.contract_id)]
        # accepting again starts no second contract
        await expect_error(
            api.AcceptQuote(pb.AcceptQuoteRequest(id=quote.id, contract=block()), metadata=rep),
            grpc.StatusCode.FAILED_PRECONDITION,
            "already accepted",
        )
        assert len(await contracts_of_customer()) == 2

        # quote.accepted carries the contract id
        async with running.app.ctx.sessions() as session:
            envelopes = (
                await session.scalars(
                    select(outbox.c.envelope).where(outbox.c.subject == "salesgrid.pipeline.quote.accepted")
                )
            ).all()
        assert len(envelopes) == 1
        envelope = parse_envelope(envelopes[0])
        assert PipelineQuoteState.FromString(envelope.payload).contract_id == accepted.contract_id
