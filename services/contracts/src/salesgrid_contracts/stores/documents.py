"""The printed document store: printed originals (`printed_documents`: the rendered PDF, the
document and letterhead it was rendered from, how many copies followed) and the gap-free
numbers per (kind, branch, year) in `document_counters`."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid_common.db import conflict_insert, dialect_name
from salesgrid_common.ids import new_id
from salesgrid_contracts import models
from salesgrid_contracts.domain.documents import Document, DocumentKind, Letterhead, PrintedOriginal
from salesgrid_contracts.domain.numbering import next_sequence

Row = models.PrintedDocument


def letterhead_json(letterhead: Letterhead) -> dict[str, str]:
    return {"company_name": letterhead.company_name, "address": letterhead.address, "phone": letterhead.phone}


def original_of(row: Row) -> PrintedOriginal:
    """The original as kept: what it says, under the letterhead it was printed on."""
    stored = row.document
    return PrintedOriginal(
        document_id=row.id,
        subject_id=row.subject_id,
        revision=row.revision,
        contract_id=row.contract_id,
        owner_id=row.owner_id,
        org_path=row.org_path,
        document=Document.from_json(stored["document"]),  # type: ignore[arg-type]
        letterhead=Letterhead(**stored["letterhead"]),  # type: ignore[arg-type]
        file_name=row.file_name,
        size_bytes=row.size_bytes,
        sha256=row.sha256,
        copies=row.copies,
        printed_by=row.printed_by,
        printed_at=row.printed_at,
    )


async def next_number(session: AsyncSession, kind: DocumentKind, branch: str, year: int) -> int:
    """Next gap-free number of (kind, branch, year), locked and bumped in the printing transaction."""
    insert = conflict_insert(dialect_name(session))
    await session.execute(
        insert(models.DocumentCounter)
        .values(kind=kind.value, branch_code=branch, year=year, last_seq=0)
        .on_conflict_do_nothing()
    )
    counter = await session.scalar(
        select(models.DocumentCounter)
        .where(
            models.DocumentCounter.kind == kind.value,
            models.DocumentCounter.branch_code == branch,
            models.DocumentCounter.year == year,
        )
        .with_for_update()
    )
    assert counter is not None
    counter.last_seq = next_sequence(counter.last_seq or None)
    return counter.last_seq


async def original(session: AsyncSession, kind: DocumentKind, subject_id: str, revision: int) -> PrintedOriginal | None:
    """The original printed for this record (and revision), locked; None before the first print."""
    row = await session.scalar(
        select(Row)
        .where(Row.kind == kind.value, Row.subject_id == subject_id, Row.revision == revision)
        .with_for_update()
    )
    return None if row is None else original_of(row)


def add_original(
    session: AsyncSession,
    document: Document,
    letterhead: Letterhead,
    content: bytes,
    *,
    subject_id: str,
    revision: int,
    contract_id: str,
    owner_id: str,
    org_path: str,
    printed_by: str,
    now: datetime,
) -> PrintedOriginal:
    row = Row(
        id=new_id(),
        kind=document.kind.value,
        subject_id=subject_id,
        revision=revision,
        contract_id=contract_id,
        number=document.number,
        owner_id=owner_id,
        org_path=org_path,
        document={"document": document.to_json(), "letterhead": letterhead_json(letterhead)},
        file_name=f"{document.number}.pdf",
        content=content,
        size_bytes=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        copies=0,
        printed_by=printed_by,
        printed_at=now,
        last_printed_at=now,
    )
    session.add(row)
    return original_of(row)


async def count_copy(session: AsyncSession, original: PrintedOriginal, now: datetime) -> PrintedOriginal:
    """One more copy of the original (loaded locked in this transaction) printed now; the original
    with it counted (its `copies`: this copy's number)."""
    await session.execute(
        update(Row).where(Row.id == original.document_id).values(copies=Row.copies + 1, last_printed_at=now)
    )
    return replace(original, copies=original.copies + 1)


async def of_subject(session: AsyncSession, subject_id: str) -> list[PrintedOriginal]:
    """Every original printed for the record, oldest first, in one query."""
    stmt = select(Row).where(Row.subject_id == subject_id).order_by(Row.printed_at, Row.id)
    return [original_of(row) for row in await session.scalars(stmt)]
