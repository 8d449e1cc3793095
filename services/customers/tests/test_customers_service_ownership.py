"""Ownership arbitration from the facts the customers service consumes (follow-ups,
opportunities, contracts), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import grpc
from sqlalchemy import func, select

from salesgrid.customers.v1 import customers_pb2 as pb
from salesgrid.customers.v1 import customers_pb2_grpc as pb_grpc
from salesgrid.events.v1.activities_events_pb2 import ActivitiesFollowUpLogged
from salesgrid.events.v1.pipeline_events_pb2 import PipelineOpportunityState
from salesgrid_common.clock import FakeClock
from salesgrid_common.events.envelope import EventMeta, build_envelope
from salesgrid_common.ids import new_id
from salesgrid_dev.testing import RunningService, field_violations, run_service
from salesgrid_customers import models
from salesgrid_customers.app import DEFINITION, MIGRATIONS
from salesgrid_customers.handlers import activities_subscription, pipeline_subscription

from customers_fixtures import START, deliver, event_subjects, follow_up, rpc_error, seed_directory, token


async def arbitrations(running: RunningService) -> int:
    async with running.app.ctx.sessions() as session:
        return await session.scalar(select(func.count()).select_from(models.Arbitration)) or 0


async def test_ownership_arbitration_from_consumed_facts(database_url: str, nats_url: str, test_keys) -> None:
    async with run_service(
        DEFINITION, MIGRATIONS, database_url, nats_url, test_keys, clock=FakeClock(START)
    ) as running:
        await seed_directory(running)
        api = pb_grpc.CustomersStub(running.channel)
        a, b, mgr = (token(test_keys, u) for u in ("rep-a", "rep-b", "mgr"))
        ali_a = (
            await api.CreateCustomer(pb.CreateCustomerRequest(legal_name="阿里巴巴网络技术有限公司"), metadata=a)
        ).customer
        ali_b = await api.CreateCustomer(
            pb.CreateCustomerRequest(legal_name="阿里巴巴网络技术服务有限公司"), metadata=b
        )
        assert [w.customer_id for w in ali_b.warnings] == [ali_a.id]
        ali_b = ali_b.customer
        hw_a = (await api.CreateCustomer(pb.CreateCustomerRequest(legal_name="华为技术有限公司"), metadata=a)).customer
        hw_b = (
            await api.CreateCustomer(pb.CreateCustomerRequest(legal_name="华为技术服务有限公司"), metadata=b)
        ).customer

        activities, pipeline = activities_subscription(), pipeline_subscription()
        logged = "salesgrid.activities.follow_up.logged"
        # rep-b followed Alibaba up first; rep-a's later follow-ups and a lead's follow-up do not change that.
        first = build_envelope(
            logged,
            "activities",
            follow_up(ali_b.id, "rep-b", START + timedelta(days=1)),
            EventMeta(aggregate_id=new_id()),
            START,
        )
        for _ in range(2):  # a redelivery is absorbed
            await deliver(running, activities, logged, ActivitiesFollowUpLogged(), START, first)
        await deliver(running, activities, logged, follow_up(ali_a.id, "rep-a", START + timedelta(days=2)), START)
        await deliver(running, activities, logged, follow_up("", "rep-a", START), START)
        # Nobody followed Huawei up; rep-b opened the first opportunity.
        for customer_id, owner, days in ((hw_a.id, "rep-a", 5), (hw_b.id, "rep-b", 3)):
            await deliver(
                running,
                pipeline,
                "salesgrid.pipeline.opportunity.created",
                PipelineOpportunityState(
                    opportunity_id=new_id(), customer_id=customer_id, owner_id=owner, status="open"
                ),
                START + timedelta(days=days),
            )

        # Bad input names the field and records nothing.
        bad = await rpc_error(
            api.Arbitrate(pb.ArbitrateRequest(customer_ids=[ali_a.id], registered_name="阿里巴巴"), metadata=mgr)
        )
        assert bad.code() == grpc.StatusCode.INVALID_ARGUMENT and field_violations(bad) == ["customer_ids"]
        bad = await rpc_error(
            api.Arbitrate(pb.ArbitrateRequest(customer_ids=[ali_a.id, ali_b.id], registered_name=" "), metadata=mgr)
        )
        assert bad.code() == grpc.StatusCode.INVALID_ARGUMENT and field_violations(bad) == ["registered_name"]
        unrelated = await rpc_error(
            api.Arbitrate(
                pb.ArbitrateRequest(customer_ids=[ali_a.id, hw_b.id], registered_name="华为技术有限公司"), metadata=mgr
            )
        )
        assert unrelated.code() == grpc.StatusCode.FAILED_PRECONDITION and "customer_ids" in field_violations(unrelated)
        same_rep = await rpc_error(
            api.Arbitrate(pb.ArbitrateRequest(customer_ids=[ali_a.id, hw_a.id], registered_name="华为"), metadata=mgr)
        )
        assert same_rep.code() == grpc.StatusCode.FAILED_PRECONDITION
        # A rep cannot arbitrate another rep's record.
        denied = await rpc_error(
            api.Arbitrate(
                pb.ArbitrateRequest(customer_ids=[ali_a.id, ali_b.id], registered_name="阿里巴巴"), metadata=a
            )
        )
        assert denied.code() == grpc.StatusCode.PERMISSION_DENIED
        assert await arbitrations(running) == 0
        assert "salesgrid.customers.customer.arbitration_decided" not in await event_subjects(running)

        # Rule 1: the record carrying the exact registered name wins, whatever the follow-ups say.
        by_name = await api.Arbitrate(
            pb.ArbitrateRequest(customer_ids=[ali_a.id, ali_b.id], registered_name="阿里巴巴网络技术有限公司"),
            metadata=mgr,
        )
        assert (by_name.winner_rep_id, by_name.winner_customer_id, by_name.rule) == (
            "rep-a",
            ali_a.id,
            "registered_name",
        )
        # Rule 2: neither recorded the registered name: the first follow-up wins.
        by_follow_up = await api.Arbitrate(
            pb.ArbitrateRequest(customer_ids=[ali_a.id, ali_b.id], registered_name="阿里巴巴(中国)网络技术有限公司"),
            metadata=mgr,
        )
        assert (by_follow_up.winner_rep_id, by_follow_up.rule) == ("rep-b", "first_follow_up")
        assert dict(by_follow_up.steps[1].compared) == {
            "rep-a": (START + timedelta(days=2)).isoformat(),
            "rep-b": (START + timedelta(days=1)).isoformat(),
        }
        # Rule 3: no follow-ups on either side: the first opportunity wins.
        by_opportunity = await api.Arbitrate(
            pb.ArbitrateRequest(customer_ids=[hw_a.id, hw_b.id], registered_name="华为投资控股有限公司"), metadata=mgr
        )
        assert (by_opportunity.winner_rep_id, by_opportunity.rule) == ("rep-b", "first_opportunity")
        assert "first opportunity" in by_opportunity.reason

        assert await arbitrations(running) == 3
        subjects = await event_subjects(running)
        assert subjects.count("salesgrid.customers.customer.arbitration_decided") == 3
        async with running.app.ctx.sessions() as session:
            record = await session.get(models.Arbitration, by_follow_up.id)
            assert record is not None and (record.rep_ids, record.decided_by) == (["rep-a", "rep-b"], "mgr")
            facts = await session.get(models.RepActivity, (ali_b.id, "rep-b"))
            assert facts is not None and facts.follow_up_count == 1
