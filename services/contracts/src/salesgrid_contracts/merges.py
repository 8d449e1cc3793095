"""Contracts' side of a customer merge: the merged customers' contracts (and with them their
payment plans, receipts, refunds and invoices, which hang off the contract) are re-attached to
the survivor; later requests naming a merged id are served for the survivor
(`salesgrid_common.customer_merges`)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid_common.customer_merges import merge_subscription
from salesgrid_common.events.consumer import Subscription
from salesgrid_contracts.models import Contract


async def reattach(session: AsyncSession, survivor_id: str, merged_ids: Sequence[str]) -> int:
    result = await session.execute(
        update(Contract).where(Contract.customer_id.in_(merged_ids)).values(customer_id=survivor_id)
    )
    return result.rowcount or 0


def customer_merges_subscription() -> Subscription:
    async def repoint(session: AsyncSession, survivor_id: str, merged_ids: Sequence[str]) -> None:
        await reattach(session, survivor_id, merged_ids)

    return merge_subscription("contracts-customer-merges", repoint)
