"""The identity stores (user, role, org unit, API key); the user store: the one mapper covers every column both ways, edits are versioned and the
sign-in state is written without a new version -- on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from salesgrid_common.errors import Conflict
from salesgrid_dev.pytest_plugin import Migrated
from salesgrid_identity import models
from salesgrid_identity.app import MIGRATIONS
from salesgrid_identity.domain import lockout
from salesgrid_identity.domain.api_keys import ApiKey
from salesgrid_identity.domain.org import OrgUnit
from salesgrid_identity.domain.roles import Role
from salesgrid_identity.org_unit_events import org_unit_state
from salesgrid_identity.stores.api_keys import api_key_from_row, api_key_to_row
from salesgrid_identity.stores.org_units import unit_from_row, unit_to_row
from salesgrid_identity.stores.roles import role_from_row, role_to_row
from salesgrid_identity.domain.users import User
from salesgrid_identity.stores.users import (
    get_user,
    insert_user,
    save_sign_in_state,
    save_user,
    user_by_login,
    user_from_row,
    user_to_row,
)
from salesgrid_identity.user_events import user_state

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def full_user(unit_id: str = "u-sz") -> User:
    """A user with no field left at its default."""
    return User(
        id="user-1",
        login="li.lei",
        display_name="李雷",
        email="li.lei@example.com",
        unit_id=unit_id,
        manager_id="boss",
        roles=("sales_rep", "viewer"),
        password_hash="$argon2id$hash",
        password_changed_at=NOW - timedelta(days=3),
        created_at=NOW - timedelta(days=30),
        must_change_password=False,
        failed_attempts=2,
        locked_until=NOW + timedelta(minutes=5),
        active=False,
        version=4,
    )


def test_the_mapper_writes_every_column_and_reads_back_every_field() -> None:
    user = full_user()
    values = user_to_row(user)
    assert set(values) == set(models.User.__table__.columns.keys())  # a new column must be mapped
    assert user_from_row(models.User(**values)) == user


def test_the_user_event_is_built_from_the_domain_user() -> None:
    state = user_state(full_user(), "/c/sz/", "Asia/Shanghai")
    assert (state.user_id, state.org_path, state.time_zone, list(state.roles)) == (
        "user-1",
        "/c/sz/",
        "Asia/Shanghai",
        ["sales_rep", "viewer"],
    )
    assert (state.manager_id, state.active) == ("boss", False)


def test_failed_logins_lock_and_unlocking_clears() -> None:
    policy = lockout.LockoutPolicy(max_failures_per_account=3, lock_duration=timedelta(minutes=15))
    user = replace(full_user(), failed_attempts=1, locked_until=None)
    once = user.after_failed_login(policy, NOW)
    assert (once.failed_attempts, once.locked_until) == (2, None)
    locked = once.after_failed_login(policy, NOW)
    assert (locked.failed_attempts, locked.locked_until) == (3, NOW + timedelta(minutes=15))
    assert (locked.unlocked().failed_attempts, locked.unlocked().locked_until) == (0, None)


async def test_edits_are_versioned_and_sign_in_state_is_not(migrated: Migrated) -> None:
    sessions = await migrated(MIGRATIONS)
    async with sessions() as session, session.begin():
        session.add(
            models.OrgUnit(
                id="u-sz",
                parent_id=None,
                name="Shenzhen",
                kind="company",
                path="/u-sz/",
                time_zone="Asia/Shanghai",
                currency="CNY",
                created_at=NOW,
            )
        )
        await session.flush()
        await insert_user(session, replace(full_user(), manager_id=None, version=1, active=True))
    async with sessions() as session, session.begin():
        loaded = await user_by_login(session, "li.lei")
        assert loaded is not None and loaded.version == 1
        edited = await save_user(session, loaded, replace(loaded, display_name="Li Lei"))
        assert edited.version == 2
        with pytest.raises(Conflict):  # an editor holding version 1 loses
            await save_user(session, loaded, replace(loaded, email="x@example.com"))
        signed_in = await save_sign_in_state(session, edited, edited.unlocked())
        with pytest.raises(ValueError):  # an edit is never written as sign-in state
            await save_sign_in_state(session, signed_in, replace(signed_in, roles=("admin",)))
    async with sessions() as session:
        assert await get_user(session, "user-1") == signed_in
        assert signed_in.version == 2 and (signed_in.failed_attempts, signed_in.locked_until) == (0, None)


def test_the_role_and_unit_and_api_key_mappers_write_every_column_and_read_back_every_field() -> None:
    role = Role("buyer", "Buyer", {"customers:read": "own"}, builtin=True)
    assert set(role_to_row(role)) == set(models.Role.__table__.columns.keys())
    assert role_from_row(models.Role(**role_to_row(role))) == role
    unit = OrgUnit(
        "u-sz",
        "c",
        "Shenzhen",
        "SZ",
        "branch",
        "/c/u-sz/",
        "Asia/Shanghai",
        "CNY",
        NOW,
        True,
        ("10.0.0.0/8",),
        False,
        3,
    )
    assert set(unit_to_row(unit)) == set(models.OrgUnit.__table__.columns.keys())
    assert unit_from_row(models.OrgUnit(**unit_to_row(unit))) == unit
    key = ApiKey("k-1", "ERP", "sg_abc", "hash", "u-sz", "admin", NOW, {"customers:read": "all"}, NOW, NOW, NOW, 120)
    assert set(api_key_to_row(key)) == set(models.ApiKey.__table__.columns.keys())
    assert api_key_from_row(models.ApiKey(**api_key_to_row(key))) == key
    assert (org_unit_state(unit, "/c/old/").previous_path, org_unit_state(unit).path) == ("/c/old/", "/c/u-sz/")
