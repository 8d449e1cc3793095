"""The contact store: the one mapping between a `customer_contacts` row and the domain Contact
(`contact_from_row` / `contact_to_row`), loading a customer's contacts (one or many customers in
one query), inserts and saves."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid_customers import models
from salesgrid_customers.domain.contact import Contact

Row = models.Contact


def contact_from_row(row: Row) -> Contact:
    return Contact(
        id=row.id,
        full_name=row.full_name,
        title=row.title,
        phones=tuple(row.phones),
        email=row.email,
        primary=row.is_primary,
        customer_id=row.customer_id,
        created_at=row.created_at,
        custom_fields=dict(row.custom_fields or {}),
    )


def contact_to_row(contact: Contact) -> dict[str, Any]:
    return {
        "id": contact.id,
        "customer_id": contact.customer_id,
        "full_name": contact.full_name,
        "title": contact.title,
        "phones": list(contact.phones),
        "email": contact.email,
        "is_primary": contact.primary,
        "created_at": contact.created_at,
        "custom_fields": dict(contact.custom_fields),
    }


async def contact_of(session: AsyncSession, customer_id: str, contact_id: str) -> Contact | None:
    row = await session.scalar(select(Row).where(Row.id == contact_id, Row.customer_id == customer_id))
    return None if row is None else contact_from_row(row)


async def contacts_of(session: AsyncSession, customer_id: str) -> list[Contact]:
    """The customer's contacts in id order."""
    return list((await contacts_by_customer(session, [customer_id]))[customer_id])


async def contacts_by_customer(session: AsyncSession, customer_ids: Sequence[str]) -> dict[str, tuple[Contact, ...]]:
    """The contacts of several customers in one query, each in id order."""
    rows = (await session.scalars(select(Row).where(Row.customer_id.in_(customer_ids)).order_by(Row.id))).all()
    found: dict[str, list[Contact]] = {customer_id: [] for customer_id in customer_ids}
    for row in rows:
        found[row.customer_id].append(contact_from_row(row))
    return {customer_id: tuple(contacts) for customer_id, contacts in found.items()}


async def contact_count(session: AsyncSession, customer_id: str) -> int:
    return int(await session.scalar(select(func.count()).select_from(Row).where(Row.customer_id == customer_id)) or 0)


async def demote_primary(session: AsyncSession, customer_id: str) -> None:
    """No contact of the customer is primary (before another becomes it)."""
    await session.execute(update(Row).where(Row.customer_id == customer_id).values(is_primary=False))


async def insert_contact(session: AsyncSession, contact: Contact) -> None:
    session.add(Row(**contact_to_row(contact)))
    await session.flush()


async def save_contact(session: AsyncSession, before: Contact, after: Contact) -> Contact:
    """Store what changed (contacts carry no version: their customer's writers serialise)."""
    old, new = contact_to_row(before), contact_to_row(after)
    if changed := {name: value for name, value in new.items() if value != old[name]}:
        await session.execute(update(Row).where(Row.id == before.id).values(**changed))
    return after
