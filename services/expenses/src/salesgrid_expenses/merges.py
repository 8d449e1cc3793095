"""Expenses' side of a customer merge: claim lines spent on a merged customer are re-attached to
the survivor from customers' `merged` event, idempotently (`salesgrid_common.customer_merges`)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid_common.customer_merges import merge_subscription
from salesgrid_common.events.consumer import Subscription
from salesgrid_expenses.models import ClaimLine


async def reattach(session: AsyncSession, survivor_id: str, merged_ids: Sequence[str]) -> int:
    result = await session.execute(
        update(ClaimLine).where(ClaimLine.customer_id.in_(merged_ids)).values(customer_id=survivor_id)
    )
    return result.rowcount or 0


def customer_merges_subscription() -> Subscription:
    async def repoint(session: AsyncSession, survivor_id: str, merged_ids: Sequence[str]) -> None:
        await reattach(session, survivor_id, merged_ids)

    return merge_subscription("expenses-customer-merges", repoint)
