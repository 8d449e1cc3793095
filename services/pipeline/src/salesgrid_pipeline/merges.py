"""Pipeline's side of a customer merge: the merged customers' opportunities are re-attached to
the survivor (each one announced as `opportunity.updated`, so replicas follow), and later requests
naming a merged id are served for the survivor (`salesgrid_common.customer_merges`)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid_common.customer_merges import merge_subscription
from salesgrid_common.events.consumer import Subscription
from salesgrid_pipeline.domain._checks import normalise_key
from salesgrid_pipeline.domain.merge import name_on_survivor
from salesgrid_pipeline.models import Opportunity
from salesgrid_pipeline.usecases import PipelineUseCases


async def reattach_opportunities(
    uc: PipelineUseCases, session: AsyncSession, survivor_id: str, merged_ids: Sequence[str]
) -> int:
    """Move every opportunity of `merged_ids` to `survivor_id`; the number moved (0 when re-applied)."""
    moving = list(
        (
            await session.scalars(
                select(Opportunity)
                .where(Opportunity.customer_id.in_(merged_ids))
                .order_by(Opportunity.created_at, Opportunity.id)
            )
        ).all()
    )
    if not moving:
        return 0
    await uc._load_models(session)
    taken = set(
        (await session.scalars(select(Opportunity.name_key).where(Opportunity.customer_id == survivor_id))).all()
    )
    now = uc.clock()
    for row in moving:
        row.name = name_on_survivor(row.name, taken)
        row.name_key = normalise_key(row.name)
        taken.add(row.name_key)
        row.customer_id, row.version, row.updated_at = survivor_id, row.version + 1, now
        await session.flush()  # one row at a time: the (customer, name) constraint sees each move
        # acted by the service itself (its system actor), on customers' event
        await uc._emit(session, "opportunity.updated", uc._opportunity_event(row), row.id, row.org_path, None, now)
    return len(moving)


def customer_merges_subscription(uc: PipelineUseCases) -> Subscription:
    async def repoint(session: AsyncSession, survivor_id: str, merged_ids: Sequence[str]) -> None:
        await reattach_opportunities(uc, session, survivor_id, merged_ids)

    return merge_subscription("pipeline-customer-merges", repoint)
