"""The contract store: a contract's rows (ContractView, loaded by contract_views) <-> the domain's
Contract and ContractRecord (what use cases hold: `load` -> domain step -> `save_record`); loading
in the caller's scope, locked, at the version the caller read; versioned saves; new contracts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from dataclasses import replace
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid_common.auth import Principal
from salesgrid_common.errors import Conflict, NotFound, PermissionDenied
from salesgrid_contracts import models
from salesgrid_contracts.domain import contracts
from salesgrid_contracts.domain.attachments import Attachment, ContractTemplate
from salesgrid_contracts.domain.contract_records import ContractRecord
from salesgrid_contracts.domain.money import Money
from salesgrid_contracts.stores.contract_views import ContractView, page_in_scope, view, views

# The loaders are named here too: callers load and map contracts through this one module.
__all__ = ["ContractView", "page_in_scope", "view", "views"]


def line_json(line: contracts.ContractLine) -> dict[str, str]:
    return {
        "product_id": line.product_id,
        "description": line.description,
        "quantity": str(line.quantity),
        "unit_price": str(line.unit_price.amount),
        "discount_percent": str(line.discount_percent),
    }


async def load_in_scope(
    session: AsyncSession,
    principal: Principal,
    contract_id: str,
    permission: str,
    *,
    lock: bool = False,
    expected_version: int = 0,
) -> models.Contract:
    query = select(models.Contract).where(models.Contract.id == contract_id)
    if lock:
        query = query.with_for_update()
    row = await session.scalar(query)
    if row is None or not principal.can_see("contracts:read", row.owner_id, row.org_path):
        raise NotFound(f"contract {contract_id} not found", "id")
    if permission != "contracts:read" and not principal.can_see(permission, row.owner_id, row.org_path):
        raise PermissionDenied(f"{permission} does not cover this contract")
    if expected_version and expected_version != row.version:
        raise Conflict.stale_version(
            f"contract {row.number} is at version {row.version}, not {expected_version}",
            "version",
            current=row.version,
            sent=expected_version,
        )
    return row


async def get(session: AsyncSession, contract_id: str) -> models.Contract:
    """Without a scope check (the caller holds a record of the contract he may see)."""
    found = await session.get(models.Contract, contract_id)
    assert found is not None
    return found


async def load_locked(session: AsyncSession, contract_id: str, expected_version: int = 0) -> models.Contract:
    """Locked, without a scope check (an approver decides on contracts outside his own scope)."""
    row = await session.scalar(select(models.Contract).where(models.Contract.id == contract_id).with_for_update())
    if row is None:
        raise NotFound(f"contract {contract_id} not found", "id")
    if expected_version and expected_version != row.version:
        raise Conflict.stale_version(
            f"contract {row.number} is at version {row.version}, not {expected_version}",
            "version",
            current=row.version,
            sent=expected_version,
        )
    return row


async def locked_view(session: AsyncSession, contract_id: str, expected_version: int = 0) -> ContractView:
    """`load_locked` with the contract's lines, steps and proposal."""
    return await view(session, await load_locked(session, contract_id, expected_version))


async def insert(session: AsyncSession, row: models.Contract, lines: Sequence[models.ContractLine]) -> None:
    """A new contract's rows (the contract's first: its lines refer to it)."""
    session.add(row)
    await session.flush()
    session.add_all(lines)


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


def save(
    row: models.Contract,
    contract: contracts.Contract | None = None,
    *,
    attachments: Sequence[Attachment] | None = None,
    custom_fields: dict[str, object] | None = None,
) -> None:
    """The contract as its next version (the caller loaded the row in scope, locked, at the version
    he read), with the domain's changes, its attachments and custom field values when given."""
    if contract is not None:
        to_row(contract, row)
    if attachments is not None:
        row.attachments = [attachment_json(a) for a in attachments]
    if custom_fields is not None:
        row.custom_fields = custom_fields
    row.version += 1


def attachment_json(ref: Attachment) -> dict[str, str | int]:
    return {
        "document_id": ref.document_id,
        "file_name": ref.file_name,
        "content_type": ref.content_type,
        "size_bytes": ref.size_bytes,
        "sha256": ref.sha256,
    }


def attachments_of(row: models.Contract) -> tuple[Attachment, ...]:
    return tuple(
        Attachment(
            str(a["document_id"]), str(a["file_name"]), str(a["content_type"]), int(a["size_bytes"]), str(a["sha256"])
        )
        for a in row.attachments
    )


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
    )


async def load(
    session: AsyncSession,
    principal: Principal,
    contract_id: str,
    permission: str,
    *,
    lock: bool = False,
    expected_version: int = 0,
) -> ContractRecord:
    """`load_in_scope`, as the record (with its lines: two queries more)."""
    row = await load_in_scope(session, principal, contract_id, permission, lock=lock, expected_version=expected_version)
    return record_of(await view(session, row))


async def save_record(session: AsyncSession, record: ContractRecord) -> ContractRecord:
    """The record (loaded in this transaction, locked) as its next version, onto the contract's row."""
    row = await get(session, record.contract_id)  # the identity map's row once loaded
    if row.version != record.version:
        raise Conflict(f"contract {row.number} is at version {row.version}, not {record.version}", "version")
    save(row, record.contract, attachments=record.attachments, custom_fields=dict(record.custom_fields))
    return replace(record, version=row.version)


async def view_of(session: AsyncSession, record: ContractRecord) -> ContractView:
    """The rows of a record loaded (or added) in this transaction, for the servicer."""
    await session.flush()
    return await view(session, await get(session, record.contract_id))


async def add(
    session: AsyncSession,
    contract: contracts.Contract,
    *,
    org_path: str,
    opportunity_id: str,
    attachments: list[dict[str, str | int]],
    template: ContractTemplate | None,
    channel: str,
    partner_id: str,
    custom_fields: Mapping[str, object],
    now: datetime,
) -> ContractRecord:
    """A new contract's rows, and its record."""
    row, lines = new_row(
        contract,
        org_path=org_path,
        opportunity_id=opportunity_id,
        attachments=attachments,
        template=template,
        channel=channel,
        partner_id=partner_id,
        custom_fields=dict(custom_fields),
        now=now,
    )
    await insert(session, row, lines)
    return record_of(ContractView(row, lines, []))
