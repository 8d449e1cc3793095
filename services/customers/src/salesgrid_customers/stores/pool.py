"""The public pool's records: customers held per rep, claims (`customer_pool_claims`), return
warnings sent (`customer_pool_warnings`, one per idempotency key), the scheduler's batches of
owned customers with their owner's activity, and the customers a rep released."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid_customers import models
from salesgrid_customers.domain.customer import Customer
from salesgrid_customers.domain.pool import ActivityFacts
from salesgrid_customers.domain.pool_standing import Released
from salesgrid_customers.stores.customers import customer_from_row

Row = models.Customer


async def held_count(session: AsyncSession, owner_id: str) -> int:
    """Active customers the user owns (what the pool policy's cap is checked against)."""
    return int(
        await session.scalar(select(func.count()).select_from(Row).where(Row.owner_id == owner_id, Row.active)) or 0
    )


async def claims_between(session: AsyncSession, user_id: str, start: datetime, end: datetime) -> int:
    """The user's pool claims in [start, end)."""
    claim = models.PoolClaim
    return int(
        await session.scalar(
            select(func.count())
            .select_from(claim)
            .where(claim.user_id == user_id, claim.claimed_at >= start, claim.claimed_at < end)
        )
        or 0
    )


def record_claim(session: AsyncSession, claim_id: str, customer_id: str, user_id: str, claimed_at: datetime) -> None:
    session.add(models.PoolClaim(id=claim_id, customer_id=customer_id, user_id=user_id, claimed_at=claimed_at))


async def record_warning(session: AsyncSession, key: str, customer_id: str, sent_at: datetime) -> bool:
    """The warning of this idempotency key as sent; False if it was already. A replica that
    inserts the same key at the same time fails here with IntegrityError."""
    if await session.get(models.PoolWarning, key) is not None:
        return False
    session.add(models.PoolWarning(key=key, customer_id=customer_id, sent_at=sent_at))
    await session.flush()
    return True


async def owned_with_activity(session: AsyncSession, after: str, limit: int) -> list[tuple[Customer, ActivityFacts]]:
    """Up to `limit` active, assigned customers with ids after `after`, in id order, each with what
    is known of its owner's activity on it (one query)."""
    activity = models.RepActivity
    stmt = (
        select(Row, activity)
        .outerjoin(activity, and_(activity.customer_id == Row.id, activity.rep_id == Row.owner_id))
        .where(Row.active, Row.owner_id.is_not(None), Row.assigned_at.is_not(None), Row.id > after)
        .order_by(Row.id)
        .limit(limit)
    )
    found = []
    for row, fact in (await session.execute(stmt)).tuples().all():
        customer = customer_from_row(row)
        assert customer.assigned_at is not None
        facts = ActivityFacts(
            customer.id,
            customer.owner_id,
            customer.assigned_at,
            fact.last_follow_up_at if fact else None,
            fact.last_opportunity_at if fact else None,
            fact.last_deal_at if fact else None,
        )
        found.append((customer, facts))
    return found


async def released_by_since(session: AsyncSession, user_id: str, since: datetime) -> list[Released]:
    """Pool customers the user released at or after `since`."""
    rows = (
        await session.execute(
            select(Row.id, Row.legal_name, Row.released_at).where(
                Row.active,
                Row.owner_id.is_(None),
                Row.previous_owner_id == user_id,
                Row.released_at.is_not(None),
                Row.released_at >= since,
            )
        )
    ).all()
    return [Released(row.id, row.legal_name, row.released_at) for row in rows]
