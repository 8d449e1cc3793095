"""Overview use cases."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from salesgrid_common.auth.principal import Principal
from salesgrid_customers.domain import overview
from salesgrid_customers.domain.customer import Contact, Customer
from salesgrid_customers.stores.contacts import contacts_of
from salesgrid_customers.stores.facts import customer_facts

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
            facts = await customer_facts(session, row.id)
        return Overview(
            row,
            contacts,
            facts.follow_up_count,
            facts.last_follow_up_at,
            sum(1 for status, _, _ in facts.opportunities if status == overview.OPEN_OPPORTUNITY),
            len(facts.contracts),
            overview.summarise(facts.opportunities, facts.contracts, facts.money),
        )
