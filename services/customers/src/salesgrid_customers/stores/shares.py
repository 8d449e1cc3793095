"""The share store: a customer's shares (`customer_shares` rows) as domain Shares, writing and
ending them, and the clause that lets a sharee see a customer in the scope filters."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, and_, bindparam, delete, exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid_common.auth.principal import Principal
from salesgrid_common.auth.scope_filters import SCOPE_SUBJECT
from salesgrid_customers import models
from salesgrid_customers.domain.sharing import Share, ShareRole

Row = models.Share
SHARES = models.Share.__table__


def share_from_row(row: Row) -> Share:
    return Share(row.user_id, ShareRole(row.role))


def share_to_row(customer_id: str, share: Share, created_at: datetime) -> dict[str, object]:
    return {"customer_id": customer_id, "user_id": share.user_id, "role": share.role.value, "created_at": created_at}


def shared_with(principal: Principal, *roles: str) -> ColumnElement[bool]:
    """Rows shared with the caller (in any role, or only in `roles`): the scope filter's shared clause."""
    clause = and_(Row.customer_id == models.Customer.id, Row.user_id == principal.subject_id)
    if roles:
        clause = and_(clause, Row.role.in_(roles))
    return exists().where(clause)


def shared_with_caller(customer_id: ColumnElement[str], roles: tuple[str, ...] = ()) -> ColumnElement[bool]:
    """`shared_with` for statements built once per scope shape (Core columns): the caller is the
    bound SCOPE_SUBJECT of auth.scope_clause."""
    shares = SHARES.c
    clause = and_(shares.customer_id == customer_id, shares.user_id == bindparam(SCOPE_SUBJECT))
    if roles:
        clause = and_(clause, shares.role.in_(roles))
    return exists().where(clause)


async def shares_of(session: AsyncSession, customer_id: str) -> tuple[Share, ...]:
    """The customer's shares in user id order."""
    rows = (await session.scalars(select(Row).where(Row.customer_id == customer_id).order_by(Row.user_id))).all()
    return tuple(share_from_row(row) for row in rows)


async def put_share(session: AsyncSession, customer_id: str, share: Share, created_at: datetime) -> None:
    """The user's share of the customer, replacing the one he had."""
    await remove_share(session, customer_id, share.user_id)
    session.add(Row(**share_to_row(customer_id, share, created_at)))


async def remove_share(session: AsyncSession, customer_id: str, user_id: str) -> None:
    await session.execute(delete(Row).where(Row.customer_id == customer_id, Row.user_id == user_id))


async def end_shares(session: AsyncSession, customer_ids: Sequence[str]) -> None:
    """Every share of these customers ends (released to the pool, merged)."""
    await session.execute(delete(Row).where(Row.customer_id.in_(customer_ids)))


def add_shares(session: AsyncSession, customer_id: str, shares: Iterable[Share], created_at: datetime) -> None:
    session.add_all(Row(**share_to_row(customer_id, share, created_at)) for share in shares)
