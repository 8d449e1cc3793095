"""Contacts use cases."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid.events.v1.customers_events_pb2 import CustomerContactState
from salesgrid_common.auth import Principal
from salesgrid_common.custom_fields.registry import apply_values
from salesgrid_common.custom_fields.structs import struct_of
from salesgrid_common.ids import new_id
from salesgrid_customers import models
from salesgrid_customers.domain.customer import MAX_CONTACTS, Customer, make_contact
from salesgrid_customers.domain.errors import FailedPrecondition, NotFound

from salesgrid_customers.usecases._support import CONTACT_FIELDS, CustomersUseCasesBase


class ContactsMixin(CustomersUseCasesBase):
    """CustomersUseCases: contacts."""

    async def _emit_contact(
        self, session: AsyncSession, verb: str, row: Customer, principal: Principal, contact: models.Contact
    ) -> None:
        await self._emit(
            session,
            verb,
            row,
            principal,
            CustomerContactState(
                contact_id=contact.id,
                customer_id=row.id,
                full_name=contact.full_name,
                title=contact.title or "",
                phones=contact.phones,
                email=contact.email or "",
                primary=contact.is_primary,
                custom_fields=struct_of(contact.custom_fields),
            ),
        )

    async def add_contact(
        self,
        principal: Principal,
        customer_id: str,
        *,
        full_name: str,
        title: str = "",
        phones: Sequence[str] = (),
        email: str = "",
        primary: bool = False,
        custom_fields: Mapping[str, Any] | None = None,
    ) -> models.Contact:
        now = self.clock()
        async with self.sessions() as session, session.begin():
            row = await self._writable(session, principal, customer_id)
            contact = make_contact(
                new_id(), full_name, title=title or None, phones=phones, email=email or None, primary=primary
            )
            count = (
                await session.scalar(
                    select(func.count()).select_from(models.Contact).where(models.Contact.customer_id == row.id)
                )
                or 0
            )
            if count >= MAX_CONTACTS:
                raise FailedPrecondition(f"at most {MAX_CONTACTS} contacts per customer", "customer_id")
            if contact.primary:  # the new primary contact demotes the previous one
                await session.execute(
                    update(models.Contact).where(models.Contact.customer_id == row.id).values(is_primary=False)
                )
            stored = models.Contact(
                id=contact.id,
                customer_id=row.id,
                full_name=contact.full_name,
                title=contact.title,
                phones=list(contact.phones),
                email=contact.email,
                is_primary=contact.primary,
                created_at=now,
                custom_fields=await apply_values(session, CONTACT_FIELDS, contact.id, {}, custom_fields, creating=True),
            )
            session.add(stored)
            await session.flush()
            await self._emit_contact(session, "contact_created", row, principal, stored)
            return stored

    async def list_contacts(self, principal: Principal, customer_id: str) -> list[models.Contact]:
        async with self.reader() as session:
            row = await self._readable(session, principal, customer_id)
            return list(
                (
                    await session.scalars(
                        select(models.Contact).where(models.Contact.customer_id == row.id).order_by(models.Contact.id)
                    )
                ).all()
            )

    async def update_contact(
        self,
        principal: Principal,
        customer_id: str,
        contact_id: str,
        *,
        full_name: str | None = None,
        title: str | None = None,
        phones: Sequence[str] | None = None,
        email: str | None = None,
        primary: bool | None = None,
        custom_fields: Mapping[str, Any] | None = None,
    ) -> models.Contact:
        async with self.sessions() as session, session.begin():
            row = await self._writable(session, principal, customer_id)
            stored = await session.scalar(
                select(models.Contact).where(models.Contact.id == contact_id, models.Contact.customer_id == row.id)
            )
            if stored is None:
                raise NotFound(f"contact {contact_id} of customer {customer_id} does not exist", "contact_id")
            contact = make_contact(
                stored.id,
                stored.full_name if full_name is None else full_name,
                title=stored.title if title is None else title or None,
                phones=stored.phones if phones is None else phones,
                email=stored.email if email is None else email or None,
                primary=stored.is_primary if primary is None else primary,
            )
            if contact.primary and not stored.is_primary:  # the new primary contact demotes the previous one
                await session.execute(
                    update(models.Contact).where(models.Contact.customer_id == row.id).values(is_primary=False)
                )
            stored.full_name, stored.title, stored.phones = contact.full_name, contact.title, list(contact.phones)
            stored.email, stored.is_primary = contact.email, contact.primary
            if custom_fields:
                stored.custom_fields = await apply_values(
                    session, CONTACT_FIELDS, stored.id, stored.custom_fields, custom_fields
                )
            await session.flush()
            await self._emit_contact(session, "contact_updated", row, principal, stored)
            return stored
