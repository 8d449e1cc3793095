"""The revision store: a contract's versions kept beside it (`contract_revisions`: the version an
amendment superseded, a proposed amendment under approval, a rejected one) and putting an
approved amendment in force on the contract's own rows."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid_contracts import models
from salesgrid_contracts.domain import contracts
from salesgrid_contracts.domain.amendments import ContractVersion
from salesgrid_contracts.domain.contract_records import ContractRecord
from salesgrid_contracts.stores.contracts import ContractView, domain_of, get, line_json, version_of
from salesgrid_contracts.stores.contracts import view as contract_view

Row = models.ContractRevision


def _in_force(view: ContractView, status: str) -> Row:
    """The version on the contract's own rows, as a revision row of `status`."""
    row = view.row
    return Row(
        contract_id=row.id,
        revision=row.revision,
        status=status,
        start_date=row.start_date,
        end_date=row.end_date,
        terms=row.terms,
        total=row.total,
        attachments=list(row.attachments),
        lines=[line_json(line) for line in domain_of(view).lines],
        created_by=row.owner_id,
        created_at=row.created_at,
    )


def propose(
    session: AsyncSession,
    contract_id: str,
    amended: contracts.Contract,
    attachments: list[dict[str, str | int]],
    created_by: str,
    now: datetime,
) -> None:
    """The amendment, stored as the proposed next version of the contract."""
    session.add(
        Row(
            contract_id=contract_id,
            revision=amended.version,
            status="proposed",
            start_date=amended.start_date,
            end_date=amended.end_date,
            terms=amended.terms,
            total=amended.total.amount,
            attachments=attachments,
            lines=[line_json(line) for line in amended.lines],
            created_by=created_by,
            created_at=now,
        )
    )


async def reject(session: AsyncSession, contract_id: str, revision: int) -> None:
    """The proposed version is kept, as rejected."""
    await session.execute(
        update(Row).where(Row.contract_id == contract_id, Row.revision == revision).values(status="rejected")
    )


async def put_in_force(session: AsyncSession, contract_id: str) -> None:
    """The proposed version takes the place of the one in force, which is kept as superseded;
    the contract's rows (loaded locked in this transaction) carry the new body (status and
    signature stay)."""
    view = await contract_view(session, await get(session, contract_id))
    row, proposed = view.row, view.proposed
    assert proposed is not None
    old = await session.get(Row, (row.id, row.revision))
    if old is None:
        session.add(_in_force(view, "superseded"))
    else:
        old.status = "superseded"
    proposed.status = "in_force"
    await session.execute(delete(models.ContractLine).where(models.ContractLine.contract_id == row.id))
    for position, line in enumerate(proposed.lines):
        session.add(
            models.ContractLine(
                contract_id=row.id,
                position=position,
                product_id=line["product_id"],
                description=line["description"],
                quantity=Decimal(line["quantity"]),
                unit_price=Decimal(line["unit_price"]),
                discount_percent=Decimal(line["discount_percent"]),
            )
        )
    row.start_date, row.end_date, row.terms = proposed.start_date, proposed.end_date, proposed.terms
    row.total, row.revision = proposed.total, proposed.revision
    row.attachments = list(proposed.attachments)


def _record_in_force(record: ContractRecord) -> ContractVersion:
    """The version on the contract's own rows, as its record holds it."""
    contract = record.contract
    return ContractVersion(
        revision=contract.version,
        status="in_force",
        start_date=contract.start_date,
        end_date=contract.end_date,
        terms=contract.terms,
        lines=contract.lines,
        total=record.total,
        created_by=record.owner_id,
        created_at=record.created_at,
        attachments=record.attachments,
    )


async def versions(session: AsyncSession, record: ContractRecord) -> list[ContractVersion]:
    """Every version of the contract, oldest first; the one in force is synthesised from the
    contract's record while it has never been amended."""
    stmt = select(Row).where(Row.contract_id == record.contract_id).order_by(Row.revision)
    stored = [version_of(row, record.currency) for row in await session.scalars(stmt)]
    if not any(v.revision == record.contract.version for v in stored):
        stored.append(_record_in_force(record))
    return sorted(stored, key=lambda v: v.revision)
