"""Receivables use cases: what signed, active and completed contracts still await, by group, and
its ageing as of a day."""

from __future__ import annotations

from datetime import date


from salesgrid_common.auth.principal import Principal
from salesgrid_common.errors import ValidationFailed
from salesgrid_common.localtime import unit_calendar
from salesgrid_contracts.domain import receivables
from salesgrid_contracts.domain.money import Money

from salesgrid_contracts.stores import payments as payment_store
from salesgrid_contracts.usecases._support import ContractsUseCasesBase, parse_day


COLLECTIBLE = ("signed", "active", "completed")


class ReceivablesMixin(ContractsUseCasesBase):
    """ContractsUseCases: receivables."""

    async def _receivable_rows(self, principal: Principal) -> list[receivables.InstalmentRow]:
        principal.require("payments:read")
        async with self.sessions() as session:
            return await payment_store.receivable_instalments(session, principal, COLLECTIBLE)

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
