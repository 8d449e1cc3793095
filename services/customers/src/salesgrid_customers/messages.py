"""Protobuf messages of the customers API built from domain objects and read models (the
servicers' half of translation; requests are read in the servicers)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from salesgrid.customers.v1 import customers_pb2 as pb
from salesgrid_common.custom_fields.structs import struct_of
from salesgrid_common.protos import to_timestamp
from salesgrid_customers.domain import imports
from salesgrid_customers.domain.customer import Contact, Customer
from salesgrid_customers.domain.dedup import OwnerInfo
from salesgrid_customers.domain.ownership import Arbitration


def customer_pb(customer: Customer) -> pb.Customer:
    address = None
    if customer.address:
        point = customer.address.point
        address = pb.CustomerAddress(
            text=customer.address.text,
            latitude=point.latitude if point else None,
            longitude=point.longitude if point else None,
        )
    return pb.Customer(
        id=customer.id,
        legal_name=customer.legal_name,
        credit_code=customer.credit_code or "",
        industry=customer.industry or "",
        address=address,
        tier=customer.tier.value,
        tags=customer.tags,
        source=customer.source or "",
        owner_id=customer.owner_id or "",
        org_path=customer.org_path,
        version=customer.version,
        created_at=to_timestamp(customer.created_at),
        updated_at=to_timestamp(customer.updated_at or customer.created_at),
        created_by=customer.created_by,
        partner_channel=customer.partner.channel,
        partner_tier=customer.partner.tier,
        partner_contract_id=customer.partner.contract_id,
        custom_fields=struct_of(customer.custom_fields),
    )


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
