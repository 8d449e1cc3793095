"""The printed document store: printed originals (`printed_documents`: the rendered PDF, the
document and letterhead it was rendered from, how many copies followed) and the gap-free
numbers per (kind, branch, year) in `document_counters`."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid_common.db import conflict_insert
from salesgrid_common.ids import new_id
from salesgrid_contracts import models
from salesgrid_contracts.domain.documents import Document, DocumentKind, Letterhead
from salesgrid_contracts.domain.numbering import next_sequence

Row = models.PrintedDocument


def letterhead_json(letterhead: Letterhead) -> dict[str, str]:
    return {"company_name": letterhead.company_name, "address": letterhead.address, "phone": letterhead.phone}


def document_of(row: Row) -> tuple[Document, Letterhead]:
    """What the original says, under the letterhead it was printed on."""
    stored = row.document
    return Document.from_json(stored["document"]), Letterhead(**stored["letterhead"])  # type: ignore[arg-type]


async def next_number(session: AsyncSession, kind: DocumentKind, branch: str, year: int) -> int:
    """Next gap-free number of (kind, branch, year), locked and bumped in the printing transaction."""
    insert = conflict_insert(session.bind.dialect.name)
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


async def original(session: AsyncSession, kind: DocumentKind, subject_id: str, revision: int) -> Row | None:
    """The original printed for this record (and revision), locked; None before the first print."""
    return await session.scalar(
        select(Row)
        .where(Row.kind == kind.value, Row.subject_id == subject_id, Row.revision == revision)
        .with_for_update()
    )


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
) -> Row:
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
    return row


def count_copy(row: Row, now: datetime) -> int:
    """One more copy of the original printed now; returns its copy number."""
    row.copies += 1
    row.last_printed_at = now
    return row.copies


async def of_subject(session: AsyncSession, subject_id: str) -> Sequence[Row]:
    """Every original printed for the record, oldest first, in one query."""
    stmt = select(Row).where(Row.subject_id == subject_id).order_by(Row.printed_at, Row.id)
    return (await session.scalars(stmt)).all()
