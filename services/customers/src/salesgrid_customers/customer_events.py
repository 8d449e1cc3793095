"""The payloads of the customer's events, each built from the domain Customer in this one place."""

from __future__ import annotations

from collections.abc import Sequence

from salesgrid.events.v1.customers_events_pb2 import (
    CustomerArbitrationDecided,
    CustomerClaimedFromPool,
    CustomerContactState,
    CustomerMerged,
    CustomerOwnerChanged,
    CustomerPoolReturnWarning,
    CustomerRecordState,
    CustomerReleasedToPool,
    CustomerShareChanged,
)
from salesgrid_common.custom_fields.structs import struct_of
from salesgrid_customers.domain.contact import Contact
from salesgrid_customers.domain.customer import Customer
from salesgrid_customers.domain.ownership import Arbitration
from salesgrid_customers.domain.pool import ReturnWarning
from salesgrid_customers.domain.sharing import Share


def customer_state(customer: Customer) -> CustomerRecordState:
    """The customer's state as its `created`/`updated`/`deactivated` events carry it."""
    point = customer.address.point if customer.address else None
    return CustomerRecordState(
        customer_id=customer.id,
        legal_name=customer.legal_name,
        credit_code=customer.credit_code or "",
        tier=customer.tier.value,
        owner_id=customer.owner_id or "",
        org_path=customer.org_path,
        version=customer.version,
        tags=customer.tags,
        industry=customer.industry or "",
        has_location=point is not None,
        latitude=point.latitude if point else 0.0,
        longitude=point.longitude if point else 0.0,
        custom_fields=struct_of(customer.custom_fields),
        partner_channel=customer.partner.channel,
        partner_tier=customer.partner.tier,
        partner_contract_id=customer.partner.contract_id,
    )


def owner_changed(customer: Customer, previous_owner_id: str | None, reason: str) -> CustomerOwnerChanged:
    return CustomerOwnerChanged(
        customer_id=customer.id,
        previous_owner_id=previous_owner_id or "",
        new_owner_id=customer.owner_id or "",
        org_path=customer.org_path,
        reason=reason,
    )


def released_to_pool(customer: Customer, released_by: str, reason: str) -> CustomerReleasedToPool:
    return CustomerReleasedToPool(
        customer_id=customer.id,
        previous_owner_id=customer.previous_owner_id or "",
        released_by=released_by,
        reason=reason,
        org_path=customer.org_path,
    )


def claimed_from_pool(customer: Customer) -> CustomerClaimedFromPool:
    return CustomerClaimedFromPool(
        customer_id=customer.id, new_owner_id=customer.owner_id or "", org_path=customer.org_path
    )


def merged(survivor: Customer, merged_ids: Sequence[str]) -> CustomerMerged:
    return CustomerMerged(
        survivor_id=survivor.id, merged_ids=merged_ids, owner_id=survivor.owner_id or "", org_path=survivor.org_path
    )


def contact_state(contact: Contact) -> CustomerContactState:
    """A contact as its `contact_created`/`contact_updated` events carry it."""
    return CustomerContactState(
        contact_id=contact.id,
        customer_id=contact.customer_id,
        full_name=contact.full_name,
        title=contact.title or "",
        phones=contact.phones,
        email=contact.email or "",
        primary=contact.primary,
        custom_fields=struct_of(contact.custom_fields),
    )


def shared(customer: Customer, share: Share) -> CustomerShareChanged:
    return CustomerShareChanged(
        customer_id=customer.id, user_id=share.user_id, role=share.role.value, owner_id=customer.owner_id or ""
    )


def unshared(customer: Customer, user_id: str) -> CustomerShareChanged:
    return CustomerShareChanged(customer_id=customer.id, user_id=user_id, owner_id=customer.owner_id or "")


def pool_return_warning(customer: Customer, warning: ReturnWarning) -> CustomerPoolReturnWarning:
    return CustomerPoolReturnWarning(
        customer_id=customer.id,
        owner_id=warning.owner_id,
        rule=warning.rule.value,
        due_at=warning.due_at.isoformat(),
    )


def arbitration_decided(arbitration: Arbitration) -> CustomerArbitrationDecided:
    decision = arbitration.decision
    return CustomerArbitrationDecided(
        arbitration_id=arbitration.id,
        customer_ids=arbitration.customer_ids,
        rep_ids=arbitration.rep_ids,
        winner_rep_id=decision.winner_rep_id or "",
        winner_customer_id=decision.winner_customer_id or "",
        rule=decision.rule.value,
        reason=decision.reason,
    )
