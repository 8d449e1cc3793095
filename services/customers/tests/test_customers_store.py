"""The customer store: the one mapper covers every column both ways, saves are versioned, the
name-key index follows renames and deactivation, and loading is scoped -- on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from salesgrid_dev.pytest_plugin import Migrated
from salesgrid_customers import models
from salesgrid_customers.app import MIGRATIONS
from salesgrid_customers.customer_events import contact_state, customer_state
from salesgrid_customers.domain.customer import Address, Contact, Customer, GeoPoint, PartnerProfile, Tier
from salesgrid_customers.domain.search import index_keys
from salesgrid_customers.domain.errors import Conflict, NotFound, PermissionDenied
from salesgrid_customers.domain.imports import RowError
from salesgrid_customers.domain.ownership import Arbitration, ArbitrationRule, ArbitrationStep, OwnershipDecision
from salesgrid_customers.stores.arbitrations import arbitration_to_row
from salesgrid_customers.stores.import_jobs import import_job_from_row, row_error_from_row
from salesgrid_customers.domain.share_requests import RequestStatus, ShareRequest
from salesgrid_customers.stores.share_requests import share_request_from_row, share_request_to_row
from salesgrid_customers.domain.pool import PoolPolicy
from salesgrid_customers.stores.pool_policies import pool_policy_from_row, pool_policy_to_row
from salesgrid_customers.stores.contacts import contact_from_row, contact_to_row
from salesgrid_customers.stores.customers import (
    customer_from_row,
    customer_to_row,
    insert_customer,
    load_customer,
    save_customer,
)
from salesgrid_dev.testing import principal

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def full_customer() -> Customer:
    """A customer with no field left at its default."""
    return Customer(
        id="c-1",
        legal_name="深圳前海微众银行股份有限公司",
        normalised_name="深圳前海微众银行股份有限公司",
        created_at=NOW,
        owner_id="rep-a",
        owner_unit_path=("c", "sz"),
        credit_code="91440300319331004J",
        industry="banking",
        address=Address("深圳市南山区", GeoPoint(22.5, 113.9)),
        tier=Tier.KEY,
        tags=("vip", "fintech"),
        source="referral",
        version=3,
        org_path="/c/sz/",
        created_by="mgr",
        updated_at=NOW + timedelta(days=1),
        active=True,
        previous_owner_id="rep-z",
        assigned_at=NOW + timedelta(hours=2),
        released_at=NOW + timedelta(hours=1),
        partner=PartnerProfile("agent", "gold", "k-9"),
        custom_fields={"region_code": "SZ-01"},
    )


def test_the_mapper_writes_every_column_and_reads_back_every_field() -> None:
    customer = full_customer()
    values = customer_to_row(customer)
    assert set(values) == set(models.Customer.__table__.columns.keys())  # a new column must be mapped
    assert customer_from_row(models.Customer(**values)) == customer  # and read back


def test_the_contact_mapper_writes_every_column_and_reads_back_every_field() -> None:
    contact = Contact(
        "k-1",
        "王芳",
        "采购经理",
        ("+8613800000000",),
        "wang@example.com",
        True,
        customer_id="c-1",
        created_at=NOW,
        custom_fields={"wechat": "wf88"},
    )
    values = contact_to_row(contact)
    assert set(values) == set(models.Contact.__table__.columns.keys())
    assert contact_from_row(models.Contact(**values)) == contact
    event = contact_state(contact)
    assert (event.contact_id, event.customer_id, event.primary, dict(event.custom_fields)) == (
        "k-1",
        "c-1",
        True,
        {"wechat": "wf88"},
    )


def test_the_state_event_is_built_from_the_domain_customer() -> None:
    state = customer_state(full_customer())
    assert (state.customer_id, state.tier, state.org_path, state.version) == ("c-1", "key", "/c/sz/", 3)
    assert (state.has_location, state.latitude, state.longitude) == (True, 22.5, 113.9)
    assert (state.partner_channel, state.partner_tier, state.partner_contract_id) == ("agent", "gold", "k-9")
    assert dict(state.custom_fields) == {"region_code": "SZ-01"}
    assert customer_state(replace(full_customer(), address=None)).has_location is False


async def test_saves_are_versioned_and_keep_the_name_index(migrated: Migrated) -> None:
    sessions = await migrated(MIGRATIONS)
    rep = principal("rep-a", "/c/sz/", permissions={"customers:read": "own", "customers:update": "own"})
    stranger = principal("rep-b", "/c/bj/", permissions={"customers:read": "own"})
    stored = replace(full_customer(), version=1, custom_fields={})
    async with sessions() as session, session.begin():
        await insert_customer(session, stored)
    async with sessions() as session, session.begin():
        loaded = await load_customer(session, rep, "c-1", "customers:update")
        assert loaded == stored
        renamed = replace(loaded, legal_name="微众银行", normalised_name="微众银行", updated_at=NOW)
        saved = await save_customer(session, loaded, renamed)
        assert saved.version == 2
        with pytest.raises(Conflict):  # a second writer holding version 1 loses
            await save_customer(session, loaded, replace(loaded, industry="insurance"))
    async with sessions() as session, session.begin():
        again = await load_customer(session, rep, "c-1", "customers:read")
        assert again == saved  # what save returned is what is stored
        keys = set(
            (
                await session.scalars(
                    select(models.CustomerNameKey.key).where(models.CustomerNameKey.customer_id == "c-1")
                )
            ).all()
        )
        assert keys == set(index_keys("微众银行"))  # the new name's keys, none of the old name's
        with pytest.raises(PermissionDenied):
            await load_customer(session, stranger, "c-1", "customers:read")
        gone = await save_customer(session, again, replace(again, active=False))
        assert gone.version == 3 and not gone.active
        count = select(func.count()).where(models.CustomerNameKey.customer_id == "c-1")
        assert await session.scalar(count) == 0  # a deactivated name is no longer searched
        with pytest.raises(NotFound):
            await load_customer(session, rep, "c-1", "customers:read")


def test_the_arbitration_mapper_writes_every_column() -> None:
    step = ArbitrationStep(ArbitrationRule.FIRST_FOLLOW_UP, (("rep-a", NOW.isoformat()), ("rep-b", None)), ("rep-a",))
    decision = OwnershipDecision("rep-a", "c-1", ArbitrationRule.FIRST_FOLLOW_UP, "first follow-up", (step,), NOW)
    values = arbitration_to_row(Arbitration("arb-1", ("c-1", "c-2"), ("rep-a", "rep-b"), "Acme", decision, "mgr"))
    assert set(values) == set(models.Arbitration.__table__.columns.keys())
    assert values["steps"] == [
        {"rule": "first_follow_up", "compared": {"rep-a": NOW.isoformat(), "rep-b": ""}, "remaining": ["rep-a"]}
    ]


def test_the_import_job_and_its_row_errors_read_every_column_the_importer_sees() -> None:
    row = models.ImportJob(
        id="j-1",
        status="done",
        format="csv",
        claims={},
        created_by="rep-a",
        total=3,
        processed=3,
        created=2,
        failed=1,
        created_at=NOW,
        finished_at=NOW,
    )
    job = import_job_from_row(row)
    assert (job.id, job.status, job.total, job.created, job.failed, job.finished_at) == ("j-1", "done", 3, 2, 1, NOW)
    error = row_error_from_row(
        models.ImportRow(row_number=2, error_column="legal_name", error_message="taken", existing_owner_id="rep-b")
    )
    assert error == RowError(2, "legal_name", "taken", "rep-b")


def test_the_share_request_mapper_writes_every_column_and_reads_back_every_field() -> None:
    pending = ShareRequest("s-1", "c-1", "rep-b", "collaborator", "may I?", RequestStatus.PENDING, NOW)
    decided = pending.decided(False, "rep-a", "not now", NOW)
    values = share_request_to_row(decided)
    assert set(values) == set(models.ShareRequestRow.__table__.columns.keys())
    assert share_request_from_row(models.ShareRequestRow(**values)) == decided
    assert (decided.status, decided.decided_by, decided.decision_note) == (RequestStatus.DECLINED, "rep-a", "not now")


def test_the_pool_policy_mapper_writes_every_column_and_reads_back_every_rule() -> None:
    policy = PoolPolicy(
        max_customers_per_rep=80,
        max_claims_per_day=5,
        reclaim_cooldown_days=7,
        return_after_days_without_follow_up=30,
        return_after_days_without_opportunity=60,
        return_after_days_without_deal=None,
        warning_days_before=3,
    )
    values = pool_policy_to_row("u-sz", policy, "admin", NOW)
    assert set(values) == set(models.PoolPolicyRow.__table__.columns.keys())
    assert pool_policy_from_row(models.PoolPolicyRow(**values)) == policy
