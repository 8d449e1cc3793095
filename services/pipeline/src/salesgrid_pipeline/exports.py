"""Leads and opportunities as export jobs (salesgrid_common.exports), with the lists' scope."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid_common.auth.principal import Principal
from salesgrid_common.auth.scope_filters import scope_filter
from salesgrid_common.custom_fields.definitions import COLUMN_PREFIX
from salesgrid_common.custom_fields.values import custom_filters
from salesgrid_common.custom_fields.records import filter_clauses
from salesgrid_common.exports.jobs import Exporter
from salesgrid_pipeline.models import Lead, Opportunity
from salesgrid_pipeline.usecases import LEAD_READ, OPP_READ, _ancestor_paths
from salesgrid_pipeline.usecases._support import LEAD_FIELDS, OPPORTUNITY_FIELDS

LEAD_HEADER = (
    "id",
    "company_name",
    "contact_name",
    "phone",
    "email",
    "region",
    "industry",
    "source",
    "estimated_amount",
    "estimated_currency",
    "status",
    "owner_id",
    "org_path",
    "created_at",
)
OPPORTUNITY_HEADER = (
    "id",
    "customer_id",
    "name",
    "owner_id",
    "org_path",
    "amount",
    "currency",
    "expected_close_date",
    "stage",
    "status",
    "created_at",
    "updated_at",
)


async def lead_rows(
    session: AsyncSession, principal: Principal, filters: Mapping[str, str]
) -> AsyncIterator[Sequence[Any]]:
    stmt = select(Lead).where(
        or_(
            scope_filter(principal, LEAD_READ, Lead.owner_id, Lead.org_path),
            and_(Lead.status == "pool", Lead.org_path.in_(_ancestor_paths(principal.org_path))),
        )
    )
    if filters.get("status"):
        stmt = stmt.where(Lead.status == filters["status"])
    if filters.get("owner_id"):
        stmt = stmt.where(Lead.owner_id == filters["owner_id"])
    stmt = stmt.where(
        *await filter_clauses(session, LEAD_FIELDS, Lead.id, custom_filters(filters), prefix=f"filters.{COLUMN_PREFIX}")
    )
    async for r in await session.stream_scalars(stmt.order_by(Lead.id).execution_options(yield_per=1000)):
        yield (
            r.id,
            r.company_name,
            r.contact_name,
            r.phone,
            r.email,
            r.region,
            r.industry,
            r.source,
            r.estimated_amount,
            r.estimated_currency,
            r.status,
            r.owner_id,
            r.org_path,
            r.created_at,
            r.custom_fields,
        )


async def opportunity_rows(
    session: AsyncSession, principal: Principal, filters: Mapping[str, str]
) -> AsyncIterator[Sequence[Any]]:
    stmt = select(Opportunity).where(scope_filter(principal, OPP_READ, Opportunity.owner_id, Opportunity.org_path))
    for name in ("status", "stage", "owner_id", "customer_id"):
        if filters.get(name):
            stmt = stmt.where(getattr(Opportunity, name) == filters[name])
    stmt = stmt.where(
        *await filter_clauses(
            session, OPPORTUNITY_FIELDS, Opportunity.id, custom_filters(filters), prefix=f"filters.{COLUMN_PREFIX}"
        )
    )
    async for r in await session.stream_scalars(stmt.order_by(Opportunity.id).execution_options(yield_per=1000)):
        yield (
            r.id,
            r.customer_id,
            r.name,
            r.owner_id,
            r.org_path,
            r.amount,
            r.currency,
            r.expected_close_date,
            r.stage,
            r.status,
            r.created_at,
            r.updated_at,
            r.custom_fields,
        )


EXPORTERS = [
    Exporter(
        entity="leads",
        permission="leads:export",
        header=LEAD_HEADER,
        rows=lead_rows,
        filters=frozenset({"status", "owner_id"}),
        custom_fields=LEAD_FIELDS,
    ),
    Exporter(
        entity="opportunities",
        permission="opportunities:export",
        header=OPPORTUNITY_HEADER,
        rows=opportunity_rows,
        filters=frozenset({"status", "stage", "owner_id", "customer_id"}),
        custom_fields=OPPORTUNITY_FIELDS,
    ),
]
