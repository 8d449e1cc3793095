"""Customers as export jobs (salesgrid_common.exports): the same scope as the list -- what the
creator may read, shared-with included -- streamed from the database in id order."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid_common.auth.principal import Principal
from salesgrid_common.auth.scope_filters import scope_filter
from salesgrid_common.custom_fields.definitions import COLUMN_PREFIX
from salesgrid_common.custom_fields.values import custom_filters
from salesgrid_common.custom_fields.records import filter_clauses
from salesgrid_common.errors import ValidationFailed
from salesgrid_common.exports.jobs import Exporter
from salesgrid_customers import models
from salesgrid_customers.domain.customer import Tier
from salesgrid_customers.usecases import shared_with
from salesgrid_customers.usecases._support import CONTACT_FIELDS, CUSTOMER_FIELDS

HEADER = (
    "id",
    "legal_name",
    "credit_code",
    "tier",
    "industry",
    "tags",
    "owner_id",
    "org_path",
    "address",
    "created_at",
    "updated_at",
)


def _validate(filters: Mapping[str, str]) -> None:
    if "tier" in filters and filters["tier"] not in {t.value for t in Tier}:
        raise ValidationFailed(f"must be one of {', '.join(t.value for t in Tier)}", "filters.tier")
    if "updated_since" in filters:
        try:
            datetime.fromisoformat(filters["updated_since"].replace("Z", "+00:00"))
        except ValueError:
            raise ValidationFailed("must be an ISO 8601 time", "filters.updated_since") from None


async def customer_rows(
    session: AsyncSession, principal: Principal, filters: Mapping[str, str]
) -> AsyncIterator[Sequence[Any]]:
    stmt = select(models.Customer).where(
        models.Customer.active,
        scope_filter(
            principal, "customers:read", models.Customer.owner_id, models.Customer.org_path, shared_with(principal)
        ),
    )
    if filters.get("tier"):
        stmt = stmt.where(models.Customer.tier == filters["tier"])
    if filters.get("owner_id"):
        stmt = stmt.where(models.Customer.owner_id == filters["owner_id"])
    if filters.get("updated_since"):
        since = datetime.fromisoformat(filters["updated_since"].replace("Z", "+00:00"))
        stmt = stmt.where(models.Customer.updated_at >= since)
    stmt = stmt.where(
        *await filter_clauses(
            session, CUSTOMER_FIELDS, models.Customer.id, custom_filters(filters), prefix=f"filters.{COLUMN_PREFIX}"
        )
    )
    result = await session.stream_scalars(stmt.order_by(models.Customer.id).execution_options(yield_per=1000))
    async for c in result:
        yield (
            c.id,
            c.legal_name,
            c.credit_code,
            c.tier,
            c.industry,
            list(c.tags or []),
            c.owner_id,
            c.org_path,
            c.address_text,
            c.created_at,
            c.updated_at,
            c.custom_fields,
        )


CONTACT_HEADER = (
    "id",
    "customer_id",
    "customer_legal_name",
    "full_name",
    "title",
    "phones",
    "email",
    "is_primary",
    "created_at",
)


async def contact_rows(
    session: AsyncSession, principal: Principal, filters: Mapping[str, str]
) -> AsyncIterator[Sequence[Any]]:
    """Contacts of the active customers the principal may read (the customers' scope)."""
    stmt = (
        select(models.Contact, models.Customer.legal_name)
        .join(models.Customer, models.Customer.id == models.Contact.customer_id)
        .where(
            models.Customer.active,
            scope_filter(
                principal, "customers:read", models.Customer.owner_id, models.Customer.org_path, shared_with(principal)
            ),
        )
    )
    if filters.get("customer_id"):
        stmt = stmt.where(models.Contact.customer_id == filters["customer_id"])
    stmt = stmt.where(
        *await filter_clauses(
            session, CONTACT_FIELDS, models.Contact.id, custom_filters(filters), prefix=f"filters.{COLUMN_PREFIX}"
        )
    )
    result = await session.stream(stmt.order_by(models.Contact.id).execution_options(yield_per=1000))
    async for contact, legal_name in result:
        yield (
            contact.id,
            contact.customer_id,
            legal_name,
            contact.full_name,
            contact.title,
            list(contact.phones or []),
            contact.email,
            contact.is_primary,
            contact.created_at,
            contact.custom_fields,
        )


EXPORTERS = [
    Exporter(
        entity="customers",
        permission="customers:export",
        header=HEADER,
        rows=customer_rows,
        filters=frozenset({"tier", "owner_id", "updated_since"}),
        validate=_validate,
        custom_fields=CUSTOMER_FIELDS,
    ),
    Exporter(
        entity="contacts",
        permission="customers:export",
        header=CONTACT_HEADER,
        rows=contact_rows,
        filters=frozenset({"customer_id"}),
        custom_fields=CONTACT_FIELDS,
    ),
]
