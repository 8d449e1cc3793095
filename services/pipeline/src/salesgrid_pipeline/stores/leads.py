"""The lead store: rows of `leads` <-> the domain's Lead; loading in scope (the lead's owner scope,
or the pool of the caller's unit and the units above it) and versioned saves."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from decimal import Decimal

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid_common import orgpaths
from salesgrid_common.auth.principal import Principal
from salesgrid_common.auth.scope_filters import scope_filter
from salesgrid_common.custom_fields.records import filter_clauses
from salesgrid_common.errors import NotFound, PermissionDenied
from salesgrid_common.paging import keyset_page
from salesgrid_pipeline.domain.leads import Lead, LeadStatus
from salesgrid_pipeline.domain.money import Money
from salesgrid_pipeline.models import Lead as Row

FIELDS = "leads"  # the custom-field entity


def from_row(row: Row) -> Lead:
    amount = Money(Decimal(row.estimated_amount), row.estimated_currency or "") if row.estimated_amount else None
    return Lead(
        lead_id=row.id,
        company_name=row.company_name,
        created_at=row.created_at,
        status=LeadStatus(row.status),
        contact_name=row.contact_name,
        phone=row.phone,
        email=row.email,
        region=row.region,
        industry=row.industry,
        source=row.source,
        estimated_amount=amount,
        owner_id=row.owner_id or None,
        assigned_at=row.assigned_at,
        last_followed_up_at=row.last_followed_up_at,
        closed_reason=row.closed_reason or None,
        closed_at=row.closed_at,
        org_path=row.org_path,
        created_by=row.created_by,
        version=row.version,
        custom_fields=dict(row.custom_fields or {}),
    )


def to_row(lead: Lead, row: Row) -> None:
    amount = lead.estimated_amount
    row.id = lead.lead_id
    row.company_name = lead.company_name
    row.contact_name = lead.contact_name
    row.phone = lead.phone
    row.email = lead.email
    row.region = lead.region
    row.industry = lead.industry
    row.source = lead.source
    row.estimated_amount = str(amount.amount) if amount else None
    row.estimated_currency = amount.currency if amount else None
    row.status = lead.status.value
    row.owner_id = lead.owner_id or ""
    row.org_path = lead.org_path
    row.assigned_at = lead.assigned_at
    row.last_followed_up_at = lead.last_followed_up_at
    row.closed_reason = lead.closed_reason or ""
    row.closed_at = lead.closed_at
    row.created_at = lead.created_at
    row.created_by = lead.created_by
    row.version = lead.version
    row.custom_fields = dict(lead.custom_fields)


def insert(session: AsyncSession, lead: Lead) -> None:
    row = Row()
    to_row(lead, row)
    session.add(row)


def pool_visible(principal: Principal, status: str, org_path: str) -> bool:
    """Everyone sees the pool of his own unit and of the units above it (managers also see,
    through their scope, the pools below them)."""
    return status == LeadStatus.POOL.value and org_path in orgpaths.ancestor_paths(principal.org_path)


async def load_in_scope(session: AsyncSession, principal: Principal, lead_id: str, permission: str) -> Lead:
    principal.require(permission)
    row = await session.get(Row, lead_id)
    if row is None:
        raise NotFound(f"lead {lead_id!r} does not exist", "id")
    if not (
        pool_visible(principal, row.status, row.org_path) or principal.can_see(permission, row.owner_id, row.org_path)
    ):
        raise PermissionDenied("this lead is outside your scope")
    return from_row(row)


async def load(session: AsyncSession, lead_id: str) -> Lead | None:
    """Without a scope check: for the service's own consumers."""
    row = await session.get(Row, lead_id)
    return from_row(row) if row is not None else None


async def save(session: AsyncSession, lead: Lead) -> Lead:
    """The lead as its next version (the caller loaded it in this transaction)."""
    row = await session.get(Row, lead.lead_id)  # the identity map's row once loaded
    if row is None:
        raise NotFound(f"lead {lead.lead_id!r} does not exist", "id")
    saved = replace(lead, version=row.version + 1)
    to_row(saved, row)
    return saved


async def page_in_scope(
    session: AsyncSession,
    principal: Principal,
    permission: str,
    *,
    status: str,
    owner_id: str,
    custom_fields: Mapping[str, str],
    page_size: int,
    after: str,
) -> tuple[list[Lead], str]:
    """One page of the leads the caller sees (his scope, and the pools above him), in one query."""
    visible = or_(
        scope_filter(principal, permission, Row.owner_id, Row.org_path),
        and_(Row.status == LeadStatus.POOL.value, Row.org_path.in_(orgpaths.ancestor_paths(principal.org_path))),
    )
    stmt = select(Row).where(visible)
    if status:
        stmt = stmt.where(Row.status == status)
    if owner_id:
        stmt = stmt.where(Row.owner_id == owner_id)
    stmt = stmt.where(*await filter_clauses(session, FIELDS, Row.id, custom_fields))
    found = await keyset_page(session, stmt, Row.id, page_size, after, newest_first=False)
    return [from_row(row) for row in found.items], found.next_token


async def assigned(session: AsyncSession) -> list[Lead]:
    """Every lead an owner holds (the reclaim check's input), in one query."""
    stmt = select(Row).where(Row.status == LeadStatus.ASSIGNED.value)
    return [from_row(row) for row in (await session.scalars(stmt)).all()]
