"""Event payloads of the contracts service, each built in this one place."""

from __future__ import annotations

from salesgrid.events.v1.contracts_events_pb2 import (
    ContractsApprovalStep,
    ContractsContractState,
    ContractsInstalmentOverdue,
)
from salesgrid_common.custom_fields.structs import struct_of
from salesgrid_contracts import models
from salesgrid_contracts.domain.money import Money


def contract_state(row: models.Contract, comment: str = "") -> ContractsContractState:
    return ContractsContractState(
        contract_id=row.id,
        number=row.number,
        customer_id=row.customer_id,
        owner_id=row.owner_id,
        org_path=row.org_path,
        currency=row.currency,
        total=str(Money(row.total, row.currency).amount),
        status=row.status,
        approval_kind=row.approval_kind or "",
        comment=comment,
        version=row.version,
        revision=row.revision,
        custom_fields=struct_of(row.custom_fields),
        channel=row.channel or "direct",
        partner_id=row.partner_id or "",
    )


def approval_step(row: models.Contract, step: models.ApprovalStepRow) -> ContractsApprovalStep:
    return ContractsApprovalStep(
        contract_id=row.id,
        number=row.number,
        approval_kind=step.kind,
        round=step.round,
        step_order=step.step_order,
        role=step.role,
        approver_id=step.approver_id,
        status=step.status,
        comment=step.comment or "",
    )


def instalment_overdue(row: models.Contract, instalment: models.InstalmentRow) -> ContractsInstalmentOverdue:
    return ContractsInstalmentOverdue(
        contract_id=row.id,
        number=row.number,
        customer_id=row.customer_id,
        owner_id=row.owner_id,
        seq=instalment.seq,
        due_date=instalment.due_date.isoformat(),
        outstanding=str(Money(instalment.amount - instalment.paid, row.currency).amount),
        currency=row.currency,
    )
