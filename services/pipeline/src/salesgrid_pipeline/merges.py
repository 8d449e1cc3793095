"""Pipeline's side of a customer merge: the merged customers' opportunities are re-attached to
the survivor (each one announced as `opportunity.updated`, so replicas follow), and later requests
naming a merged id are served for the survivor (`salesgrid_common.customer_merges`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid_common.customer_merges import merge_subscription
from salesgrid_common.events.consumer import Subscription
from salesgrid_pipeline.domain._checks import normalise_key
from salesgrid_pipeline.domain.merge import name_on_survivor
from salesgrid_pipeline.stores import opportunities as opportunity_store
from salesgrid_pipeline.usecases import PipelineUseCases


async def reattach_opportunities(
    uc: PipelineUseCases, session: AsyncSession, survivor_id: str, merged_ids: Sequence[str]
) -> int:
    """Move every opportunity of `merged_ids` to `survivor_id`; the number moved (0 when re-applied)."""

    async def models() -> opportunity_store.ModelOf:
        await uc._load_models(session)
        return uc.model_of

    moving = await opportunity_store.of_customers(session, merged_ids, models)
    if not moving:
        return 0
    taken = await opportunity_store.name_keys_of(session, survivor_id)
    now = uc.clock()
    for opportunity in moving:
        name = name_on_survivor(opportunity.name, taken)
        taken.add(normalise_key(name))
        moved = await opportunity_store.save(session, replace(opportunity, name=name, customer_id=survivor_id), now)
        await session.flush()  # one row at a time: the (customer, name) constraint sees each move
        # acted by the service itself (its system actor), on customers' event
        await uc._emit(
            session,
            "opportunity.updated",
            uc._opportunity_event(moved),
            moved.opportunity_id,
            moved.org_path,
            None,
            now,
        )
    return len(moving)


def customer_merges_subscription(uc: PipelineUseCases) -> Subscription:
    async def repoint(session: AsyncSession, survivor_id: str, merged_ids: Sequence[str]) -> None:
        await reattach_opportunities(uc, session, survivor_id, merged_ids)

    return merge_subscription("pipeline-customer-merges", repoint)
