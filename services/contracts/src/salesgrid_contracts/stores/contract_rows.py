"""The mapping of a contract's rows (its `contracts` row and one `contract_lines` row per line,
loaded together as a ContractView) to the domain's Contract and ContractRecord and back, and of the
lines and attachments kept as JSON (on the contract and on its versions): the one place a new
column of a contract is mapped."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from salesgrid_contracts import models
from salesgrid_contracts.domain import approval, contracts
from salesgrid_contracts.domain.amendments import ContractVersion
from salesgrid_contracts.domain.attachments import Attachment, ContractTemplate
from salesgrid_contracts.domain.contract_records import ContractDetail, ContractRecord
from salesgrid_contracts.domain.money import Money
from salesgrid_contracts.stores.contract_views import ContractView


def line_json(line: contracts.ContractLine) -> dict[str, str]:
    return {
        "product_id": line.product_id,
        "description": line.description,
        "quantity": str(line.quantity),
        "unit_price": str(line.unit_price.amount),
        "discount_percent": str(line.discount_percent),
    }


def line_of(stored: dict[str, str], currency: str) -> contracts.ContractLine:
    """A line as `line_json` stored it."""
    return contracts.ContractLine(
        stored["product_id"],
        stored["description"],
        Decimal(stored["quantity"]),
        Money(Decimal(stored["unit_price"]), currency),
        Decimal(stored["discount_percent"]),
    )


def domain_of(view: ContractView) -> contracts.Contract:
    row = view.row
    lines = tuple(
        contracts.ContractLine(
            line.product_id,
            line.description,
            line.quantity,
            Money(line.unit_price, row.currency),
            line.discount_percent,
        )
        for line in view.lines
    )
    termination = None
    if row.termination_reason is not None and row.termination_requested_at is not None:
        termination = contracts.TerminationRequest(
            row.termination_reason, row.termination_requested_by or "", row.termination_requested_at
        )
    return contracts.Contract(
        contract_id=row.id,
        number=row.number,
        version=row.revision,
        customer_id=row.customer_id,
        owner_id=row.owner_id,
        org_unit_id=row.org_unit_id,
        currency=row.currency,
        start_date=row.start_date,
        end_date=row.end_date,
        lines=lines,
        terms=row.terms,
        status=contracts.ContractStatus(row.status),
        created_at=row.created_at,
        signed_on=row.signed_on,
        termination=termination,
        terminated_at=row.terminated_at,
    )


def to_row(contract: contracts.Contract, row: models.Contract) -> None:
    """The fields the contract rules change, onto its row (an amendment: a ContractRevision)."""
    row.status = contract.status.value
    row.signed_on = contract.signed_on
    row.terminated_at = contract.terminated_at
    termination = contract.termination
    row.termination_reason = termination.reason if termination else None
    row.termination_requested_by = termination.requested_by if termination else None
    row.termination_requested_at = termination.requested_at if termination else None


def attachment_json(ref: Attachment) -> dict[str, str | int]:
    return {
        "document_id": ref.document_id,
        "file_name": ref.file_name,
        "content_type": ref.content_type,
        "size_bytes": ref.size_bytes,
        "sha256": ref.sha256,
    }


def attachments_from(stored: list[dict[str, str | int]]) -> tuple[Attachment, ...]:
    """Attachments as `attachment_json` stored them."""
    return tuple(
        Attachment(
            str(a["document_id"]), str(a["file_name"]), str(a["content_type"]), int(a["size_bytes"]), str(a["sha256"])
        )
        for a in stored
    )


def attachments_of(row: models.Contract) -> tuple[Attachment, ...]:
    return attachments_from(row.attachments)


def new_row(
    contract: contracts.Contract,
    *,
    org_path: str,
    opportunity_id: str,
    attachments: list[dict[str, str | int]],
    template: ContractTemplate | None,
    channel: str,
    partner_id: str,
    custom_fields: dict[str, object],
    now: datetime,
) -> tuple[models.Contract, list[models.ContractLine]]:
    """The rows of a new contract: the contract's and one per line."""
    row = models.Contract(
        id=contract.contract_id,
        number=contract.number,
        customer_id=contract.customer_id,
        owner_id=contract.owner_id,
        org_unit_id=contract.org_unit_id,
        org_path=org_path,
        currency=contract.currency,
        start_date=contract.start_date,
        end_date=contract.end_date,
        terms=contract.terms,
        status=contract.status.value,
        total=contract.total.amount,
        credit=Decimal(0),
        signed_on=None,
        approval_kind=None,
        approval_round=0,
        version=1,
        revision=contract.version,
        created_at=now,
        opportunity_id=opportunity_id or None,
        attachments=attachments,
        template_id=template.template_id if template else None,
        template_version=template.version if template else None,
        channel=channel,
        partner_id=partner_id,
        custom_fields=custom_fields,
    )
    lines = [
        models.ContractLine(
            contract_id=contract.contract_id,
            position=position,
            product_id=line.product_id,
            description=line.description,
            quantity=line.quantity,
            unit_price=line.unit_price.amount,
            discount_percent=line.discount_percent,
        )
        for position, line in enumerate(contract.lines)
    ]
    return row, lines


def record_of(view: ContractView) -> ContractRecord:
    """The one mapping of a contract's rows to the record use cases hold."""
    row = view.row
    return ContractRecord(
        contract=domain_of(view),
        org_path=row.org_path,
        total=Money(row.total, row.currency),
        version=row.version,
        approval_kind=row.approval_kind,
        channel=row.channel or "direct",
        partner_id=row.partner_id or "",
        custom_fields=dict(row.custom_fields),
        attachments=attachments_of(row),
        template_id=row.template_id,
        template_version=row.template_version,
    )


def step_of(row: models.ApprovalStepRow) -> approval.ApprovalStep:
    return approval.ApprovalStep(
        order=row.step_order,
        role=row.role,
        approver_id=row.approver_id,
        status=approval.StepStatus(row.status),
        activated_at=row.activated_at,
        decided_at=row.decided_at,
        comment=row.comment,
        reminded_at=row.reminded_at,
    )


def version_of(row: models.ContractRevision, currency: str) -> ContractVersion:
    return ContractVersion(
        revision=row.revision,
        status=row.status,
        start_date=row.start_date,
        end_date=row.end_date,
        terms=row.terms,
        lines=tuple(line_of(line, currency) for line in row.lines),
        total=Money(row.total, currency),
        created_by=row.created_by,
        created_at=row.created_at,
        attachments=attachments_from(row.attachments),
    )


def detail_of(view: ContractView) -> ContractDetail:
    """The one mapping of a contract's rows to what a reader sees of it."""
    row = view.row
    return ContractDetail(
        record=record_of(view),
        credit=Money(row.credit, row.currency),
        opportunity_id=row.opportunity_id or "",
        steps=tuple(step_of(step) for step in view.steps),
        proposed=version_of(view.proposed, row.currency) if view.proposed is not None else None,
        approval_started_at=row.approval_started_at,
    )
