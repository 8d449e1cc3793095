"""Sharing use cases."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid_common.auth.principal import Principal
from salesgrid_common.directory import get_user
from salesgrid_customers import customer_events
from salesgrid_customers.domain import sharing
from salesgrid_customers.domain.customer import Customer
from salesgrid_customers.domain.errors import ValidationFailed
from salesgrid_customers.stores.shares import put_share, remove_share, shares_of

from salesgrid_customers.usecases._support import CustomersUseCasesBase, actor_of


class SharingMixin(CustomersUseCasesBase):
    """CustomersUseCases: sharing."""

    async def share_customer(
        self, principal: Principal, customer_id: str, user_id: str, role: str
    ) -> tuple[sharing.Share, ...]:
        principal.require("customers:share")
        async with self.sessions() as session, session.begin():
            row = await self._readable(session, principal, customer_id)
            return await self.apply_share(session, principal, row, user_id, role)

    async def apply_share(
        self, session: AsyncSession, principal: Principal, row: Customer, user_id: str, role: str
    ) -> tuple[sharing.Share, ...]:
        """The sharing rules and their effects, in the caller's transaction (also behind an
        accepted share request)."""
        principal.require("customers:share")
        shares = sharing.add_share(
            await shares_of(session, row.id),
            owner_id=row.owner_id,
            owner_unit_path=row.owner_unit_path,
            actor=actor_of(principal),
            user_id=user_id,
            role=role,
        )
        sharee = await get_user(session, user_id)
        if sharee is None or not sharee.active:
            raise ValidationFailed(f"unknown user {user_id}", "user_id")
        added = next(s for s in shares if s.user_id == user_id)
        await put_share(session, row.id, added, self.clock())
        await self._emit(session, "shared", row, principal, customer_events.shared(row, added))
        return shares

    async def unshare_customer(self, principal: Principal, customer_id: str, user_id: str) -> tuple[sharing.Share, ...]:
        principal.require("customers:share")
        async with self.sessions() as session, session.begin():
            row = await self._readable(session, principal, customer_id)
            shares = sharing.remove_share(
                await shares_of(session, row.id),
                owner_id=row.owner_id,
                owner_unit_path=row.owner_unit_path,
                actor=actor_of(principal),
                user_id=user_id,
            )
            await remove_share(session, row.id, user_id)
            await self._emit(session, "unshared", row, principal, customer_events.unshared(row, user_id))
            return shares

    async def list_shares(self, principal: Principal, customer_id: str) -> tuple[sharing.Share, ...]:
        async with self.reader() as session:
            row = await self._readable(session, principal, customer_id)
            return await shares_of(session, row.id)
