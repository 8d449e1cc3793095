"""Dedup use cases."""

from __future__ import annotations

from salesgrid_common.auth.principal import Principal
from salesgrid_customers.domain.customer import make_customer
from salesgrid_customers.domain.dedup import DuplicateReport

from salesgrid_customers.usecases._support import CustomersUseCasesBase


class DedupMixin(CustomersUseCasesBase):
    """CustomersUseCases: dedup."""

    async def check_duplicates(
        self, principal: Principal, legal_name: str, credit_code: str = "", exclude_customer_id: str = ""
    ) -> DuplicateReport:
        # Matches name owners outside the caller's scope on purpose: the rep asks them to share.
        principal.require("customers:read")
        probe = make_customer(
            id="probe", legal_name=legal_name, created_at=self.clock(), owner_id=None, credit_code=credit_code or None
        )
        async with self.reader() as session:
            return await self._duplicates(
                session, probe.normalised_name, probe.credit_code, exclude_customer_id or None
            )
