"""Contracts, their lines, versions and attachments -> proto (and attachment refs back)."""

from __future__ import annotations

from collections.abc import Iterable

from salesgrid.contracts.v1 import contracts_pb2 as pb
from salesgrid_common.custom_fields.structs import struct_of
from salesgrid_common.protos import to_timestamp
from salesgrid_contracts.domain.amendments import ContractVersion
from salesgrid_contracts.domain.attachments import Attachment
from salesgrid_contracts.domain.contracts import ContractLine, line_total
from salesgrid_contracts.domain.money import Money
from salesgrid_contracts.stores.contracts import ContractView, attachments_of
from salesgrid_contracts.stores.revisions import version_of
from salesgrid_contracts.usecases import AttachmentInput


def line_pb(line: ContractLine) -> pb.ContractLine:
    return pb.ContractLine(
        product_id=line.product_id,
        description=line.description,
        quantity=str(line.quantity),
        unit_price=str(line.unit_price.amount),
        discount_percent=str(line.discount_percent),
        total=str(line.total.amount),
    )


def attachments_pb(refs: Iterable[Attachment]) -> list[pb.AttachmentRef]:
    return [
        pb.AttachmentRef(
            document_id=a.document_id,
            file_name=a.file_name,
            content_type=a.content_type,
            size_bytes=a.size_bytes,
            sha256=a.sha256,
        )
        for a in refs
    ]


def attachment_inputs(refs: Iterable[pb.AttachmentRef]) -> list[AttachmentInput]:
    return [(a.document_id, a.file_name, a.content_type, a.size_bytes, a.sha256) for a in refs]


def version_pb(version: ContractVersion) -> pb.ContractVersion:
    return pb.ContractVersion(
        revision=version.revision,
        status=version.status,
        start_date=version.start_date.isoformat(),
        end_date=version.end_date.isoformat(),
        terms=version.terms,
        lines=[line_pb(line) for line in version.lines],
        total=str(version.total.amount),
        created_by=version.created_by,
        created_at=to_timestamp(version.created_at),
        attachments=attachments_pb(version.attachments),
    )


def contract_pb(view: ContractView) -> pb.Contract:
    row = view.row
    lines = [
        pb.ContractLine(
            product_id=line.product_id,
            description=line.description,
            quantity=str(line.quantity),
            unit_price=str(Money(line.unit_price, row.currency).amount),
            discount_percent=str(line.discount_percent),
            total=str(line_total(line.quantity, Money(line.unit_price, row.currency), line.discount_percent).amount),
        )
        for line in view.lines
    ]
    steps = [
        pb.ApprovalStep(
            order=s.step_order,
            role=s.role,
            approver_id=s.approver_id,
            status=s.status,
            comment=s.comment or "",
            decided_at=to_timestamp(s.decided_at),
        )
        for s in view.steps
    ]
    return pb.Contract(
        id=row.id,
        number=row.number,
        customer_id=row.customer_id,
        owner_id=row.owner_id,
        org_path=row.org_path,
        currency=row.currency,
        start_date=row.start_date.isoformat(),
        end_date=row.end_date.isoformat(),
        terms=row.terms,
        status=row.status,
        lines=lines,
        total=str(Money(row.total, row.currency).amount),
        signed_on=row.signed_on.isoformat() if row.signed_on else "",
        approval_kind=row.approval_kind or "",
        approval_steps=steps,
        termination_reason=row.termination_reason or "",
        credit=str(Money(row.credit, row.currency).amount),
        version=row.version,
        created_at=to_timestamp(row.created_at),
        revision=row.revision,
        opportunity_id=row.opportunity_id or "",
        attachments=attachments_pb(attachments_of(row)),
        template_id=row.template_id or "",
        template_version=row.template_version or 0,
        channel=row.channel or "direct",
        partner_id=row.partner_id or "",
        proposed=version_pb(version_of(view.proposed, row.currency)) if view.proposed else None,
        custom_fields=struct_of(row.custom_fields),
    )
