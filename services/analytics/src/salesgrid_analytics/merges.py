"""Analytics' side of a customer merge: activity facts (follow-ups, check-ins) and paid expense
lines of the merged customers are re-attached to the survivor, and facts arriving later under a merged id are stored
under the survivor (`salesgrid_common.customer_merges`). A customer's creation stays the record
of who created which record when (it counts as that rep's new customer in its period)."""

from __future__ import annotations

import json
from collections.abc import Sequence

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid_analytics.models import StoredFact
from salesgrid_common.customer_merges import merge_subscription
from salesgrid_common.events.consumer import Subscription

# Facts about a customer's activity, re-attached on a merge; paid expense claims name a customer per line.
ACTIVITY_KINDS = ("follow_up_logged", "check_in_recorded")
EXPENSE_KIND = "expense_paid"


async def reattach_facts(session: AsyncSession, survivor_id: str, merged_ids: Sequence[str]) -> int:
    """Point the activity facts of `merged_ids` at `survivor_id`; the number changed."""
    needles = [json.dumps({"customer_id": i})[1:-1] for i in merged_ids]  # stored JSON has sorted keys
    rows = (
        await session.scalars(
            select(StoredFact).where(
                StoredFact.kind.in_((*ACTIVITY_KINDS, EXPENSE_KIND)),
                or_(*(StoredFact.data.contains(n, autoescape=True) for n in needles)),
            )
        )
    ).all()
    changed = 0
    for row in rows:
        data = json.loads(row.data)
        holders = data.get("lines", []) if row.kind == EXPENSE_KIND else [data]
        moved = [h for h in holders if h.get("customer_id") in merged_ids]
        for holder in moved:
            holder["customer_id"] = survivor_id
        if moved:
            row.data = json.dumps(data, sort_keys=True)
            changed += 1
    return changed


def customer_merges_subscription() -> Subscription:
    async def repoint(session: AsyncSession, survivor_id: str, merged_ids: Sequence[str]) -> None:
        await reattach_facts(session, survivor_id, merged_ids)

    return merge_subscription("analytics-customer-merges", repoint)
