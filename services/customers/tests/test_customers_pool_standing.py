"""A rep reads the pool policy in force for him and where he stands under it (caps left, his own
cool-downs) through gRPC on SQLite and PostgreSQL: the numbers are those the claim then enforces,
and the answer is only ever about the caller. Through the gateway: gateway/tests/test_pool_standing_routes.py."""

from __future__ import annotations

from datetime import timedelta

import grpc
from salesgrid.customers.v1 import customers_pb2 as pb
from salesgrid.customers.v1 import customers_pb2_grpc as pb_grpc
from salesgrid.customers.v1 import pool_standing_pb2 as spb
from salesgrid.customers.v1 import pool_standing_pb2_grpc as spb_grpc
from salesgrid_common.protos import from_timestamp
from salesgrid_customers.app import DEFINITION, MIGRATIONS
from salesgrid_dev.directory_seed import add_unit, add_user, caller, replica
from salesgrid_dev.testing import (
    RunningService,
    bearer,
    principal,
    run_service,
)

from customers_fixtures import rpc_error as _error

REP = {
    "customers:read": "own",
    "customers:create": "own",
    "pool:read": "all",
    "pool:claim": "own",
    "pool:release": "own",
}
MANAGER = {**REP, "customers:read": "subtree", "customers:update": "subtree"}
PEOPLE = {"rep-a": ("/b1/t1/", "t1"), "rep-b": ("/b1/t2/", "t2"), "rep-c": ("/b9/t9/", "t9"), "mgr": ("/b1/", "b1")}
UNITS = {"b1": "/b1/", "t1": "/b1/t1/", "t2": "/b1/t2/", "b9": "/b9/", "t9": "/b9/t9/"}


def who(keys, user_id: str, permissions: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    path, unit = PEOPLE[user_id]
    perms = permissions if permissions is not None else (MANAGER if user_id == "mgr" else REP)
    return caller(keys, user_id, path, perms, unit_id=unit)


async def seed(running: RunningService) -> None:
    async with replica(running) as session:
        for unit_id, path in UNITS.items():
            await add_unit(session, unit_id, path)
        for user_id, (path, unit) in PEOPLE.items():
            await add_user(session, user_id, path, unit_id=unit, roles="")


async def test_my_pool_standing_matches_what_the_claim_enforces(database_url: str, nats_url: str, test_keys) -> None:  # type: ignore[no-untyped-def]
    async with run_service(DEFINITION, MIGRATIONS, database_url, nats_url, test_keys) as running:
        await seed(running)
        api, standing = pb_grpc.CustomersStub(running.channel), spb_grpc.PoolStandingStub(running.channel)
        a, b, c, mgr = (who(test_keys, u) for u in ("rep-a", "rep-b", "rep-c", "mgr"))
        await api.PutPoolPolicy(
            pb.PoolPolicy(
                unit_id="b1",
                max_customers_per_rep=3,
                max_claims_per_day=1,
                reclaim_cooldown_days=5,
                warning_days_before=1,
            ),
            metadata=mgr,
        )
        await api.CreateCustomer(pb.CreateCustomerRequest(legal_name="Kept Ltd"), metadata=a)  # he holds one
        mine = (await api.CreateCustomer(pb.CreateCustomerRequest(legal_name="Mine Ltd"), metadata=a)).customer
        theirs = (await api.CreateCustomer(pb.CreateCustomerRequest(legal_name="Theirs Ltd"), metadata=b)).customer
        released = await api.ReleaseCustomer(pb.ReleaseCustomerRequest(id=mine.id), metadata=a)
        await api.ReleaseCustomer(pb.ReleaseCustomerRequest(id=theirs.id), metadata=b)

        fresh = await standing.GetMyPoolStanding(spb.GetMyPoolStandingRequest(), metadata=a)
        assert (fresh.policy.unit_id, fresh.policy.inherited, fresh.policy.source_unit_id) == ("t1", True, "b1")
        assert (
            fresh.held_count,
            fresh.claims_today,
            fresh.customers_left,
            fresh.claims_left_today,
            fresh.can_claim,
            fresh.time_zone,
        ) == (1, 0, 2, 1, True, "Asia/Shanghai")
        assert [(x.customer_id, x.legal_name) for x in fresh.cool_downs] == [(mine.id, "Mine Ltd")]
        assert from_timestamp(fresh.cool_downs[0].claimable_from) == from_timestamp(released.updated_at) + timedelta(
            days=5
        )  # Shanghai has no DST
        # rep-b's release does not cool down for rep-a: he claims it, and his day's claim is used up.
        await api.ClaimCustomer(pb.ClaimCustomerRequest(id=theirs.id), metadata=a)
        used = await standing.GetMyPoolStanding(spb.GetMyPoolStandingRequest(), metadata=a)
        assert (used.held_count, used.claims_today, used.customers_left, used.claims_left_today, used.can_claim) == (
            2,
            1,
            1,
            0,
            False,
        )
        # The same standing seen by rep-b: his own release is his cool-down, not rep-a's.
        other = await standing.GetMyPoolStanding(spb.GetMyPoolStandingRequest(), metadata=b)
        assert (other.held_count, other.claims_today, [x.customer_id for x in other.cool_downs]) == (0, 0, [])
        # Another region, no policy of its own: the service default (caps on, unit named, not inherited from b1).
        default = await standing.GetMyPoolStanding(spb.GetMyPoolStandingRequest(), metadata=c)
        assert (default.policy.source_unit_id, default.policy.inherited, default.policy.unit_id) == ("", True, "t9")
        assert default.HasField("customers_left") and default.policy.reclaim_cooldown_days == 30

        # Fail closed: without pool:read, and without an org unit.
        denied = await _error(
            standing.GetMyPoolStanding(
                spb.GetMyPoolStandingRequest(), metadata=who(test_keys, "rep-a", {"customers:read": "own"})
            )
        )
        assert denied.code() == grpc.StatusCode.PERMISSION_DENIED
        homeless = bearer(test_keys.token(principal(user_id="nobody", org_path="", unit_id="", permissions=REP)))
        assert (
            await _error(standing.GetMyPoolStanding(spb.GetMyPoolStandingRequest(), metadata=homeless))
        ).code() == grpc.StatusCode.FAILED_PRECONDITION
