"""Contacts use cases."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid_common.auth.principal import Principal
from salesgrid_common.custom_fields.records import apply_values
from salesgrid_common.ids import new_id
from salesgrid_customers import customer_events
from salesgrid_customers.domain.customer import MAX_CONTACTS, Contact, Customer, make_contact
from salesgrid_customers.stores.contacts import (
    contact_count,
    contact_of,
    contacts_of,
    demote_primary,
    insert_contact,
    save_contact,
)
from salesgrid_customers.domain.errors import FailedPrecondition, NotFound

from salesgrid_customers.usecases._support import CONTACT_FIELDS, CustomersUseCasesBase


class ContactsMixin(CustomersUseCasesBase):
    """CustomersUseCases: contacts."""

    async def _emit_contact(
        self, session: AsyncSession, verb: str, customer: Customer, principal: Principal, contact: Contact
    ) -> None:
        await self._emit(session, verb, customer, principal, customer_events.contact_state(contact))

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
    ) -> Contact:
        now = self.clock()
        async with self.sessions() as session, session.begin():
            customer = await self._writable(session, principal, customer_id)
            checked = make_contact(
                new_id(), full_name, title=title or None, phones=phones, email=email or None, primary=primary
            )
            if await contact_count(session, customer.id) >= MAX_CONTACTS:
                raise FailedPrecondition(f"at most {MAX_CONTACTS} contacts per customer", "customer_id")
            if checked.primary:  # the new primary contact demotes the previous one
                await demote_primary(session, customer.id)
            values = await apply_values(session, CONTACT_FIELDS, checked.id, {}, custom_fields, creating=True)
            contact = replace(checked, customer_id=customer.id, created_at=now, custom_fields=values)
            await insert_contact(session, contact)
            await self._emit_contact(session, "contact_created", customer, principal, contact)
            return contact

    async def list_contacts(self, principal: Principal, customer_id: str) -> list[Contact]:
        async with self.reader() as session:
            customer = await self._readable(session, principal, customer_id)
            return await contacts_of(session, customer.id)

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
    ) -> Contact:
        async with self.sessions() as session, session.begin():
            customer = await self._writable(session, principal, customer_id)
            current = await contact_of(session, customer.id, contact_id)
            if current is None:
                raise NotFound(f"contact {contact_id} of customer {customer_id} does not exist", "contact_id")
            checked = make_contact(
                current.id,
                current.full_name if full_name is None else full_name,
                title=current.title if title is None else title or None,
                phones=current.phones if phones is None else phones,
                email=current.email if email is None else email or None,
                primary=current.primary if primary is None else primary,
            )
            if checked.primary and not current.primary:  # the new primary contact demotes the previous one
                await demote_primary(session, customer.id)
            updated = replace(
                current,
                full_name=checked.full_name,
                title=checked.title,
                phones=checked.phones,
                email=checked.email,
                primary=checked.primary,
            )
            if custom_fields:
                values = await apply_values(session, CONTACT_FIELDS, current.id, current.custom_fields, custom_fields)
                updated = replace(updated, custom_fields=values)
            contact = await save_contact(session, current, updated)
            await self._emit_contact(session, "contact_updated", customer, principal, contact)
            return contact
