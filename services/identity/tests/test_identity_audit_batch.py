"""Identity's audit consumers' batch form (one insert for a run of another service's events, as
the consumer hands over an import's customers) writes the entries the one-by-one handler writes,
one per event, automation named `system:<service>` (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from salesgrid.events.v1.customers_events_pb2 import CustomerRecordState
from salesgrid.events.v1.gateway_events_pb2 import SensitiveRead, SensitiveReads
from salesgrid_common.events.envelope import EventMeta, build_envelope, unpack
from salesgrid_common.protos import to_timestamp
from salesgrid_dev.testing import RunningService
from salesgrid_identity.app import audit_subscriptions
from salesgrid_identity.models import AuditEntry

from identity_fixtures import run_identity

AT = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
CREATED = "salesgrid.customers.customer.created"
READS, READ = "salesgrid.gateway.sensitive_reads.recorded", "salesgrid.gateway.sensitive_read.recorded"


@pytest.fixture
async def identity(database_url: str, nats_url: str, test_keys) -> AsyncIterator[RunningService]:  # type: ignore[no-untyped-def]
    async with run_identity(database_url, nats_url, test_keys) as running:
        yield running


def created(customer: str, actor: str) -> tuple:  # type: ignore[type-arg]
    meta = EventMeta(aggregate_id=customer, actor_id=actor, org_path="/c/t1/", actor_ip="10.0.0.7" if actor else "")
    envelope = build_envelope(CREATED, "customers", CustomerRecordState(customer_id=customer), meta, AT, 1)
    return envelope, envelope.payload


async def test_a_run_writes_the_entries_the_handler_would(identity: RunningService) -> None:
    sub = next(s for s in audit_subscriptions(identity.app.ctx) if s.producer == "customers")
    batch, single = sub.batch_route(CREATED), sub.route(CREATED)
    assert batch is not None and single is not None
    run = [created("c1", "importer"), created("c2", "importer"), created("c3", "")]
    alone = [created("c1", "importer"), created("c2", "importer"), created("c3", "")]
    sessions = identity.app.ctx.sessions
    async with sessions() as session, session.begin():
        await batch(session, run)
    async with sessions() as session, session.begin():
        for envelope, payload in alone:
            await single[1](session, envelope, payload)
    async with sessions() as session:
        entries = {row.event_id: row for row in (await session.scalars(select(AuditEntry))).all()}

    def shape(event_id: str) -> tuple:  # type: ignore[type-arg]
        e = entries[event_id]
        return (e.action, e.actor_id, e.actor_ip, e.target_type, e.target_id, e.source, e.outcome, e.occurred_at)

    assert [shape(envelope.event_id) for envelope, _ in run] == [shape(envelope.event_id) for envelope, _ in alone]
    assert [shape(envelope.event_id)[:2] for envelope, _ in run] == [
        ("customers.customer.created", "importer"),
        ("customers.customer.created", "importer"),
        ("customers.customer.created", "system:customers"),
    ]
    assert len({entries[envelope.event_id].id for envelope, _ in run}) == 3


async def test_a_gateway_batch_of_sensitive_reads_is_one_entry_per_read(identity: RunningService) -> None:
    """A gateway worker group-commits its records of sensitive reads: each record in the message
    is its own entry (its own actor, address, time and id), and the older one-record event still
    becomes an entry from its envelope."""
    sub = next(s for s in audit_subscriptions(identity.app.ctx) if s.producer == "gateway")
    batch_route, single_route = sub.route(READS), sub.route(READ)
    assert batch_route is not None and single_route is not None
    reads = SensitiveReads(
        reads=[
            SensitiveRead(
                action="customers.list",
                target_type="customers",
                detail="/v1/customers?limit=20",
                record_id=f"00000000-0000-4000-8000-00000000000{n}",
                actor_id=f"manager-{n}",
                actor_ip=f"10.0.0.{n}",
                org_path="/c/t1/",
                occurred_at=to_timestamp(AT.replace(second=n)),
            )
            for n in (1, 2)
        ]
    )
    batch = build_envelope(READS, "gateway", reads, EventMeta.acting(None, "gateway", aggregate_id="", org_path=""), AT)
    older = build_envelope(
        READ,
        "gateway",
        SensitiveRead(action="users.list", target_type="users", detail="/v1/users"),
        EventMeta(aggregate_id="", actor_id="admin-1", org_path="/c/", actor_ip="10.9.9.9"),
        AT,
    )
    async with identity.app.ctx.sessions() as session, session.begin():
        await batch_route[1](session, batch, unpack(batch, SensitiveReads))
        await single_route[1](session, older, unpack(older, SensitiveRead))
    async with identity.app.ctx.sessions() as session:
        entries = (await session.scalars(select(AuditEntry).order_by(AuditEntry.occurred_at))).all()
    assert [
        (e.event_id, e.action, e.actor_id, e.actor_ip, e.target_type, e.detail, e.source, e.occurred_at)
        for e in entries
    ] == [
        (older.event_id, "users.list", "admin-1", "10.9.9.9", "users", "/v1/users", "gateway", AT),
        *[
            (
                f"00000000-0000-4000-8000-00000000000{n}",
                "customers.list",
                f"manager-{n}",
                f"10.0.0.{n}",
                "customers",
                "/v1/customers?limit=20",
                "gateway",
                AT.replace(second=n),
            )
            for n in (1, 2)
        ],
    ]
