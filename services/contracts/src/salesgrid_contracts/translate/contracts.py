"""Contracts, their lines, versions and attachments -> proto (and attachment refs back)."""

from __future__ import annotations

from collections.abc import Iterable

from salesgrid.contracts.v1 import contracts_pb2 as pb
from salesgrid_common.custom_fields.structs import struct_of
from salesgrid_common.protos import to_timestamp
from salesgrid_contracts.domain.amendments import ContractVersion
from salesgrid_contracts.domain.attachments import Attachment
from salesgrid_contracts.domain.approval import ApprovalStep
from salesgrid_contracts.domain.contract_records import ContractDetail
from salesgrid_contracts.domain.contracts import ContractLine
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


def step_pb(step: ApprovalStep) -> pb.ApprovalStep:
    return pb.ApprovalStep(
        order=step.order,
        role=step.role,
        approver_id=step.approver_id,
        status=step.status.value,
        comment=step.comment or "",
        decided_at=to_timestamp(step.decided_at),
    )


def contract_pb(detail: ContractDetail) -> pb.Contract:
    record = detail.record
    contract = record.contract
    termination = contract.termination
    return pb.Contract(
        id=contract.contract_id,
        number=contract.number,
        customer_id=contract.customer_id,
        owner_id=contract.owner_id,
        org_path=record.org_path,
        currency=contract.currency,
        start_date=contract.start_date.isoformat(),
        end_date=contract.end_date.isoformat(),
        terms=contract.terms,
        status=contract.status.value,
        lines=[line_pb(line) for line in contract.lines],
        total=str(record.total.amount),
        signed_on=contract.signed_on.isoformat() if contract.signed_on else "",
        approval_kind=record.approval_kind or "",
        approval_steps=[step_pb(step) for step in detail.steps],
        termination_reason=termination.reason if termination else "",
        credit=str(detail.credit.amount),
        version=record.version,
        created_at=to_timestamp(contract.created_at),
        revision=contract.version,
        opportunity_id=detail.opportunity_id,
        attachments=attachments_pb(record.attachments),
        template_id=record.template_id or "",
        template_version=record.template_version or 0,
        channel=record.channel or "direct",
        partner_id=record.partner_id or "",
        proposed=version_pb(detail.proposed) if detail.proposed else None,
        custom_fields=struct_of(dict(record.custom_fields)),
    )
