"""The pipeline service under test and the builders its tests share (imported by name:
conftest.py puts this folder on sys.path; the fixtures are imported with them): the real
customers and contracts services beside it, the directory team the assignment rules read,
reps' and managers' permissions, money, facts and a business line's stage model."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import grpc
import pytest
from sqlalchemy import select

from salesgrid.contracts.v1 import contracts_pb2 as kpb
from salesgrid.customers.v1 import customers_pb2 as cpb
from salesgrid.customers.v1 import customers_pb2_grpc as cpb_grpc
from salesgrid.pipeline.v1 import pipeline_pb2 as pb
from salesgrid_common.clock import FakeClock
from salesgrid_common.events.envelope import parse_envelope, unpack
from salesgrid_common.events.tables import outbox
from salesgrid_contracts.app import DEFINITION as CONTRACTS, MIGRATIONS as CONTRACTS_MIGRATIONS
from salesgrid_customers.app import DEFINITION as CUSTOMERS, MIGRATIONS as CUSTOMERS_MIGRATIONS
from salesgrid_dev.directory_seed import add_unit, add_user, replica
from salesgrid_dev.testing import field_violations, publish_customer_merge, run_service
from salesgrid_pipeline.app import DEFINITION, MIGRATIONS
from salesgrid_pipeline.settings import PipelineSettings

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
REP_PERMS = {
    "opportunities:read": "own",
    "opportunities:create": "own",
    "opportunities:update": "own",
    "leads:read": "own",
    "leads:create": "own",
    "leads:update": "own",
    "stage_models:read": "all",
    "customers:read": "own",
    "customers:create": "own",
    "products:read": "all",
    "quotes:read": "own",
    "quotes:create": "own",
    "quotes:update": "own",
}
MANAGER_PERMS = {**{k: "subtree" for k in REP_PERMS}, "leads:assign": "subtree"}


def sibling_database(database_url: str, tmp_path, request: pytest.FixtureRequest, name: str) -> str:
    """A database of the same kind as the pipeline's for another service."""
    if database_url.startswith("sqlite"):
        return f"sqlite+aiosqlite:///{tmp_path / f'{name}.db'}"
    return request.getfixturevalue("postgres").create_database(name[0] + "_" + database_url.rsplit("/", 1)[-1][-20:])


@pytest.fixture
async def customers_service(database_url: str, nats_url: str, test_keys, tmp_path, request: pytest.FixtureRequest):
    """The real customers service on its own database."""
    url = sibling_database(database_url, tmp_path, request, "customers")
    async with run_service(CUSTOMERS, CUSTOMERS_MIGRATIONS, url, nats_url, test_keys) as running:
        yield running


@pytest.fixture
async def contracts_service(database_url: str, nats_url: str, test_keys, tmp_path, request: pytest.FixtureRequest):
    """The real contracts service (its product catalogue prices quote lines) on its own database."""
    url = sibling_database(database_url, tmp_path, request, "kontracts")
    async with run_service(CONTRACTS, CONTRACTS_MIGRATIONS, url, nats_url, test_keys) as running:
        yield running


async def new_customer(customers_service, metadata, legal_name: str) -> str:
    stub = cpb_grpc.CustomersStub(customers_service.channel)
    reply = await stub.CreateCustomer(cpb.CreateCustomerRequest(legal_name=legal_name), metadata=metadata)
    return reply.customer.id


def money(amount: str, currency: str = "CNY") -> pb.PipelineMoney:
    return pb.PipelineMoney(amount=amount, currency=currency)


async def new_opportunity(  # type: ignore[no-untyped-def]
    api, customers_service, metadata, legal_name: str, name: str, amount: str, close_date: str
) -> pb.Opportunity:
    """An opportunity in CNY on a new customer of that legal name, both the caller's."""
    customer_id = await new_customer(customers_service, metadata, legal_name)
    request = pb.CreateOpportunityRequest(
        customer_id=customer_id, name=name, amount=money(amount), expected_close_date=close_date
    )
    return await api.CreateOpportunity(request, metadata=metadata)


async def add_product(catalogue, metadata, sku: str, name: str, **prices: str) -> kpb.Product:  # type: ignore[no-untyped-def]
    """A product in the contracts catalogue with a price per currency (CNY="1000")."""
    request = kpb.CreateProductRequest(
        sku=sku, name=name, prices=[kpb.ProductPrice(currency=code, amount=amount) for code, amount in prices.items()]
    )
    return await catalogue.CreateProduct(request, metadata=metadata)


