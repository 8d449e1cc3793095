"""The contract store: a contract's rows (ContractView, loaded by contract_views) <-> the domain's
Contract and ContractRecord (what use cases hold: `load` -> domain step -> `save_record`); loading
in the caller's scope, locked, at the version the caller read; versioned saves; new contracts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from dataclasses import replace

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid_common.auth.principal import Principal
from salesgrid_common.errors import Conflict, NotFound, PermissionDenied
from salesgrid_common.paging import Page
from salesgrid_contracts import models
from salesgrid_contracts.domain import contracts
from salesgrid_contracts.domain.attachments import Attachment, ContractTemplate
from salesgrid_contracts.domain.contract_records import ContractDetail, ContractRecord
from salesgrid_contracts.stores.contract_rows import (
    attachment_json,
    attachments_from,
    attachments_of,
    detail_of,
    domain_of,
    line_json,
    line_of,
    new_row,
    record_of,
    step_of,
    to_row,
    version_of,
)
from salesgrid_contracts.stores import contract_views
from salesgrid_contracts.stores.contract_views import ContractView, view, views

# The loaders and mappers are named here too: callers load and map contracts through this one module.
__all__ = [
    "ContractView",
    "attachment_json",
    "attachments_from",
    "attachments_of",
    "detail_of",
    "domain_of",
    "line_json",
    "line_of",
    "new_row",
    "record_of",
    "step_of",
    "to_row",
    "version_of",
    "view",
    "views",
]


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


async def load_unscoped(session: AsyncSession, contract_id: str) -> ContractRecord:
    """The record, without a scope check (the caller holds a record of the contract he may see)."""
    return record_of(await view(session, await get(session, contract_id)))


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


async def locked_detail(session: AsyncSession, contract_id: str, expected_version: int = 0) -> ContractDetail:
    """`load_locked`, as a reader sees the contract (an approver decides on it)."""
    return detail_of(await locked_view(session, contract_id, expected_version))


async def insert(session: AsyncSession, row: models.Contract, lines: Sequence[models.ContractLine]) -> None:
    """A new contract's rows (the contract's first: its lines refer to it)."""
    session.add(row)
    await session.flush()
    session.add_all(lines)


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


async def detail(session: AsyncSession, record: ContractRecord) -> ContractDetail:
    """What a reader sees of a record loaded (or added) in this transaction."""
    await session.flush()
    return detail_of(await view(session, await get(session, record.contract_id)))


async def read(session: AsyncSession, principal: Principal, contract_id: str) -> ContractDetail:
    """The contract as the caller may read it (else NotFound)."""
    return detail_of(await view(session, await load_in_scope(session, principal, contract_id, "contracts:read")))


async def page_in_scope(
    session: AsyncSession,
    principal: Principal,
    *,
    status: str,
    customer_id: str,
    custom_fields: Mapping[str, str],
    page_size: int,
    cursor: str,
) -> Page[ContractDetail]:
    """A page of the contracts the caller may read, in a fixed number of queries (blank filters
    are ignored)."""
    found = await contract_views.page_in_scope(
        session,
        principal,
        status=status,
        customer_id=customer_id,
        custom_fields=custom_fields,
        page_size=page_size,
        cursor=cursor,
    )
    return Page([detail_of(v) for v in found.items], found.next_token)


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
