"""Follow-ups as export jobs (salesgrid_common.exports), with the list's scope."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid_common.auth.principal import Principal
from salesgrid_common.auth.scope_filters import scope_filter
from salesgrid_common.exports.jobs import Exporter
from salesgrid_activities.models import FollowUpRow

HEADER = (
    "id",
    "kind",
    "occurred_at",
    "notes",
    "owner_id",
    "org_path",
    "customer_id",
    "contact_id",
    "opportunity_id",
    "lead_id",
    "next_follow_up_on",
    "created_at",
)


async def follow_up_rows(
    session: AsyncSession, principal: Principal, filters: Mapping[str, str]
) -> AsyncIterator[Sequence[Any]]:
    stmt = select(FollowUpRow).where(
        scope_filter(principal, "activities:read", FollowUpRow.owner_id, FollowUpRow.org_path)
    )
    for name in ("customer_id", "lead_id", "owner_id", "kind"):
        if filters.get(name):
            stmt = stmt.where(getattr(FollowUpRow, name) == filters[name])
    async for r in await session.stream_scalars(stmt.order_by(FollowUpRow.id).execution_options(yield_per=1000)):
        yield (
            r.id,
            r.kind,
            r.occurred_at,
            r.notes,
            r.owner_id,
            r.org_path,
            r.customer_id,
            r.contact_id,
            r.opportunity_id,
            r.lead_id,
            r.next_follow_up_on,
            r.created_at,
        )


EXPORTERS = [
    Exporter(
        entity="follow_ups",
        permission="activities:read",
        header=HEADER,
        rows=follow_up_rows,
        filters=frozenset({"customer_id", "lead_id", "owner_id", "kind"}),
    )
]
