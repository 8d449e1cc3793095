"""Contracts as export jobs (salesgrid_common.exports), with the list's scope."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid_common.auth.principal import Principal
from salesgrid_common.auth.scope_filters import scope_filter
from salesgrid_common.custom_fields.definitions import COLUMN_PREFIX
from salesgrid_common.custom_fields.records import filter_clauses
from salesgrid_common.custom_fields.values import custom_filters
from salesgrid_common.exports.jobs import Exporter
from salesgrid_contracts import models
from salesgrid_contracts.usecases import COLLECTIBLE
from salesgrid_contracts.usecases._support import CONTRACT_FIELDS

HEADER = (
    "id",
    "number",
    "customer_id",
    "owner_id",
    "org_path",
    "currency",
    "total",
    "status",
    "start_date",
    "end_date",
    "signed_on",
    "opportunity_id",
    "created_at",
)


async def contract_rows(
    session: AsyncSession, principal: Principal, filters: Mapping[str, str]
) -> AsyncIterator[Sequence[Any]]:
    c = models.Contract
    stmt = select(c).where(scope_filter(principal, "contracts:read", c.owner_id, c.org_path))
    for name in ("status", "customer_id", "owner_id"):
        if filters.get(name):
            stmt = stmt.where(getattr(c, name) == filters[name])
    stmt = stmt.where(
        *await filter_clauses(
            session, CONTRACT_FIELDS, c.id, custom_filters(filters), prefix=f"filters.{COLUMN_PREFIX}"
        )
    )
    async for r in await session.stream_scalars(stmt.order_by(c.id).execution_options(yield_per=1000)):
        yield (
            r.id,
            r.number,
            r.customer_id,
            r.owner_id,
            r.org_path,
            r.currency,
            r.total,
            r.status,
            r.start_date,
            r.end_date,
            r.signed_on,
            r.opportunity_id,
            r.created_at,
            r.custom_fields,
        )


RECEIVABLE_HEADER = (
    "contract_id",
    "contract_number",
    "customer_id",
    "owner_id",
    "org_path",
    "instalment_seq",
    "due_date",
    "amount",
    "paid",
    "outstanding",
    "currency",
)


async def receivable_rows(
    session: AsyncSession, principal: Principal, filters: Mapping[str, str]
) -> AsyncIterator[Sequence[Any]]:
    """Instalments of collectible contracts, as the receivables view sees them (payments:read)."""
    c, i = models.Contract, models.InstalmentRow
    stmt = (
        select(i, c)
        .join(c, c.id == i.contract_id)
        .where(c.status.in_(COLLECTIBLE), scope_filter(principal, "payments:read", c.owner_id, c.org_path))
    )
    for name in ("customer_id", "owner_id"):
        if filters.get(name):
            stmt = stmt.where(getattr(c, name) == filters[name])
    if filters.get("outstanding_only") == "true":
        stmt = stmt.where(i.paid < i.amount)
    result = await session.stream(stmt.order_by(c.id, i.seq).execution_options(yield_per=1000))
    async for instalment, contract in result:
        yield (
            contract.id,
            contract.number,
            contract.customer_id,
            contract.owner_id,
            contract.org_path,
            instalment.seq,
            instalment.due_date,
            instalment.amount,
            instalment.paid,
            instalment.amount - instalment.paid,
            contract.currency,
        )


EXPORTERS = [
    Exporter(
        entity="contracts",
        permission="contracts:export",
        header=HEADER,
        rows=contract_rows,
        filters=frozenset({"status", "customer_id", "owner_id"}),
        custom_fields=CONTRACT_FIELDS,
    ),
    Exporter(
        entity="receivables",
        permission="payments:read",
        header=RECEIVABLE_HEADER,
        rows=receivable_rows,
        filters=frozenset({"customer_id", "owner_id", "outstanding_only"}),
    ),
]
