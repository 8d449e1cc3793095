"""The user store: the one mapping between a `users` row and the domain User (`user_from_row` /
`user_to_row`), lookups by id and login, the scoped listings, versioned saves of what editors change and plain
writes of the sign-in state."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid_common.auth.principal import Principal
from salesgrid_common.auth.scope_filters import scope_filter
from salesgrid_common.errors import Conflict
from salesgrid_common.paging import count_if_asked
from salesgrid_identity import models
from salesgrid_identity.domain.users import User

Row = models.User
Unit = models.OrgUnit

# What signing in writes (failures, lock, password): not an edit, so no new version for editors.
SIGN_IN_STATE = ("failed_attempts", "locked_until", "password_hash", "password_changed_at", "must_change_password")


def user_from_row(row: Row) -> User:
    return User(
        id=row.id,
        login=row.login,
        display_name=row.display_name,
        email=row.email,
        unit_id=row.unit_id,
        manager_id=row.manager_id,
        roles=tuple(row.roles),
        password_hash=row.password_hash,
        password_changed_at=row.password_changed_at,
        created_at=row.created_at,
        must_change_password=row.must_change_password,
        failed_attempts=row.failed_attempts,
        locked_until=row.locked_until,
        active=row.active,
        version=row.version,
    )


def user_to_row(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "login": user.login,
        "display_name": user.display_name,
        "email": user.email,
        "unit_id": user.unit_id,
        "manager_id": user.manager_id,
        "roles": list(user.roles),
        "password_hash": user.password_hash,
        "password_changed_at": user.password_changed_at,
        "must_change_password": user.must_change_password,
        "failed_attempts": user.failed_attempts,
        "locked_until": user.locked_until,
        "active": user.active,
        "version": user.version,
        "created_at": user.created_at,
    }


async def get_user(session: AsyncSession, user_id: str) -> User | None:
    row = await session.get(Row, user_id) if user_id else None
    return None if row is None else user_from_row(row)


async def user_by_login(session: AsyncSession, login: str) -> User | None:
    row = await session.scalar(select(Row).where(Row.login == login))
    return None if row is None else user_from_row(row)


async def login_taken(session: AsyncSession, login: str) -> bool:
    return await session.scalar(select(Row.id).where(Row.login == login)) is not None


async def users_page(
    session: AsyncSession, principal: Principal, *, under: str, query: str, limit: int, after_id: str
) -> list[tuple[User, str]]:
    """Up to `limit` users `principal` may read (with their unit's path) in id order after
    `after_id`: those under the path `under` ("": anywhere) whose login or name contains
    `query`; the filtered total is counted when the call asked for it."""
    stmt = (
        select(Row, Unit.path)
        .join(Unit, Row.unit_id == Unit.id)
        .where(scope_filter(principal, "users:read", Row.id, Unit.path))
        .order_by(Row.id)
        .limit(limit)
    )
    if under:
        stmt = stmt.where(Unit.path.startswith(under))
    if query:
        like = f"%{query.strip().lower()}%"
        stmt = stmt.where(func.lower(Row.login).like(like) | func.lower(Row.display_name).like(like))
    await count_if_asked(session, stmt)
    if after_id:
        stmt = stmt.where(Row.id > after_id)
    return [(user_from_row(row), path) for row, path in (await session.execute(stmt)).all()]


async def failing_accounts(
    session: AsyncSession, principal: Principal, now: datetime, limit: int
) -> list[tuple[User, str]]:
    """Accounts locked at `now` or with failed attempts that `principal` may unlock (with their
    unit's path), the latest locks first."""
    rows = await session.execute(
        select(Row, Unit.path)
        .join(Unit, Row.unit_id == Unit.id)
        .where(
            scope_filter(principal, "users:update", Row.id, Unit.path),
            (Row.failed_attempts > 0) | (Row.locked_until > now),
        )
        .order_by(Row.locked_until.desc(), Row.id)
        .limit(limit)
    )
    return [(user_from_row(row), path) for row, path in rows.all()]


async def active_users_under(session: AsyncSession, path: str) -> int:
    """How many active users belong to units under the path (the unit itself included)."""
    count = await session.scalar(
        select(func.count())
        .select_from(Row)
        .join(Unit, Row.unit_id == Unit.id)
        .where(Unit.path.startswith(path), Row.active.is_(True))
    )
    return int(count or 0)


async def insert_user(session: AsyncSession, user: User) -> None:
    session.add(Row(**user_to_row(user)))
    await session.flush()


async def save_user(session: AsyncSession, before: User, after: User) -> User:
    """Store an edit if the row is still at `before`'s version; the stored user, one version on."""
    if not await _update(session, before, after, Row.version == before.version, versioned=True):
        raise Conflict(f"user changed since version {before.version}", "version")
    return replace(after, version=before.version + 1)


async def save_sign_in_state(session: AsyncSession, before: User, after: User) -> User:
    """Store what signing in changed (SIGN_IN_STATE only); the version stays."""
    if changed := [name for name in _changed(before, after) if name not in SIGN_IN_STATE]:
        raise ValueError(f"not sign-in state: {', '.join(changed)}")
    await _update(session, before, after, None, versioned=False)
    return after


def _changed(before: User, after: User) -> dict[str, Any]:
    old, new = user_to_row(before), user_to_row(after)
    return {name: value for name, value in new.items() if value != old[name] and name != "version"}


async def _update(
    session: AsyncSession, before: User, after: User, guard: ColumnElement[bool] | None, *, versioned: bool
) -> bool:
    values = _changed(before, after)
    if versioned:
        values["version"] = Row.version + 1
    if not values:
        return True
    stmt = update(Row).where(Row.id == before.id)
    if guard is not None:
        stmt = stmt.where(guard)
    result = await session.execute(stmt.values(**values))
    return bool(result.rowcount == 1)
