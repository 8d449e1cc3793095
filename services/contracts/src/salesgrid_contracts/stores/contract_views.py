"""Loading contracts as ContractViews: a contract's row with its lines, the current round's
approval steps and a proposed amendment; one contract, a page of them or a scoped page, in a fixed
number of queries whatever the page size."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid_common.auth.principal import Principal
from salesgrid_common.auth.scope_filters import scope_filter
from salesgrid_common.custom_fields.records import filter_clauses
from salesgrid_common.paging import Page, keyset_page
from salesgrid_contracts import models

FIELDS = "contracts"  # the custom-field entity


@dataclass(frozen=True)
class ContractView:
    row: models.Contract
    lines: list[models.ContractLine]
    steps: list[models.ApprovalStepRow]
    proposed: models.ContractRevision | None = None


async def view(session: AsyncSession, row: models.Contract) -> ContractView:
    lines = list(
        await session.scalars(
            select(models.ContractLine)
            .where(models.ContractLine.contract_id == row.id)
            .order_by(models.ContractLine.position)
        )
    )
    steps = list(
        await session.scalars(
            select(models.ApprovalStepRow)
            .where(models.ApprovalStepRow.contract_id == row.id, models.ApprovalStepRow.round == row.approval_round)
            .order_by(models.ApprovalStepRow.step_order)
        )
    )
    proposed = None
    if row.approval_kind == "amendment":
        proposed = await session.get(models.ContractRevision, (row.id, row.revision + 1))
    return ContractView(row, lines, steps, proposed)


async def views(session: AsyncSession, rows: Sequence[models.Contract]) -> list[ContractView]:
    """`view` for a page of contracts in three queries, whatever the page size (lines, the
    current round's approval steps, the proposed amendments), not two or three per row."""
    ids = [row.id for row in rows]
    if not ids:
        return []
    lines: dict[str, list[models.ContractLine]] = {contract_id: [] for contract_id in ids}
    for line in await session.scalars(
        select(models.ContractLine)
        .where(models.ContractLine.contract_id.in_(ids))
        .order_by(models.ContractLine.position)
    ):
        lines[line.contract_id].append(line)
    rounds = {row.id: row.approval_round for row in rows}
    steps: dict[str, list[models.ApprovalStepRow]] = {contract_id: [] for contract_id in ids}
    for step in await session.scalars(
        select(models.ApprovalStepRow)
        .where(models.ApprovalStepRow.contract_id.in_(ids))
        .order_by(models.ApprovalStepRow.step_order)
    ):
        if step.round == rounds[step.contract_id]:
            steps[step.contract_id].append(step)
    wanted = {(row.id, row.revision + 1) for row in rows if row.approval_kind == "amendment"}
    proposed: dict[str, models.ContractRevision] = {}
    if wanted:
        for revision in await session.scalars(
            select(models.ContractRevision).where(
                models.ContractRevision.contract_id.in_([contract_id for contract_id, _ in wanted])
            )
        ):
            if (revision.contract_id, revision.revision) in wanted:
                proposed[revision.contract_id] = revision
    return [ContractView(row, lines[row.id], steps[row.id], proposed.get(row.id)) for row in rows]


async def page_in_scope(
    session: AsyncSession,
    principal: Principal,
    *,
    status: str,
    customer_id: str,
    custom_fields: Mapping[str, str],
    page_size: int,
    cursor: str,
) -> Page[ContractView]:
    """A page of the contracts the caller may read, with their lines, steps and proposals, in a
    fixed number of queries (blank filters are ignored)."""
    stmt = select(models.Contract).where(
        scope_filter(principal, "contracts:read", models.Contract.owner_id, models.Contract.org_path)
    )
    if status:
        stmt = stmt.where(models.Contract.status == status)
    if customer_id:
        stmt = stmt.where(models.Contract.customer_id == customer_id)
    stmt = stmt.where(*await filter_clauses(session, FIELDS, models.Contract.id, custom_fields))
    page = await keyset_page(session, stmt, models.Contract.id, page_size, cursor)
    return Page(await views(session, page.items), page.next_token)
