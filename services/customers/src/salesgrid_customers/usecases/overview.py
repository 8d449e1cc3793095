"""Overview use cases."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from salesgrid_common.auth import Principal
from salesgrid_customers import models
from salesgrid_customers.domain import overview
from salesgrid_customers.domain.customer import Contact, Customer
from salesgrid_customers.stores.contacts import contacts_of

from salesgrid_customers.usecases._support import CustomersUseCasesBase


@dataclass(frozen=True)
class Overview:
    customer: Customer
    contacts: list[Contact]
    follow_up_count: int
    last_follow_up_at: datetime | None
    open_opportunities: int
    contracts: int
    money: overview.MoneySummary


class OverviewMixin(CustomersUseCasesBase):
    """CustomersUseCases: overview."""

    async def overview(self, principal: Principal, customer_id: str) -> Overview:
        async with self.reader() as session:
            row = await self._readable(session, principal, customer_id)
            contacts = await contacts_of(session, row.id)
            count, last = (
                await session.execute(
                    select(
                        func.coalesce(func.sum(models.RepActivity.follow_up_count), 0),
                        func.max(models.RepActivity.last_follow_up_at),
                    ).where(models.RepActivity.customer_id == row.id)
                )
            ).one()
            opportunities = (
                await session.scalars(
                    select(models.OpportunityFact).where(models.OpportunityFact.customer_id == row.id)
                )
            ).all()
            contracts = (
                await session.scalars(select(models.ContractFact).where(models.ContractFact.customer_id == row.id))
            ).all()
            money = (
                await session.scalars(select(models.MoneyFact).where(models.MoneyFact.customer_id == row.id))
            ).all()
        return Overview(
            row,
            contacts,
            int(count),
            last,
            sum(1 for o in opportunities if o.status == overview.OPEN_OPPORTUNITY),
            len(contracts),
            overview.summarise(
                ((o.status, o.amount, o.currency) for o in opportunities),
                ((c.status, c.total, c.currency) for c in contracts),
                ((m.amount, m.currency) for m in money),
            ),
        )
