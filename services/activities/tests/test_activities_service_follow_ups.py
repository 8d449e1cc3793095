"""Follow-ups and check-ins through the activities service's gRPC API, on SQLite and PostgreSQL:
logging them with scope and bad input, check-in distances from the coordinates customers
publishes, and merged customers' follow-ups and check-ins moving to the survivor."""

from __future__ import annotations

from datetime import timedelta

import grpc

from salesgrid.activities.v1 import activities_pb2 as pb
from salesgrid_activities.app import DEFINITION, MIGRATIONS
from salesgrid_activities.models import CustomerLocation, VisitRow
from salesgrid_common.clock import FakeClock
from salesgrid_common.protos import to_timestamp as ts
from salesgrid_dev.testing import consumer_applied, eventually, field_violations, publish_customer_merge, run_service

from activities_fixtures import START, TEAM_PATH, World, rpc_error


async def test_follow_ups_and_check_ins(database_url: str, nats_url: str, test_keys) -> None:
    clock = FakeClock(START)
    async with run_service(DEFINITION, MIGRATIONS, database_url, nats_url, test_keys, clock=clock) as running:
        w = World(running, test_keys)
        logged = await w.stub.LogFollowUp(
            pb.LogFollowUpRequest(
                kind="call",
                occurred_at=ts(START - timedelta(hours=1)),
                notes="discussed renewal",
                customer_id="cust-1",
                next_follow_up_on="2026-03-12",
            ),
            metadata=w.meta["rep"],
        )
        assert (logged.owner_id, logged.org_path, logged.next_follow_up_on) == ("rep-a", TEAM_PATH, "2026-03-12")

        bad = await rpc_error(
            w.stub.LogFollowUp(
                pb.LogFollowUpRequest(kind="fax", occurred_at=ts(START), notes="x", customer_id="cust-1"),
                metadata=w.meta["rep"],
            )
        )
        assert bad.code() == grpc.StatusCode.INVALID_ARGUMENT and field_violations(bad) == ["kind"]

        # Scope: the rep and his manager see the follow-up, a rep of another branch does not.
        for who, expected in (("rep", 1), ("manager", 1), ("other", 0)):
            listed = await w.stub.ListFollowUps(pb.ListFollowUpsRequest(customer_id="cust-1"), metadata=w.meta[who])
            assert len(listed.follow_ups) == expected and not listed.HasField("total"), who  # counted when asked
            counted = await w.stub.ListFollowUps(
                pb.ListFollowUpsRequest(customer_id="cust-1", include_total=True), metadata=w.meta[who]
            )
            assert (len(counted.follow_ups), counted.total) == (expected, expected), who  # within his scope
        other_customer = await w.stub.ListFollowUps(
            pb.ListFollowUpsRequest(customer_id="cust-2", include_total=True), metadata=w.meta["rep"]
        )
        assert (list(other_customer.follow_ups), other_customer.total) == ([], 0)  # the same filters

        reading = pb.LocationReading(latitude=91, longitude=121.47, accuracy_m=10, device_time=ts(START))
        bad = await rpc_error(
            w.stub.CheckIn(pb.CheckInRequest(customer_id="cust-1", reading=reading), metadata=w.meta["rep"])
        )
        assert bad.code() == grpc.StatusCode.INVALID_ARGUMENT and field_violations(bad) == ["latitude"]
        future = pb.LocationReading(
            latitude=31.23, longitude=121.47, accuracy_m=10, device_time=ts(START + timedelta(hours=1))
        )
        bad = await rpc_error(
            w.stub.CheckIn(pb.CheckInRequest(customer_id="cust-1", reading=future), metadata=w.meta["rep"])
        )
        assert field_violations(bad) == ["device_time"]
        assert await w.count(VisitRow) == 0

        # No reference coordinates yet (customers events will feed them): flagged no_reference.
        reading = pb.LocationReading(latitude=31.2304, longitude=121.4737, accuracy_m=15, device_time=ts(START))
        unknown = await w.stub.CheckIn(pb.CheckInRequest(customer_id="cust-1", reading=reading), metadata=w.meta["rep"])
        assert unknown.flagged and list(unknown.check_in.flags) == ["no_reference"]
        assert not unknown.check_in.has_distance

        async with w.sessions() as session, session.begin():
            session.add(CustomerLocation(customer_id="cust-2", latitude=31.2310, longitude=121.4740, updated_at=START))
        near = await w.stub.CheckIn(pb.CheckInRequest(customer_id="cust-2", reading=reading), metadata=w.meta["rep"])
        assert not near.flagged and near.check_in.has_distance and 50 < near.check_in.distance_m < 100

        clock.advance(timedelta(minutes=45))
        out = pb.LocationReading(
            latitude=31.2500, longitude=121.4740, accuracy_m=10, device_time=ts(START + timedelta(minutes=45))
        )
        # Someone else's visit is invisible; the rep's own closes with its duration and a far check-out flagged.
        denied = await rpc_error(
            w.stub.CheckOut(pb.CheckOutRequest(visit_id=near.id, reading=out), metadata=w.meta["other"])
        )
        assert denied.code() == grpc.StatusCode.NOT_FOUND
        closed = await w.stub.CheckOut(pb.CheckOutRequest(visit_id=near.id, reading=out), metadata=w.meta["rep"])
        assert closed.duration_seconds == 45 * 60 and closed.HasField("check_out")
        assert closed.flagged and list(closed.check_out.flags) == ["too_far"] and closed.check_out.distance_m > 2000
        again = await rpc_error(
            w.stub.CheckOut(pb.CheckOutRequest(visit_id=near.id, reading=out), metadata=w.meta["rep"])
        )
        assert again.code() == grpc.StatusCode.FAILED_PRECONDITION

        flagged = await w.stub.ListVisits(pb.ListVisitsRequest(flagged_only=True), metadata=w.meta["manager"])
        assert {v.id for v in flagged.visits} == {unknown.id, near.id}
        assert not (await w.stub.ListVisits(pb.ListVisitsRequest(), metadata=w.meta["other"])).visits

        assert await w.events() == sorted(
            [
                "salesgrid.activities.follow_up.logged",
                "salesgrid.activities.check_in.recorded",
                "salesgrid.activities.check_in.flagged",
                "salesgrid.activities.check_in.recorded",
                "salesgrid.activities.check_out.recorded",
            ]
        )


