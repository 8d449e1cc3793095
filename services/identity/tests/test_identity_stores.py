"""The audit-trail, refresh-token and login-failure stores, and the listings of the role, org-unit,
user and API-key stores: each mapper covers every column both ways, and each query returns
domain values with every field as stored -- on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from salesgrid_common.auth.principal import Principal
from salesgrid_common.scopes import Scope
from salesgrid_common.db import SessionFactory
from salesgrid_dev.pytest_plugin import Migrated
from salesgrid_identity import models
from salesgrid_identity.api_key_events import api_key_revoked
from salesgrid_identity.app import MIGRATIONS
from salesgrid_identity.domain.api_keys import ApiKey
from salesgrid_identity.domain.audit import AuditEntry
from salesgrid_identity.domain.org import OrgUnit
from salesgrid_identity.domain.roles import Role
from salesgrid_identity.domain.sessions import RefreshToken
from salesgrid_identity.domain.throttling import AddressFailures, AddressHistory, LoginFailure
from salesgrid_identity.domain.users import User
from salesgrid_identity.stores import audit, login_failures, refresh_tokens
from salesgrid_identity.stores.api_keys import api_keys_in_scope, insert_api_key
from salesgrid_identity.stores.org_units import insert_unit, root_exists, unit_chain, units_under
from salesgrid_identity.stores.roles import get_role, insert_role, roles_by_code
from salesgrid_identity.stores.users import (
    active_users_under,
    failing_accounts,
    insert_user,
    login_taken,
    users_page,
)

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def full_entry(entry_id: str = "0190-a", **changes: object) -> AuditEntry:
    """An audit entry with no field left at its default."""
    entry = AuditEntry(
        id=entry_id,
        occurred_at=NOW,
        actor_id="user-1",
        action="customers.customer.updated",
        actor_ip="203.0.113.9",
        target_type="customer",
        target_id="c-1",
        outcome="denied",
        detail="credit limit",
        source="customers",
        event_id=f"ev-{entry_id}",
    )
    return replace(entry, **changes)  # type: ignore[arg-type]


def full_token(token_id: str = "t-1", family_id: str = "f-1", user_id: str = "user-1") -> RefreshToken:
    return RefreshToken(
        id=token_id,
        user_id=user_id,
        token_hash=f"hash-{token_id}",
        family_id=family_id,
        expires_at=NOW + timedelta(days=7),
        created_at=NOW - timedelta(minutes=1),
        revoked_at=NOW - timedelta(seconds=5),
    )


def test_the_audit_token_and_failure_mappers_write_every_column_and_read_back_every_field() -> None:
    entry = full_entry()
    assert set(audit.entry_to_row(entry)) == set(models.AuditEntry.__table__.columns.keys())
    assert audit.entry_from_row(models.AuditEntry(**audit.entry_to_row(entry))) == entry
    token = full_token()
    assert set(refresh_tokens.token_to_row(token)) == set(models.RefreshToken.__table__.columns.keys())
    assert refresh_tokens.token_from_row(models.RefreshToken(**refresh_tokens.token_to_row(token))) == token
    failure = LoginFailure("lf-1", "203.0.113.9", "li.lei", NOW)
    assert set(login_failures.failure_to_row(failure)) == set(models.LoginFailure.__table__.columns.keys())
    assert login_failures.failure_from_row(models.LoginFailure(**login_failures.failure_to_row(failure))) == failure


@pytest.fixture
async def sessions(migrated: Migrated) -> SessionFactory:
    return await migrated(MIGRATIONS)


async def test_audit_entries_come_back_whole_filtered_and_newest_first(sessions: SessionFactory) -> None:
    older = full_entry("0190-a", occurred_at=NOW - timedelta(hours=2))
    newer = full_entry("0190-b", action="auth.login", actor_id="user-2", target_id="user-2", event_id=None)
    async with sessions() as session, session.begin():
        await audit.append_entry(session, older)
        await audit.append_entry(session, newer)

    async def page(**filters: object) -> list[AuditEntry]:
        query = {"actor_id": "", "action": "", "target_id": "", "since": None, "until": None, "before_id": ""}
        async with sessions() as session:
            return await audit.entries_page(session, **{**query, "limit": 10, **filters})  # type: ignore[arg-type]

    assert await page() == [newer, older]
    assert await page(actor_id="user-1") == [older]
    assert await page(action="customers.") == [older]
    assert await page(target_id="user-2") == [newer]
    assert await page(since=NOW - timedelta(hours=1)) == [newer]
    assert await page(until=NOW - timedelta(hours=1)) == [older]
    assert await page(before_id="0190-b") == [older]
    assert await page(limit=1) == [newer]


async def test_refresh_tokens_are_found_by_hash_and_revoked_one_family_or_user_at_a_time(
    sessions: SessionFactory,
) -> None:
    live = replace(full_token("t-1"), revoked_at=None)
    sibling = replace(full_token("t-2"), revoked_at=None)
    other_family = replace(full_token("t-3", family_id="f-2"), revoked_at=None)
    other_user = replace(full_token("t-4", family_id="f-3", user_id="user-2"), revoked_at=None)
    async with sessions() as session, session.begin():
        await _user(session, "user-1", "li.lei")
        await _user(session, "user-2", "han.mei")
        for token in (live, sibling, other_family, other_user, full_token("t-5", family_id="f-4")):
            await refresh_tokens.insert_token(session, token)
    async with sessions() as session, session.begin():
        assert await refresh_tokens.token_by_hash(session, "hash-t-5") == full_token("t-5", family_id="f-4")
        assert await refresh_tokens.token_by_hash(session, "hash-none") is None
        rotated = await refresh_tokens.revoke_token(session, live, NOW)
        assert rotated == replace(live, revoked_at=NOW)
        assert await refresh_tokens.token_by_hash(session, "hash-t-1") == rotated
        await refresh_tokens.revoke_family(session, "f-1", NOW + timedelta(seconds=1))
        await refresh_tokens.revoke_users_tokens(session, "user-2", NOW + timedelta(seconds=2))
    async with sessions() as session:
        revoked = {t: (await refresh_tokens.token_by_hash(session, f"hash-{t}")) for t in ("t-1", "t-2", "t-3", "t-4")}
    assert {t: token.revoked_at if token else None for t, token in revoked.items()} == {
        "t-1": NOW,  # already revoked: the family's revocation leaves its time
        "t-2": NOW + timedelta(seconds=1),
        "t-3": None,
        "t-4": NOW + timedelta(seconds=2),
    }


async def test_login_failures_give_the_address_history_the_throttled_addresses_and_are_cleared(
    sessions: SessionFactory,
) -> None:
    office, script = "203.0.113.9", "198.51.100.1"
    failures = [
        LoginFailure("lf-1", office, "li.lei", NOW - timedelta(minutes=20)),  # outside the window
        LoginFailure("lf-2", office, "li.lei", NOW - timedelta(minutes=5)),
        LoginFailure("lf-3", office, "han.mei", NOW - timedelta(minutes=4)),
        LoginFailure("lf-4", script, "admin", NOW - timedelta(minutes=3)),
    ]
    async with sessions() as session, session.begin():
        for failure in failures:
            await login_failures.record_failure(session, failure)
    since = NOW - timedelta(minutes=15)
    async with sessions() as session, session.begin():
        assert await login_failures.address_history(session, office, "li.lei", since) == AddressHistory(
            2, 1, NOW - timedelta(minutes=5)
        )
        assert await login_failures.address_history(session, office, "nobody", since) == AddressHistory(2, 0, None)
        assert await login_failures.address_history(session, "", "li.lei", since) == AddressHistory(0, 0)
        assert await login_failures.failing_addresses(session, since, 2, 10) == [
            AddressFailures(office, 2, 2, NOW - timedelta(minutes=4))
        ]
        assert len(await login_failures.failing_addresses(session, since, 1, 10)) == 2
        assert await login_failures.forget_address(session, office) == 3
        assert await login_failures.address_history(session, office, "li.lei", NOW - timedelta(days=1)) == (
            AddressHistory(0, 0, None)
        )


async def _user(session, user_id: str, login: str, unit_id: str = "u-root", **changes: object) -> User:  # type: ignore[no-untyped-def]
    if await session.get(models.OrgUnit, "u-root") is None:
        await insert_unit(session, _unit("u-root", None, "/u-root/"))
    user = User(
        id=user_id,
        login=login,
        display_name=login.replace(".", " ").title(),
        email=f"{login}@example.com",
        unit_id=unit_id,
        manager_id=None,
        roles=("rep",),
        password_hash="$argon2id$hash",
        password_changed_at=NOW,
        created_at=NOW,
    )
    user = replace(user, **changes)  # type: ignore[arg-type]
    await insert_user(session, user)
    return user


def _unit(unit_id: str, parent_id: str | None, path: str, active: bool = True) -> OrgUnit:
    return OrgUnit(unit_id, parent_id, unit_id.upper(), "", "branch", path, "Asia/Shanghai", "CNY", NOW, active=active)


async def test_the_listings_return_domain_values_within_the_callers_scope(sessions: SessionFactory) -> None:
    sz = _unit("u-sz", "u-root", "/u-root/u-sz/")
    gz = _unit("u-gz", "u-root", "/u-root/u-gz/", active=False)
    async with sessions() as session, session.begin():
        assert not await root_exists(session)
        boss = await _user(session, "boss", "boss")
        assert await root_exists(session)
        await insert_unit(session, sz)
        await insert_unit(session, gz)
        locked = await _user(
            session, "rep-1", "li.lei", "u-sz", failed_attempts=3, locked_until=NOW + timedelta(minutes=9)
        )
        failing = await _user(session, "rep-2", "han.mei", "u-sz", failed_attempts=1)
        await _user(session, "rep-3", "wang.fang", "u-gz", active=False)
        insert_role(session, Role("buyer", "Buyer", {"customers:read": "own"}))
        key = ApiKey(
            "k-1", "ERP", "sg_abc", "hash", "u-sz", "rep-1", NOW, {"customers:read": "all"}, NOW, None, NOW, 60
        )
        await insert_api_key(session, key)
        await insert_api_key(session, replace(key, id="k-2", key_hash="hash-2", unit_id="u-gz", created_by="boss"))
    branch = Principal(
        "rep-1",
        "user",
        "u-sz",
        "/u-root/u-sz/",
        {"users:read": Scope.SUBTREE, "users:update": Scope.SUBTREE, "api_keys:read": Scope.SUBTREE},
    )
    async with sessions() as session:
        assert await roles_by_code(session, ["buyer", "missing"]) == [Role("buyer", "Buyer", {"customers:read": "own"})]
        assert await roles_by_code(session, []) == []
        assert await get_role(session, "buyer") == Role("buyer", "Buyer", {"customers:read": "own"})
        assert await get_role(session, "missing") is None
        assert [u.id for u in await units_under(session, "", include_inactive=True)] == ["u-root", "u-gz", "u-sz"]
        assert await units_under(session, "/u-root/u-sz/", include_inactive=False) == [sz]
        assert await units_under(session, "/u-root/u-gz/", include_inactive=False) == []
        assert await login_taken(session, "li.lei") and not await login_taken(session, "nobody")
        assert await users_page(session, branch, under="", query="", limit=10, after_id="") == [
            (locked, sz.path),
            (failing, sz.path),
        ]
        assert await users_page(session, branch, under="", query="HAN", limit=10, after_id="") == [(failing, sz.path)]
        assert await users_page(session, branch, under="", query="", limit=10, after_id="rep-1") == [(failing, sz.path)]
        everyone = replace(branch, permissions={"users:read": Scope.ALL})
        assert [
            u.id for u, _ in await users_page(session, everyone, under="/u-root/u-gz/", query="", limit=10, after_id="")
        ] == ["rep-3"]
        assert [u.id for u, _ in await users_page(session, everyone, under="", query="", limit=2, after_id="")] == [
            "boss",
            "rep-1",
        ]
        # (accounts without a lock sort by the database's rule for NULLs)
        accounts = await failing_accounts(session, branch, NOW, 10)
        assert sorted(accounts, key=lambda pair: pair[0].id) == [(locked, sz.path), (failing, sz.path)]
        assert await active_users_under(session, "/u-root/") == 3
        assert await active_users_under(session, "/u-root/u-gz/") == 0
        assert await api_keys_in_scope(session, branch, "api_keys:read") == [key]
        assert boss.unit_id == "u-root"
    revoked = api_key_revoked(key)
    assert (revoked.api_key_id, revoked.unit_id) == ("k-1", "u-sz")


async def test_a_units_chain_is_its_ancestors_root_first_and_no_id_acts_as_a_wildcard(sessions: SessionFactory) -> None:
    """One query gives the unit and its ancestors (GetMe, login, refresh, key exchange): root
    first, the unit last; a sibling whose path differs only where LIKE would see a wildcard
    (`_`, `%`) is not an ancestor; an unknown unit has no chain."""
    root = _unit("u-root", None, "/u-root/")
    east = _unit("u_e", "u-root", "/u-root/u_e/")
    lookalike = _unit("uxe", "u-root", "/u-root/uxe/")  # "u_e" as a LIKE pattern would match it
    team = _unit("t%1", "uxe", "/u-root/uxe/t%1/")
    async with sessions() as session, session.begin():
        for unit in (root, east, lookalike, team):
            await insert_unit(session, unit)
    async with sessions() as session:
        assert await unit_chain(session, "t%1") == [root, lookalike, team]
        assert await unit_chain(session, "u_e") == [root, east]
        assert await unit_chain(session, "u-root") == [root]
        assert await unit_chain(session, "missing") == []
        assert await unit_chain(session, "") == []
