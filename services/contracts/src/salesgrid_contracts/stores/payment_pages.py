"""Pages of a contract's receipts, refunds or invoices within the caller's payments:read scope."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid_common.auth.principal import Principal
from salesgrid_common.auth.scope_filters import scope_filter
from salesgrid_common.paging import Page, keyset_page
from salesgrid_contracts import models


async def page_in_scope(
    session: AsyncSession,
    principal: Principal,
    table: type[models.ReceiptRow | models.RefundRow | models.InvoiceRow],
    contract_id: str,
    page_size: int,
    cursor: str,
) -> Page[Any]:
    """Rows of `table` in the caller's payments scope (of one contract, when given), in one query."""
    principal.require("payments:read")
    query = select(table).where(scope_filter(principal, "payments:read", table.owner_id, table.org_path))
    if contract_id:
        query = query.where(table.contract_id == contract_id)
    return await keyset_page(session, query, table.id, page_size, cursor)
