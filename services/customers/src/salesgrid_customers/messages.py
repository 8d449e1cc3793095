"""Protobuf messages of the customers API built from domain objects and read models (the
servicers' half of translation; requests are read in the servicers)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from salesgrid.customers.v1 import customers_pb2 as pb
from salesgrid_common.custom_fields.structs import struct_of
from salesgrid_common.memo import IdentityMemo
from salesgrid_common.protos import EPOCH, to_timestamp
from salesgrid_customers.domain import imports
from salesgrid_customers.domain.customer import Contact, Customer, SharedCustomers
from salesgrid_customers.domain.dedup import OwnerInfo
from salesgrid_customers.domain.ownership import Arbitration


def customer_pb(customer: Customer) -> pb.Customer:
    return write_customer(pb.Customer(), customer)


# Shared customers (a page memo's) are the same objects while their records are unchanged: each is
# written once, and its bytes merged into every reply after (a quarter of the writing).
_shared_bytes: IdentityMemo[Customer, bytes] = IdentityMemo(None, 2048)


def customers_pb(customers: Iterable[Customer], next_cursor: str) -> pb.ListCustomersResponse:
    """A page of customers, each written into the reply's own message; a shared customer's bytes
    are remembered and merged into the replies after."""
    reply = pb.ListCustomersResponse(next_cursor=next_cursor)
    add = reply.customers.add
    if not isinstance(customers, SharedCustomers):
        for customer in customers:
            write_customer(add(), customer)
        return reply
    get, put = _shared_bytes.get, _shared_bytes.put
    for customer in customers:
        known = get(customer)
        if known is None:
            put(customer, write_customer(add(), customer).SerializeToString())
        else:
            add().MergeFromString(known)
    return reply


def write_customer(message: pb.Customer, customer: Customer) -> pb.Customer:
    """The customer written into an empty message: only the fields with a value (an empty string
    is proto3's unset), the timestamps into the message's own (a page writes many per request,
    so they are computed here, as protos.set_timestamp does, without a call each). Keyword
    constructors were measured slower than these assignments with upb (an empty repeated or
    Struct keyword most of all)."""
    message.id = customer.id
    message.legal_name = customer.legal_name
    message.tier = customer.tier._value_
    if customer.tags:
        message.tags.extend(customer.tags)
    message.org_path = customer.org_path
    message.version = customer.version
    message.created_by = customer.created_by
    if customer.credit_code:
        message.credit_code = customer.credit_code
    if customer.industry:
        message.industry = customer.industry
    address = customer.address
    if address:
        point = address.point
        written = message.address
        written.SetInParent()
        written.text = address.text
        if point:
            written.latitude, written.longitude = point.latitude, point.longitude
    if customer.source:
        message.source = customer.source
    if customer.owner_id:
        message.owner_id = customer.owner_id
    created = customer.created_at
    since = created - EPOCH
    stamp = message.created_at
    stamp.seconds, stamp.nanos = since.days * 86400 + since.seconds, since.microseconds * 1000
    updated = customer.updated_at
    if updated is not None and updated != created:  # else its creation, as stored on create
        since = updated - EPOCH
    stamp = message.updated_at
    stamp.seconds, stamp.nanos = since.days * 86400 + since.seconds, since.microseconds * 1000
    partner = customer.partner
    if partner.channel:
        message.partner_channel = partner.channel
    if partner.tier:
        message.partner_tier = partner.tier
    if partner.contract_id:
        message.partner_contract_id = partner.contract_id
    if customer.custom_fields:
        message.custom_fields.update(customer.custom_fields)
    else:
        message.custom_fields.SetInParent()  # present and empty, as always
    return message


def contact_pb(contact: Contact) -> pb.Contact:
    return pb.Contact(
        id=contact.id,
        customer_id=contact.customer_id,
        full_name=contact.full_name,
        title=contact.title or "",
        phones=contact.phones,
        email=contact.email or "",
        primary=contact.primary,
        custom_fields=struct_of(contact.custom_fields),
    )


def arbitration_pb(arbitration: Arbitration) -> pb.ArbitrationDecision:
    decision = arbitration.decision
    return pb.ArbitrationDecision(
        id=arbitration.id,
        customer_ids=arbitration.customer_ids,
        rep_ids=arbitration.rep_ids,
        winner_rep_id=decision.winner_rep_id or "",
        winner_customer_id=decision.winner_customer_id or "",
        rule=decision.rule.value,
        reason=decision.reason,
        steps=[
            pb.ArbitrationStep(
                rule=step.rule.value,
                compared={rep: value or "" for rep, value in step.compared},
                remaining=step.remaining,
            )
            for step in decision.steps
        ],
        decided_at=to_timestamp(decision.decided_at),
        decided_by=arbitration.decided_by,
    )


def import_pb(
    job: imports.ImportJob,
    errors: Iterable[imports.RowError] = (),
    cursor: str = "",
    owners: Mapping[str, OwnerInfo] | None = None,
) -> pb.ImportJob:
    owners = owners or {}

    def owner(error: imports.RowError) -> OwnerInfo:
        return owners.get(error.existing_owner_id) or OwnerInfo("", "", "")

    return pb.ImportJob(
        id=job.id,
        status=job.status,
        format=job.format,
        total=job.total,
        processed=job.processed,
        created=job.created,
        failed=job.failed,
        next_cursor=cursor,
        created_at=to_timestamp(job.created_at),
        finished_at=to_timestamp(job.finished_at),
        created_by=job.created_by,
        errors=[
            pb.ImportRowError(
                row=e.row_number,
                column=e.column,
                message=e.message,
                existing_owner_id=e.existing_owner_id,
                existing_owner_name=owner(e).display_name,
                existing_owner_unit_name=owner(e).unit_name,
            )
            for e in errors
        ],
    )