async def test_customer_coordinates_arrive_from_customers_events(database_url: str, nats_url: str, test_keys) -> None:  # type: ignore[no-untyped-def]
    """Check-in distances use the coordinates customers publishes (created/updated), through the
    real event path; a customer whose address loses its coordinates falls back to no_reference."""
    from salesgrid.events.v1.customers_events_pb2 import CustomerRecordState
    from salesgrid_common.events.bus import connect, ensure_stream
    from salesgrid_common.events.envelope import EventMeta, build_envelope
    from salesgrid_dev.testing import eventually

    async def publish(verb: str, state: CustomerRecordState) -> None:
        nc = await connect(nats_url, "test-customers")
        js = nc.jetstream()
        await ensure_stream(js, "customers", 1)
        envelope = build_envelope(
            f"salesgrid.customers.customer.{verb}", "customers", state, EventMeta(aggregate_id=state.customer_id), START
        )
        await js.publish(envelope.type, envelope.SerializeToString(), headers={"Nats-Msg-Id": envelope.event_id})
        await nc.drain()

    async with run_service(
        DEFINITION, MIGRATIONS, database_url, nats_url, test_keys, clock=FakeClock(START)
    ) as running:
        w = World(running, test_keys)
        await publish(
            "created",
            CustomerRecordState(
                customer_id="cust-geo",
                legal_name="外滩中心",
                owner_id="rep-a",
                has_location=True,
                latitude=31.2400,
                longitude=121.4900,
            ),
        )

        async def known() -> bool:
            return await w.count(CustomerLocation) == 1

        await eventually(known)
        at_door = pb.LocationReading(latitude=31.2404, longitude=121.4900, accuracy_m=10, device_time=ts(START))
        near = await w.stub.CheckIn(pb.CheckInRequest(customer_id="cust-geo", reading=at_door), metadata=w.meta["rep"])
        assert not near.flagged and 40 < near.check_in.distance_m < 50
        far = pb.LocationReading(latitude=31.2580, longitude=121.4900, accuracy_m=10, device_time=ts(START))
        away = await w.stub.CheckIn(pb.CheckInRequest(customer_id="cust-geo", reading=far), metadata=w.meta["rep2"])
        assert away.flagged and list(away.check_in.flags) == ["too_far"] and 1900 < away.check_in.distance_m < 2100

        await publish(
            "updated",
            CustomerRecordState(
                customer_id="cust-geo", legal_name="外滩中心", owner_id="rep-a", version=2, has_location=False
            ),
        )

        async def forgotten() -> bool:
            return await w.count(CustomerLocation) == 0

        await eventually(forgotten)


