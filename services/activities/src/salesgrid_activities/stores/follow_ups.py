"""The follow-up store: the one mapping between a `follow_ups` row and the domain FollowUp
(`follow_up_from_row` / `follow_up_to_row`), its insert and its scoped pages."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid_common.auth.principal import Principal
from salesgrid_common.auth.scope_filters import scope_filter
from salesgrid_common.paging import Page, keyset_page
from salesgrid_activities.domain.follow_ups import FollowUp, FollowUpKind
from salesgrid_activities.models import FollowUpRow


def follow_up_from_row(row: FollowUpRow) -> FollowUp:
    return FollowUp(
        kind=FollowUpKind(row.kind),
        occurred_at=row.occurred_at,
        notes=row.notes,
        customer_id=row.customer_id,
        contact_id=row.contact_id,
        opportunity_id=row.opportunity_id,
        lead_id=row.lead_id,
        next_follow_up_on=row.next_follow_up_on,
        id=row.id,
        owner_id=row.owner_id,
        org_path=row.org_path,
        created_at=row.created_at,
        version=row.version,
    )


def follow_up_to_row(follow_up: FollowUp) -> dict[str, Any]:
    return {
        "id": follow_up.id,
        "owner_id": follow_up.owner_id,
        "org_path": follow_up.org_path,
        "kind": follow_up.kind.value,
        "occurred_at": follow_up.occurred_at,
        "notes": follow_up.notes,
        "customer_id": follow_up.customer_id,
        "contact_id": follow_up.contact_id,
        "opportunity_id": follow_up.opportunity_id,
        "lead_id": follow_up.lead_id,
        "next_follow_up_on": follow_up.next_follow_up_on,
        "created_at": follow_up.created_at,
        "version": follow_up.version,
    }


# Built once, bound at execution: a Core insert, not the ORM's unit of work (whose flush cost
# as much as the rest of the write together, for a row nobody reads back in the transaction).
_INSERT = insert(FollowUpRow.__table__)


async def insert_follow_up(session: AsyncSession, follow_up: FollowUp) -> None:
    """Written at once, in the session's transaction."""
    await session.execute(_INSERT, follow_up_to_row(follow_up))


async def follow_up_page(
    session: AsyncSession, query: Select[tuple[FollowUpRow]], page_size: int, page_token: str
) -> Page[FollowUp]:
    """A keyset page of the follow-ups `query` selects, oldest id first."""
    found = await keyset_page(session, query, FollowUpRow.id, page_size, page_token)
    return Page([follow_up_from_row(row) for row in found.items], found.next_token)


async def ids_between(session: AsyncSession, owner_id: str, start: datetime, end: datetime) -> list[str]:
    """The ids of the rep's follow-ups that occurred in [start, end)."""
    stmt = select(FollowUpRow.id).where(
        FollowUpRow.owner_id == owner_id, FollowUpRow.occurred_at >= start, FollowUpRow.occurred_at < end
    )
    return list((await session.scalars(stmt)).all())


async def page_in_scope(
    session: AsyncSession,
    principal: Principal,
    *,
    customer_id: str,
    lead_id: str,
    owner_id: str,
    page_size: int,
    page_token: str,
) -> Page[FollowUp]:
    """A page of the follow-ups in the caller's activities:read scope, filtered by the values given."""
    query = select(FollowUpRow).where(
        scope_filter(principal, "activities:read", FollowUpRow.owner_id, FollowUpRow.org_path)
    )
    for column, value in (
        (FollowUpRow.customer_id, customer_id),
        (FollowUpRow.lead_id, lead_id),
        (FollowUpRow.owner_id, owner_id),
    ):
        if value:
            query = query.where(column == value)
    return await follow_up_page(session, query, page_size, page_token)