def approval_facts() -> list[pb.Fact]:
    visits = pb.Visits(visits=[pb.VisitRef(activity_id=f"a{i}", kind="visit") for i in range(3)])
    return [
        pb.Fact(code="budget", amount=money("500000")),
        pb.Fact(code="our_expected_amount", amount=money("300000")),
        pb.Fact(code="latest_expected_bid_date", date="2026-06-30"),
        pb.Fact(code="design_organisations", organisations=pb.Organisations(names=["设计院"])),
        pb.Fact(code="decision_organisations", organisations=pb.Organisations(names=["集团"])),
        pb.Fact(code="user_organisations", organisations=pb.Organisations(names=["工厂"])),
        pb.Fact(code="decision_chain_visits", visits=visits),
    ]


async def subjects(running) -> list[str]:
    async with running.app.ctx.sessions() as session:
        return list(
            (
                await session.scalars(
                    select(outbox.c.subject)
                    .where(
                        outbox.c.subject != "salesgrid.pipeline.stage_model.published"
                    )  # at start-up: tested on its own
                    .order_by(outbox.c.event_id)
                )
            ).all()
        )


async def events(running, subject: str, payload_type):  # type: ignore[no-untyped-def]
    """The payloads of the outbox's events of that subject, in the order written."""
    async with running.app.ctx.sessions() as session:
        rows = (
            await session.scalars(
                select(outbox.c.envelope).where(outbox.c.subject == subject).order_by(outbox.c.event_id)
            )
        ).all()
    return [unpack(parse_envelope(raw), payload_type) for raw in rows]


async def expect_error(call, code: grpc.StatusCode, field: str | None = None) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await call
    assert raised.value.code() == code, raised.value.details()
    if field:
        assert field in raised.value.details() or field in field_violations(raised.value), raised.value.details()
    return raised.value


def services_model(*, proposal: bool = True, **changes) -> pb.StageModel:
    """A business line's model: demo is skippable; entering proposal needs a PO number."""
    stages = [
        pb.Stage(code="qualify", name="Qualify", probability=10, sla_days=7),
        pb.Stage(code="demo", name="Demo", probability=30, sla_days=14, skippable=True),
    ]
    if proposal:
        stages.append(
            pb.Stage(
                code="proposal",
                name="Proposal",
                probability=70,
                sla_days=10,
                required_facts=[pb.FactSpec(code="po_number", name="PO number", type="text", min_count=1)],
            )
        )
    stages += [
        pb.Stage(code="won", name="Won", probability=100, outcome="won"),
        pb.Stage(code="lost", name="Lost", probability=0, outcome="lost"),
    ]
    model = pb.StageModel(code="services", name="Services", entry_stage="qualify", stages=stages)
    for name, value in changes.items():
        setattr(model, name, value)
    return model


def pipeline(database_url: str, nats_url: str, test_keys, *, clock: FakeClock | None = None, **options: Any):  # type: ignore[no-untyped-def]
    """The pipeline service under test on a fake clock (at START unless given); `options` are its
    settings (the other services' addresses, scheduler periods)."""
    clock = clock if clock is not None else FakeClock(START)
    return run_service(
        DEFINITION, MIGRATIONS, database_url, nats_url, test_keys, clock=clock, settings_cls=PipelineSettings, **options
    )


async def add_assignment_team(running) -> None:  # type: ignore[no-untyped-def]
    """The directory the lead-assignment rules read: reps b and a (in that order) in team t1 and c
    in t2 under mgr-1, rep x far away in /c/r9/t9/; unit t1."""
    async with replica(running) as session:
        await add_user(session, "rep-b", "/c/r1/t1/", manager_id="mgr-1", at=START)
        await add_user(session, "rep-a", "/c/r1/t1/", manager_id="mgr-1", at=START)
        await add_user(session, "rep-c", "/c/r1/t2/", manager_id="mgr-1", at=START)
        await add_user(session, "rep-x", "/c/r9/t9/", at=START)
        await add_unit(session, "t1", "/c/r1/t1/", at=START)


async def publish_merge(nats_url: str, survivor_id: str, merged_ids: list[str]) -> None:
    """A merge event as customers sends it, at START (a fresh event id: the handler itself must be idempotent)."""
    await publish_customer_merge(nats_url, survivor_id, merged_ids, START)