async def test_merged_customers_follow_ups_and_check_ins_follow_the_survivor(
    database_url: str, nats_url: str, test_keys
) -> None:
    """customers' `merged` event re-attaches the duplicate's follow-ups and check-ins to the survivor;
    a follow-up, check-in or list naming the merged id later is served for the survivor."""
    clock = FakeClock(START)
    async with run_service(DEFINITION, MIGRATIONS, database_url, nats_url, test_keys, clock=clock) as running:
        w = World(running, test_keys)
        rep = w.meta["rep"]
        reading = pb.LocationReading(latitude=31.2304, longitude=121.4737, accuracy_m=15, device_time=ts(START))

        async def follow_up(customer_id: str) -> pb.FollowUp:
            return await w.stub.LogFollowUp(
                pb.LogFollowUpRequest(
                    kind="visit", occurred_at=ts(START - timedelta(hours=1)), notes="n", customer_id=customer_id
                ),
                metadata=rep,
            )

        kept, moved = await follow_up("cust-s"), await follow_up("cust-d")
        visit = await w.stub.CheckIn(pb.CheckInRequest(customer_id="cust-d", reading=reading), metadata=rep)

        async def follow_ups_of(customer_id: str) -> set[str]:
            listed = await w.stub.ListFollowUps(pb.ListFollowUpsRequest(customer_id=customer_id), metadata=rep)
            return {f.id for f in listed.follow_ups}

        async def visits_of(customer_id: str) -> set[str]:
            listed = await w.stub.ListVisits(pb.ListVisitsRequest(customer_id=customer_id), metadata=rep)
            return {v.id for v in listed.visits}

        await publish_customer_merge(nats_url, "cust-s", ["cust-d"], START)

        async def merged() -> bool:
            return await follow_ups_of("cust-s") == {kept.id, moved.id}

        await eventually(merged)
        assert await visits_of("cust-s") == {visit.id}
        assert await follow_ups_of("cust-d") == {kept.id, moved.id}  # the merged id lists the survivor's
        late = await follow_up("cust-d")
        assert late.customer_id == "cust-s"
        await w.stub.CheckOut(pb.CheckOutRequest(visit_id=visit.id, reading=reading), metadata=rep)
        again = await w.stub.CheckIn(pb.CheckInRequest(customer_id="cust-d", reading=reading), metadata=rep)
        assert again.customer_id == "cust-s"
        # the same merge again changes nothing
        await publish_customer_merge(nats_url, "cust-s", ["cust-d"], START)

        async def applied_twice() -> bool:
            return await consumer_applied(running, "activities-customer-merges") == 2

        await eventually(applied_twice)
        assert await follow_ups_of("cust-s") == {kept.id, moved.id, late.id}
        assert await visits_of("cust-s") == {visit.id, again.id}
