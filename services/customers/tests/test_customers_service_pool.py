"""The public pool through the customers service's gRPC API on SQLite and PostgreSQL: release,
cool-down and concurrent claims, the scheduler that warns and then returns customers once, and
the pool policies, contacts and owner events."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import grpc
from sqlalchemy import func, select

from salesgrid.customers.v1 import customers_pb2 as pb
from salesgrid.customers.v1 import customers_pb2_grpc as pb_grpc
from salesgrid.events.v1.customers_events_pb2 import CustomerReleasedToPool
from salesgrid_common.actors import system_actor
from salesgrid_common.clock import FakeClock
from salesgrid_common.events.envelope import parse_envelope, unpack
from salesgrid_common.events.tables import outbox
from salesgrid_dev.directory_seed import add_unit, replica
from salesgrid_dev.testing import field_violations, run_service
from salesgrid_customers import models
from salesgrid_customers.app import DEFINITION, MIGRATIONS, usecases_for
from salesgrid_customers.handlers import activities_subscription

from customers_fixtures import (
    PEOPLE,
    START,
    deliver,
    event_subjects,
    follow_up,
    rpc_error,
    running_customers,
    seed_directory,
    token,
)


async def test_pool_release_cooldown_and_concurrent_claims(database_url: str, nats_url: str, test_keys) -> None:
    async with run_service(DEFINITION, MIGRATIONS, database_url, nats_url, test_keys) as running:
        await seed_directory(running)
        api = pb_grpc.CustomersStub(running.channel)
        a, b, c, mgr = (token(test_keys, u) for u in ("rep-a", "rep-b", "rep-c", "mgr"))
        acme = (
            await api.CreateCustomer(pb.CreateCustomerRequest(legal_name="Acme Trading Co., Ltd."), metadata=a)
        ).customer

        denied = await rpc_error(api.ReleaseCustomer(pb.ReleaseCustomerRequest(id=acme.id), metadata=b))
        assert denied.code() == grpc.StatusCode.PERMISSION_DENIED
        released = await api.ReleaseCustomer(pb.ReleaseCustomerRequest(id=acme.id, reason="no budget"), metadata=a)
        assert (released.owner_id, released.version) == ("", 2)
        pooled = await api.ListPool(pb.ListPoolRequest(), metadata=c)
        assert [x.id for x in pooled.customers] == [acme.id]
        again = await rpc_error(api.ReleaseCustomer(pb.ReleaseCustomerRequest(id=acme.id), metadata=mgr))
        assert again.code() == grpc.StatusCode.FAILED_PRECONDITION

        # The previous owner waits for the cool-down.
        cooling = await rpc_error(api.ClaimCustomer(pb.ClaimCustomerRequest(id=acme.id), metadata=a))
        assert cooling.code() == grpc.StatusCode.FAILED_PRECONDITION and "reclaim_cooldown_days" in field_violations(
            cooling
        )

        # Two reps claim at once: exactly one wins.
        results = await asyncio.gather(
            api.ClaimCustomer(pb.ClaimCustomerRequest(id=acme.id), metadata=b),
            api.ClaimCustomer(pb.ClaimCustomerRequest(id=acme.id), metadata=c),
            return_exceptions=True,
        )
        winners = [r for r in results if isinstance(r, pb.Customer)]
        losers = [r for r in results if isinstance(r, grpc.aio.AioRpcError)]
        assert len(winners) == 1 and len(losers) == 1
        assert losers[0].code() == grpc.StatusCode.FAILED_PRECONDITION
        owner = winners[0].owner_id
        assert owner in ("rep-b", "rep-c") and winners[0].org_path == PEOPLE[owner][0] and winners[0].version == 3
        assert not (await api.ListPool(pb.ListPoolRequest(), metadata=c)).customers

        subjects = await event_subjects(running)
        assert subjects.count("salesgrid.customers.customer.released_to_pool") == 1
        assert subjects.count("salesgrid.customers.customer.claimed") == 1


async def test_pool_scheduler_warns_then_returns_once(database_url: str, nats_url: str, test_keys) -> None:
    clock = FakeClock(START)
    async with run_service(DEFINITION, MIGRATIONS, database_url, nats_url, test_keys, clock=clock) as running:
        await seed_directory(running)
        api = pb_grpc.CustomersStub(running.channel)
        a = token(test_keys, "rep-a")
        uc = usecases_for(running.app.ctx)
        idle = (await api.CreateCustomer(pb.CreateCustomerRequest(legal_name="Idle Widgets Ltd"), metadata=a)).customer
        busy = (await api.CreateCustomer(pb.CreateCustomerRequest(legal_name="Busy Gears Inc"), metadata=a)).customer
        await api.ShareCustomer(
            pb.ShareCustomerRequest(customer_id=idle.id, user_id="rep-b", role="co_owner"), metadata=a
        )
        sub = activities_subscription()
        logged = "salesgrid.activities.follow_up.logged"
        # Default policy: back to the pool 30 days without the owner's follow-up, warned 3 days ahead.
        # Someone else's follow-up does not keep the owner's customer.
        await deliver(running, sub, logged, follow_up(idle.id, "rep-b", START + timedelta(days=20)), START)
        await deliver(running, sub, logged, follow_up(idle.id, "rep-a", START + timedelta(days=5)), START)

        clock.advance(timedelta(days=31))
        await deliver(running, sub, logged, follow_up(busy.id, "rep-a", clock()), clock())
        clock.advance(timedelta(days=1))  # day 32: idle is due at day 35, busy at day 61
        assert await uc.pool_scan() == (0, 1)
        assert await uc.pool_scan() == (0, 0)  # the same warning is sent once
        subjects = await event_subjects(running)
        assert subjects.count("salesgrid.customers.customer.pool_return_warning") == 1

        clock.advance(timedelta(days=3))  # day 35: due; two replicas scan at once
        results = await asyncio.gather(uc.pool_scan(), uc.pool_scan(), uc.pool_scan())
        assert sum(r[0] for r in results) == 1
        returned = await api.GetCustomer(pb.GetCustomerRequest(id=busy.id), metadata=a)
        assert returned.owner_id == "rep-a"
        pooled = await api.ListPool(pb.ListPoolRequest(), metadata=a)
        assert [x.id for x in pooled.customers] == [idle.id]
        assert await uc.pool_scan() == (0, 0)
        async with running.app.ctx.sessions() as session:
            row = await session.get(models.Customer, idle.id)
            assert row is not None and (row.previous_owner_id, row.released_at) == ("rep-a", clock())
            assert await session.scalar(select(func.count()).select_from(models.Share)) == 0
            envelopes = (
                await session.scalars(
                    select(outbox.c.envelope).where(outbox.c.subject == "salesgrid.customers.customer.released_to_pool")
                )
            ).all()
        assert len(envelopes) == 1
        released = unpack(parse_envelope(envelopes[0]), CustomerReleasedToPool)
        assert (released.customer_id, released.previous_owner_id, released.reason) == (
            idle.id,
            "rep-a",
            "auto:no_follow_up",
        )
        async with running.app.ctx.sessions() as session:  # the scheduler acts as the service's automation
            scheduled = (
                await session.scalars(
                    select(outbox.c.envelope).where(
                        outbox.c.subject.in_(
                            (
                                "salesgrid.customers.customer.released_to_pool",
                                "salesgrid.customers.customer.pool_return_warning",
                                "salesgrid.customers.customer.owner_changed",
                            )
                        )
                    )
                )
            ).all()
        assert {parse_envelope(e).actor_id for e in scheduled} == {system_actor("customers")}


async def test_pool_policies_contacts_and_owner_events(database_url: str, nats_url: str, test_keys) -> None:
    async with running_customers(database_url, nats_url, test_keys) as running:
        await seed_directory(running)
        api = pb_grpc.CustomersStub(running.channel)
        a, b, mgr = (token(test_keys, u) for u in ("rep-a", "rep-b", "mgr"))
        async with replica(running) as session:
            for unit, path in (("b1", "/c/r1/b1/"), ("t1", "/c/r1/b1/t1/"), ("b9", "/c/r2/b9/")):
                await add_unit(session, unit, path)

        # Only customers:update at subtree or all, inside the subtree; validated by the domain policy.
        denied = await rpc_error(api.PutPoolPolicy(pb.PoolPolicy(unit_id="b1", warning_days_before=1), metadata=a))
        assert denied.code() == grpc.StatusCode.PERMISSION_DENIED
        denied = await rpc_error(api.PutPoolPolicy(pb.PoolPolicy(unit_id="b9", warning_days_before=1), metadata=mgr))
        assert denied.code() == grpc.StatusCode.PERMISSION_DENIED
        bad = await rpc_error(
            api.PutPoolPolicy(pb.PoolPolicy(unit_id="b1", max_claims_per_day=0, warning_days_before=1), metadata=mgr)
        )
        assert bad.code() == grpc.StatusCode.INVALID_ARGUMENT and "max_claims_per_day" in field_violations(bad)
        bad = await rpc_error(api.PutPoolPolicy(pb.PoolPolicy(unit_id="nowhere", warning_days_before=1), metadata=mgr))
        assert bad.code() == grpc.StatusCode.NOT_FOUND
        async with running.app.ctx.sessions() as session:
            assert await session.scalar(select(func.count()).select_from(models.PoolPolicyRow)) == 0

        # Claims follow the nearest unit's policy: b1 allows one claim a day.
        saved = await api.PutPoolPolicy(
            pb.PoolPolicy(
                unit_id="b1", max_claims_per_day=1, warning_days_before=1, return_after_days_without_follow_up=5
            ),
            metadata=mgr,
        )
        assert saved.max_claims_per_day == 1 and not saved.HasField("max_customers_per_rep")
        inherited = await api.GetPoolPolicy(pb.GetPoolPolicyRequest(unit_id="t1"), metadata=mgr)
        assert (inherited.inherited, inherited.source_unit_id, inherited.max_claims_per_day) == (True, "b1", 1)

        one = (await api.CreateCustomer(pb.CreateCustomerRequest(legal_name="One Ltd"), metadata=b)).customer
        two = (await api.CreateCustomer(pb.CreateCustomerRequest(legal_name="Two Ltd"), metadata=b)).customer
        await api.ReleaseCustomer(pb.ReleaseCustomerRequest(id=one.id), metadata=b)
        await api.ReleaseCustomer(pb.ReleaseCustomerRequest(id=two.id), metadata=b)
        await api.ClaimCustomer(pb.ClaimCustomerRequest(id=one.id), metadata=a)
        over = await rpc_error(api.ClaimCustomer(pb.ClaimCustomerRequest(id=two.id), metadata=a))
        assert over.code() == grpc.StatusCode.FAILED_PRECONDITION
        # t1's own policy wins over b1's for rep-a.
        await api.PutPoolPolicy(pb.PoolPolicy(unit_id="t1", max_claims_per_day=5, warning_days_before=1), metadata=mgr)
        await api.ClaimCustomer(pb.ClaimCustomerRequest(id=two.id), metadata=a)

        # Reassignment through update: owner_changed; an owner outside the scope is refused.
        mine = (await api.CreateCustomer(pb.CreateCustomerRequest(legal_name="Mine Ltd"), metadata=mgr)).customer
        moved = await api.UpdateCustomer(
            pb.UpdateCustomerRequest(id=mine.id, expected_version=1, owner_id="rep-b"), metadata=mgr
        )
        assert (moved.owner_id, moved.org_path) == ("rep-b", "/c/r1/b1/t2/")
        refused = await rpc_error(
            api.UpdateCustomer(pb.UpdateCustomerRequest(id=mine.id, expected_version=2, owner_id="rep-c"), metadata=mgr)
        )
        assert refused.code() == grpc.StatusCode.PERMISSION_DENIED

        # Contacts: create and update, a new primary demotes the old one; bad input names the field.
        c1 = await api.AddContact(
            pb.AddContactRequest(customer_id=two.id, full_name="Li Lei", primary=True), metadata=a
        )
        c2 = await api.AddContact(pb.AddContactRequest(customer_id=two.id, full_name="Han Meimei"), metadata=a)
        updated = await api.UpdateContact(
            pb.UpdateContactRequest(
                customer_id=two.id, contact_id=c2.id, title="CFO", primary=True, set_phones=True, phones=["13800138000"]
            ),
            metadata=a,
        )
        assert (updated.title, updated.primary, updated.full_name) == ("CFO", True, "Han Meimei")
        contacts = {
            c.id: c.primary
            for c in (await api.ListContacts(pb.ListContactsRequest(customer_id=two.id), metadata=a)).contacts
        }
        assert contacts == {c1.id: False, c2.id: True}
        bad = await rpc_error(
            api.UpdateContact(
                pb.UpdateContactRequest(customer_id=two.id, contact_id=c2.id, email="not-an-email"), metadata=a
            )
        )
        assert bad.code() == grpc.StatusCode.INVALID_ARGUMENT and "contact.email" in field_violations(bad)
        missing = await rpc_error(
            api.UpdateContact(pb.UpdateContactRequest(customer_id=two.id, contact_id="nope", title="x"), metadata=a)
        )
        assert missing.code() == grpc.StatusCode.NOT_FOUND

        subjects = await event_subjects(running)
        assert subjects.count("salesgrid.customers.customer.owner_changed") == 5  # 2 releases, 2 claims, 1 update
        assert subjects.count("salesgrid.customers.customer.contact_created") == 2
        assert subjects.count("salesgrid.customers.customer.contact_updated") == 1
