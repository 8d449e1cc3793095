"""The login-failure store: the one mapping between a `login_failures` row and the domain
LoginFailure (`failure_from_row` / `failure_to_row`), the address's history the login checks,
the throttled addresses administrators see, and clearing an address. The history query runs on
every login, so it is built once and its values bound at execution."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, case, delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid_identity import models
from salesgrid_identity.domain.throttling import AddressFailures, AddressHistory, LoginFailure

Row = models.LoginFailure

_INSERT = insert(Row.__table__)
_PAIR = Row.login == bindparam("login")
# One indexed query: the address's failures in the window, and those of this login.
_HISTORY = select(func.count(), func.count(case((_PAIR, 1))), func.min(case((_PAIR, Row.at)))).where(
    Row.client_ip == bindparam("client_ip"), Row.at > bindparam("since")
)


def failure_from_row(row: Row) -> LoginFailure:
    return LoginFailure(id=row.id, client_ip=row.client_ip, login=row.login, at=row.at)


def failure_to_row(failure: LoginFailure) -> dict[str, Any]:
    return {"id": failure.id, "client_ip": failure.client_ip, "login": failure.login, "at": failure.at}


async def record_failure(session: AsyncSession, failure: LoginFailure) -> None:
    await session.execute(_INSERT, failure_to_row(failure))


async def address_history(session: AsyncSession, client_ip: str, login: str, since: datetime) -> AddressHistory:
    """The failures from `client_ip` after `since`, and of them those of `login` (none without
    an address)."""
    if not client_ip:
        return AddressHistory(0, 0)
    row = (await session.execute(_HISTORY, {"login": login, "client_ip": client_ip, "since": since})).one()
    return AddressHistory(row[0] or 0, row[1] or 0, row[2])


async def failing_addresses(session: AsyncSession, since: datetime, at_least: int, limit: int) -> list[AddressFailures]:
    """Addresses with `at_least` failures after `since`, the most failing first."""
    grouped = await session.execute(
        select(Row.client_ip, func.count(), func.count(func.distinct(Row.login)), func.max(Row.at))
        .where(Row.at > since, Row.client_ip != "")
        .group_by(Row.client_ip)
        .having(func.count() >= at_least)
        .order_by(func.count().desc())
        .limit(limit)
    )
    return [AddressFailures(ip, count, logins, newest) for ip, count, logins, newest in grouped.all()]


async def forget_address(session: AsyncSession, address: str) -> int:
    """Forget every failure recorded from `address`; how many there were."""
    result = await session.execute(delete(Row).where(Row.client_ip == address))
    return int(result.rowcount or 0)
