"""Receivables use cases."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from salesgrid_common.auth import Principal, scope_filter
from salesgrid_common.errors import ValidationFailed
from salesgrid_common.localtime import unit_calendar
from salesgrid_contracts import models
from salesgrid_contracts.domain import receivables
from salesgrid_contracts.domain.money import Money

from salesgrid_contracts.usecases._support import ContractsUseCasesBase, parse_day


COLLECTIBLE = ("signed", "active", "completed")


class ReceivablesMixin(ContractsUseCasesBase):
    """ContractsUseCases: receivables."""

    async def _receivable_rows(self, principal: Principal) -> list[receivables.InstalmentRow]:
        principal.require("payments:read")
        query = (
            select(models.InstalmentRow, models.Contract)
            .join(models.Contract, models.Contract.id == models.InstalmentRow.contract_id)
            .where(
                models.Contract.status.in_(COLLECTIBLE),
                scope_filter(principal, "payments:read", models.Contract.owner_id, models.Contract.org_path),
            )
        )
        async with self.sessions() as session:
            result = await session.execute(query)
            return [
                receivables.InstalmentRow(
                    contract_id=c.id,
                    customer_id=c.customer_id,
                    owner_id=c.owner_id,
                    instalment_seq=i.seq,
                    due_date=i.due_date,
                    amount=Money(i.amount, c.currency),
                    paid=Money(i.paid, c.currency),
                    org_unit_id=c.org_unit_id,
                )
                for i, c in result.all()
            ]

    @staticmethod
    def _group(group_by: str, *, optional: bool) -> receivables.GroupBy | None:
        if optional and not group_by:
            return None
        try:
            return receivables.GroupBy(group_by or "contract")
        except ValueError:
            raise ValidationFailed("must be contract, customer, owner or unit", "group_by") from None

    async def outstanding(self, principal: Principal, group_by: str) -> dict[str, dict[str, Money]]:
        grouping = self._group(group_by, optional=False)
        assert grouping is not None
        return receivables.outstanding_by(await self._receivable_rows(principal), grouping)

    async def ageing(
        self, principal: Principal, as_of: str, group_by: str
    ) -> tuple[date, list[receivables.AgeingLine]]:
        grouping = self._group(group_by, optional=True)
        if as_of:
            day = parse_day(as_of, "as_of")
        else:  # today on the caller's calendar
            async with self.sessions() as session:
                day = (await unit_calendar(session, principal.unit_id)).today(self.clock())
        return day, receivables.ageing_report(await self._receivable_rows(principal), day, grouping)
