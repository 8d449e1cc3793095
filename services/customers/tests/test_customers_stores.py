"""The stores the last use cases moved into (shares, the pool, other services' facts, the import
worker's rows, pages of customers and share requests), on SQLite and PostgreSQL: each maps its
rows to domain values and back, and each guarded write refuses what it must."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from salesgrid_common.imports.jobs import row_id
from salesgrid_customers import customer_events, models
from salesgrid_customers.domain.customer import Customer, Tier
from salesgrid_customers.domain.imports import RowError, RowStatus
from salesgrid_customers.domain.ownership import Arbitration, ArbitrationRule, OwnershipDecision
from salesgrid_customers.domain.pool import ActivityFacts, ReturnRule, ReturnWarning
from salesgrid_customers.domain.pool_standing import Released
from salesgrid_customers.domain.share_requests import RequestStatus, ShareRequest
from salesgrid_customers.domain.sharing import Share, ShareRole
from salesgrid_customers.stores import facts, import_jobs, pool, shares
from salesgrid_customers.stores.customer_lists import CustomerFilter, customers_page
from salesgrid_customers.stores.customers import customers_by_id, insert_customer, move_customer
from salesgrid_customers.stores.share_requests import insert_share_request, share_requests_page
from salesgrid_dev.testing import principal

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def customer(customer_id: str, name: str, owner: str | None, org_path: str = "/c/sz/", **fields: object) -> Customer:
    base = Customer(
        id=customer_id,
        legal_name=name,
        normalised_name=name.lower(),
        created_at=NOW,
        owner_id=owner,
        owner_unit_path=tuple(p for p in org_path.split("/") if p),
        tier=Tier.POTENTIAL,
        org_path=org_path,
        created_by="mgr",
        updated_at=NOW,
        assigned_at=NOW if owner else None,
    )
    return replace(base, **fields)  # type: ignore[arg-type]


def test_the_share_mapper_writes_every_column() -> None:
    values = shares.share_to_row("c-1", Share("rep-b", ShareRole.CO_OWNER), NOW)
    assert set(values) == set(models.Share.__table__.columns.keys())
    assert shares.share_from_row(models.Share(**values)) == Share("rep-b", ShareRole.CO_OWNER)


def test_the_sharing_pool_and_arbitration_payloads_are_built_from_domain_values() -> None:
    held = customer("c-1", "Acme", "rep-a")
    shared = customer_events.shared(held, Share("rep-b", ShareRole.CO_OWNER))
    assert (shared.customer_id, shared.user_id, shared.role, shared.owner_id) == ("c-1", "rep-b", "co_owner", "rep-a")
    unshared = customer_events.unshared(replace(held, owner_id=None), "rep-b")
    assert (unshared.user_id, unshared.role, unshared.owner_id) == ("rep-b", "", "")
    due = NOW + timedelta(days=3)
    warning = customer_events.pool_return_warning(held, ReturnWarning("c-1", "rep-a", ReturnRule.NO_DEAL, due, NOW))
    assert (warning.customer_id, warning.owner_id, warning.rule, warning.due_at) == (
        "c-1",
        "rep-a",
        "no_deal",
        due.isoformat(),
    )
    decision = OwnershipDecision(None, None, ArbitrationRule.UNDECIDED, "no evidence", (), NOW)
    decided = customer_events.arbitration_decided(
        Arbitration("arb-1", ("c-1", "c-2"), ("rep-a", "rep-b"), "Acme", decision, "mgr")
    )
    assert (decided.arbitration_id, list(decided.customer_ids), list(decided.rep_ids)) == (
        "arb-1",
        ["c-1", "c-2"],
        ["rep-a", "rep-b"],
    )
    assert (decided.winner_rep_id, decided.winner_customer_id, decided.rule, decided.reason) == (
        "",
        "",
        "undecided",
        "no evidence",
    )


async def test_shares_are_replaced_removed_and_ended(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as session, session.begin():
        for c in (customer("c-1", "Acme", "rep-a"), customer("c-2", "Globex", "rep-a")):
            await insert_customer(session, c)
        await shares.put_share(session, "c-1", Share("rep-c", ShareRole.COLLABORATOR), NOW)
        await shares.put_share(session, "c-1", Share("rep-b", ShareRole.COLLABORATOR), NOW)
        await shares.put_share(session, "c-1", Share("rep-b", ShareRole.CO_OWNER), NOW)  # replaces his role
        shares.add_shares(session, "c-2", [Share("rep-d", ShareRole.COLLABORATOR)], NOW)
    async with sessions() as session, session.begin():
        assert await shares.shares_of(session, "c-1") == (
            Share("rep-b", ShareRole.CO_OWNER),
            Share("rep-c", ShareRole.COLLABORATOR),
        )
        await shares.remove_share(session, "c-1", "rep-c")
        assert await shares.shares_of(session, "c-1") == (Share("rep-b", ShareRole.CO_OWNER),)
        await shares.end_shares(session, ["c-1", "c-2"])
        assert (await shares.shares_of(session, "c-1"), await shares.shares_of(session, "c-2")) == ((), ())


async def test_an_owner_move_is_guarded_by_the_owner_and_the_assignment(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    held = customer("c-1", "Acme", "rep-a")
    async with sessions() as session, session.begin():
        await insert_customer(session, held)
    released = replace(held, owner_id=None, previous_owner_id="rep-a", released_at=NOW, assigned_at=None)
    async with sessions() as session, session.begin():
        assert await move_customer(session, held, released, "rep-b") is None  # not his
        assert await move_customer(session, held, released, None) is None  # not in the pool
        later = replace(held, assigned_at=NOW + timedelta(days=1))  # reassigned since the decision
        assert await move_customer(session, later, released, "rep-a", same_assignment=True) is None
        stored = await move_customer(session, held, released, "rep-a", same_assignment=True)
        assert stored == replace(released, version=held.version + 1)
    async with sessions() as session, session.begin():
        assert (await customers_by_id(session, ["c-1"]))["c-1"] == stored


async def test_the_pool_store_counts_claims_warns_once_and_reads_the_scheduler_batch(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session, session.begin():
        await insert_customer(session, customer("c-1", "Acme", "rep-a"))
        await insert_customer(session, customer("c-2", "Globex", "rep-a"))
        await insert_customer(
            session, customer("c-3", "Initech", None, previous_owner_id="rep-a", released_at=NOW - timedelta(days=2))
        )
        session.add(
            models.RepActivity(
                customer_id="c-1", rep_id="rep-a", follow_up_count=2, last_follow_up_at=NOW, last_deal_at=NOW
            )
        )
        session.add(models.RepActivity(customer_id="c-2", rep_id="rep-z", follow_up_count=1, last_follow_up_at=NOW))
        pool.record_claim(session, "k-1", "c-1", "rep-a", NOW - timedelta(hours=1))
        pool.record_claim(session, "k-2", "c-2", "rep-a", NOW - timedelta(days=1))
    async with sessions() as session, session.begin():
        assert await pool.held_count(session, "rep-a") == 2
        assert await pool.claims_between(session, "rep-a", NOW - timedelta(hours=1), NOW) == 1  # [start, end)
        assert await pool.record_warning(session, "w-1", "c-1", NOW) is True
        assert await pool.record_warning(session, "w-1", "c-1", NOW) is False
        batch = await pool.owned_with_activity(session, "", 10)
        assert [(c.id, f) for c, f in batch] == [
            ("c-1", ActivityFacts("c-1", "rep-a", NOW, NOW, None, NOW)),
            ("c-2", ActivityFacts("c-2", "rep-a", NOW)),  # another rep's activity is not the owner's
        ]
        assert [c.id for c, _ in await pool.owned_with_activity(session, "c-1", 10)] == ["c-2"]
        assert await pool.released_by_since(session, "rep-a", NOW - timedelta(days=3)) == [
            Released("c-3", "Initech", NOW - timedelta(days=2))
        ]
        assert await pool.released_by_since(session, "rep-a", NOW - timedelta(days=1)) == []


async def test_facts_are_read_for_the_overview_and_follow_a_merge(sessions: async_sessionmaker[AsyncSession]) -> None:
    early, late = NOW - timedelta(days=9), NOW - timedelta(days=1)
    async with sessions() as session, session.begin():
        session.add_all(
            [
                models.RepActivity(customer_id="c-1", rep_id="rep-a", follow_up_count=2, first_follow_up_at=late),
                models.RepActivity(
                    customer_id="c-2", rep_id="rep-a", follow_up_count=3, first_follow_up_at=early, last_deal_at=late
                ),
                models.RepActivity(customer_id="c-2", rep_id="rep-b", follow_up_count=1, first_opportunity_at=late),
                models.OpportunityFact(
                    opportunity_id="o-1", customer_id="c-2", status="open", amount=Decimal("10.50"), currency="CNY"
                ),
                models.ContractFact(
                    contract_id="k-1", customer_id="c-2", status="active", total=Decimal("99"), currency="CNY"
                ),
                models.MoneyFact(entry_id="m-1", customer_id="c-2", amount=Decimal("-5"), currency="CNY"),
            ]
        )
    async with sessions() as session, session.begin():
        assert await facts.contract_customer(session, "k-1") == "c-2"
        assert await facts.contract_customer(session, "k-404") is None
        first = await facts.first_activity(session, ["c-1", "c-2"])
        assert first[("c-2", "rep-b")] == facts.FirstActivity(None, late)
        assert first[("c-1", "rep-a")] == facts.FirstActivity(late, None)
        await facts.repoint_facts(session, "c-1", ["c-2"])
    async with sessions() as session:
        merged = await facts.customer_facts(session, "c-1")
        assert (merged.follow_up_count, merged.last_follow_up_at) == (6, None)
        assert merged.opportunities == [("open", Decimal("10.50"), "CNY")]
        assert (merged.contracts, merged.money) == ([("active", Decimal("99"), "CNY")], [(Decimal("-5"), "CNY")])
        first = await facts.first_activity(session, ["c-1", "c-2"])
        assert set(first) == {("c-1", "rep-a"), ("c-1", "rep-b")}  # rep-a's two records are one now
        assert first[("c-1", "rep-a")] == facts.FirstActivity(early, None)  # the earlier of the two
        assert (await facts.customer_facts(session, "c-2")).follow_up_count == 0


async def test_the_import_worker_rows_and_counters(sessions: async_sessionmaker[AsyncSession]) -> None:
    rows = iter([["Acme"], ["Globex"], ["Initech"]])
    job = {"id": "j-1", "format": "csv", "claims": {"sub": "rep-a"}, "created_by": "rep-a", "created_at": NOW}
    async with sessions() as session, session.begin():
        assert await import_jobs.stage_import(session, job, rows, ["legal_name"], 10, 2) == 3
    async with sessions() as session, session.begin():
        assert await import_jobs.unfinished_jobs(session) == [import_jobs.QueuedJob("j-1", {"sub": "rep-a"})]
        pending = await import_jobs.claim_pending_rows(session, "j-1", 2)
        assert [(r.id, r.row_number, r.data) for r in pending] == [
            (row_id("j-1", 1), 1, {"legal_name": "Acme"}),
            (row_id("j-1", 2), 2, {"legal_name": "Globex"}),
        ]
        await import_jobs.mark_row(session, row_id("j-1", 1), "c-1")
        await import_jobs.mark_row(session, row_id("j-1", 2), RowError(2, "legal_name", "taken", "rep-b"))
        await import_jobs.mark_created(session, {row_id("j-1", 3): "c-3"})
        await import_jobs.count_processed(session, "j-1", 3, 2)
    async with sessions() as session, session.begin():
        assert await import_jobs.pending_count(session, "j-1") == 0
        assert await import_jobs.row_of_customer(session, "j-1", "c-3") == 3
        assert await import_jobs.row_of_customer(session, "j-1", "c-404") is None
        errors, _ = await import_jobs.row_errors_page(session, "j-1", 10, "")
        assert errors == [RowError(2, "legal_name", "taken", "rep-b")]
        stored = await session.get(models.ImportRow, row_id("j-1", 1))
        assert stored is not None and (stored.status, stored.customer_id) == (RowStatus.CREATED, "c-1")
        job_now = await import_jobs.get_import_job(session, "j-1")
        assert job_now is not None and (job_now.processed, job_now.created, job_now.failed) == (3, 2, 1)
        assert await import_jobs.finish_job(session, "j-1", NOW) is True
        assert await import_jobs.finish_job(session, "j-1", NOW) is False  # another replica was first
        assert await import_jobs.unfinished_jobs(session) == []


async def test_pages_of_customers_and_of_share_requests(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as session, session.begin():
        await insert_customer(session, customer("c-1", "Acme", "rep-a", tags=("vip",)))
        await insert_customer(session, customer("c-2", "Globex", "rep-z", "/c/bj/"))
        await insert_customer(session, customer("c-3", "Initech", "rep-a"))
        await shares.put_share(session, "c-2", Share("rep-a", ShareRole.COLLABORATOR), NOW)
        for request_id, customer_id in (("s-1", "c-1"), ("s-2", "c-2")):
            await insert_share_request(
                session,
                ShareRequest(request_id, customer_id, "rep-b", "collaborator", "", RequestStatus.PENDING, NOW),
            )
    rep = principal("rep-a", "/c/sz/", permissions={"customers:read": "own"})
    async with sessions() as session:
        page, _ = await customers_page(
            session, rep, CustomerFilter(), sort="", page_size=10, cursor="", search_candidates=10
        )
        assert [c.id for c in page] == ["c-3", "c-2", "c-1"]  # his own and the one shared with him
        tagged, _ = await customers_page(
            session, rep, CustomerFilter(tag="vip"), sort="name", page_size=10, cursor="", search_candidates=10
        )
        assert [c.id for c in tagged] == ["c-1"]
        mine, _ = await share_requests_page(session, owner_id="rep-a", status=None, page_size=10, cursor="")
        assert [r.id for r in mine] == ["s-1"]
        subtree, _ = await share_requests_page(
            session, owner_id="mgr", subtree="/c/", status=RequestStatus.PENDING, page_size=10, cursor=""
        )
        assert [r.id for r in subtree] == ["s-2", "s-1"]
        asked, _ = await share_requests_page(session, requester_id="rep-b", status=None, page_size=10, cursor="")
        assert [(r.id, r.status) for r in asked] == [("s-2", RequestStatus.PENDING), ("s-1", RequestStatus.PENDING)]
