"""The demo book of business (what `make run` seeds on a fresh start), in small, through the public
API on the real platform: every stage reached, contracts approved by the real chain with overdue
instalments and receipts, follow-ups, today's check-ins and reports, tasks and targets."""

from __future__ import annotations

import uuid
from decimal import Decimal

import httpx
from salesgrid_dev.api import PASSWORD, auth, org_unit, person, poll, root_unit
from salesgrid_dev.platform import ADMIN_LOGIN, ADMIN_PASSWORD, Platform
from salesgrid_dev.seed_book import seed_book


def test_a_small_book_reaches_every_stage_and_leaves_overdue_receivables(
    platform: Platform, api: httpx.Client, admin_token: str
) -> None:
    suffix = uuid.uuid4().hex[:6]
    branch = org_unit(
        api,
        admin_token,
        root_unit(api, admin_token)["id"],
        f"Seed branch {suffix}",
        kind="branch",
        time_zone="Asia/Shanghai",
        currency="CNY",
    )
    manager_id, manager_token = person(api, admin_token, branch["id"], f"manager-seed-{suffix}", "manager")
    for n in (1, 2):
        person(api, admin_token, branch["id"], f"rep-seed{n}-{suffix}", "rep", manager_id)
    logins = [f"manager-seed-{suffix}", f"rep-seed1-{suffix}", f"rep-seed2-{suffix}"]

    book = seed_book(
        platform.gateway_url,
        {**{login: PASSWORD for login in logins}, ADMIN_LOGIN: ADMIN_PASSWORD},
        per_rep=8,
        seed=int(suffix, 16),
    )

    assert book.customers >= 15 and book.contacts == book.customers  # a name may meet a registered one
    assert set(book.opportunities) == {
        "opportunity",
        "approval",
        "formal_communication",
        "bidding",
        "result",
        "won",
        "lost",
    }, book.opportunities
    assert book.follow_ups >= book.customers
    assert book.check_ins == 6 and book.reports == 1 and book.tasks == 2 and book.targets == 2
    assert book.expense_claims == 2 and book.announcements == 1
    assert book.contracts >= 1 and book.receipts >= 1
    manager = auth(manager_token)
    stages = {o["stage"] for o in api.get("/v1/opportunities", headers=manager, params={"limit": 100}).json()["items"]}
    assert {"opportunity", "approval", "formal_communication", "bidding", "result"} <= stages

    def overdue() -> bool:  # receipts reach the receivables asynchronously
        lines = api.get("/v1/receivables/ageing", headers=manager).json()["lines"]
        return any(
            Decimal(line["days_1_30"])
            + Decimal(line["days_31_60"])
            + Decimal(line["days_61_90"])
            + Decimal(line["over_90"])
            > 0
            for line in lines
        )

    poll(overdue)
    # Expenses: each rep's claim, one approved by the manager and one waiting for him
    claims = api.get("/v1/expense-claims", headers=manager, params={"limit": 10}).json()["items"]
    assert sorted(c["status"] for c in claims) == ["approved", "submitted"]
    assert all(len(c["receipts"]) == 2 for c in claims)
