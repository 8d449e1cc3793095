"""Activities' side of a customer merge: the merged customers' follow-ups and check-ins are
re-attached to the survivor, and later requests naming a merged id (a follow-up or check-in logged
offline, a list filter) are served for the survivor (`salesgrid_common.customer_merges`). Tasks
and daily reports name no customer."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid_activities.models import FollowUpRow, VisitRow
from salesgrid_common.customer_merges import merge_subscription
from salesgrid_common.events.consumer import Subscription


async def reattach(session: AsyncSession, survivor_id: str, merged_ids: Sequence[str]) -> int:
    """Move follow-ups and check-ins of `merged_ids` to `survivor_id`; the number of rows moved."""
    moved = 0
    for model in (FollowUpRow, VisitRow):
        result = await session.execute(
            update(model).where(model.customer_id.in_(merged_ids)).values(customer_id=survivor_id)
        )
        moved += result.rowcount or 0
    return moved


def customer_merges_subscription() -> Subscription:
    async def repoint(session: AsyncSession, survivor_id: str, merged_ids: Sequence[str]) -> None:
        await reattach(session, survivor_id, merged_ids)

    return merge_subscription("activities-customer-merges", repoint)
