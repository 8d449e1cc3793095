"""Printed documents use cases (domain/documents.py): a receipt or a contract printed as PDF under
the company's letterhead; the first print is the original kept as the record's attachment, every
later one a copy marked as such. Each print is an event (so in the audit trail)."""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid.events.v1.contracts_events_pb2 import ContractsDocumentPrinted
from salesgrid_common.auth import Principal
from salesgrid_common.clock import Clock
from salesgrid_common.db import SessionFactory, conflict_insert
from salesgrid_common.directory import get_user
from salesgrid_common.errors import NotFound, PermissionDenied, ValidationFailed
from salesgrid_common.events.outbox import Outbox
from salesgrid_common.ids import new_id
from salesgrid_common.localtime import unit_calendar
from salesgrid_contracts import models, pdf
from salesgrid_contracts.customer_names import legal_name
from salesgrid_contracts.domain import documents
from salesgrid_contracts.domain.documents import Document, DocumentKind, Letterhead
from salesgrid_contracts.domain.numbering import next_sequence
from salesgrid_contracts.stores import contracts as contract_store
from salesgrid_contracts.stores import templates as template_store
from salesgrid_contracts.usecases._support import ContractsUseCasesBase

# Who may print (and see the originals of) each kind of document, over the record's owner and path.
PRINT_PERMISSION = {DocumentKind.RECEIPT: "payments:create", DocumentKind.CONTRACT: "contracts:read"}
READ_PERMISSION = {DocumentKind.RECEIPT: "payments:read", DocumentKind.CONTRACT: "contracts:read"}


@dataclass(frozen=True)
class Printed:
    row: models.PrintedDocument
    copy_number: int
    content: bytes


def _letterhead_json(letterhead: Letterhead) -> dict[str, str]:
    return {"company_name": letterhead.company_name, "address": letterhead.address, "phone": letterhead.phone}


class DocumentsUseCases(ContractsUseCasesBase):
    def __init__(self, sessions: SessionFactory, outbox: Outbox, clock: Clock, letterhead: Letterhead) -> None:
        super().__init__(sessions, outbox, clock)
        self.letterhead = letterhead

    @staticmethod
    async def _person(session: AsyncSession, user_id: str) -> str:
        user = await get_user(session, user_id)
        return user.display_name if user else user_id

    async def _allocate(self, session: AsyncSession, kind: DocumentKind, branch: str, year: int) -> int:
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

    @staticmethod
    async def _original(
        session: AsyncSession, kind: DocumentKind, subject_id: str, revision: int
    ) -> models.PrintedDocument | None:
        return await session.scalar(
            select(models.PrintedDocument)
            .where(
                models.PrintedDocument.kind == kind.value,
                models.PrintedDocument.subject_id == subject_id,
                models.PrintedDocument.revision == revision,
            )
            .with_for_update()
        )

    async def _store(
        self,
        session: AsyncSession,
        principal: Principal,
        document: Document,
        *,
        subject_id: str,
        revision: int,
        contract_id: str,
        owner_id: str,
        org_path: str,
        now: datetime,
    ) -> Printed:
        content = await asyncio.to_thread(pdf.render, document, self.letterhead, 0)
        row = models.PrintedDocument(
            id=new_id(),
            kind=document.kind.value,
            subject_id=subject_id,
            revision=revision,
            contract_id=contract_id,
            number=document.number,
            owner_id=owner_id,
            org_path=org_path,
            document={"document": document.to_json(), "letterhead": _letterhead_json(self.letterhead)},
            file_name=f"{document.number}.pdf",
            content=content,
            size_bytes=len(content),
            sha256=hashlib.sha256(content).hexdigest(),
            copies=0,
            printed_by=principal.subject_id,
            printed_at=now,
            last_printed_at=now,
        )
        session.add(row)
        return Printed(row, 0, content)

    async def _reprint(self, row: models.PrintedDocument, now: datetime) -> Printed:
        """A copy says what the original says, under the original's letterhead, marked COPY n."""
        row.copies += 1
        row.last_printed_at = now
        stored = row.document
        content = await asyncio.to_thread(
            pdf.render,
            Document.from_json(stored["document"]),  # type: ignore[arg-type]
            Letterhead(**stored["letterhead"]),
            row.copies,
        )  # type: ignore[arg-type]
        return Printed(row, row.copies, content)

    async def _printed(self, session: AsyncSession, principal: Principal, printed: Printed, now: datetime) -> None:
        row = printed.row
        await self._event(
            session,
            "document.printed",
            ContractsDocumentPrinted(
                document_id=row.id,
                kind=row.kind,
                subject_id=row.subject_id,
                contract_id=row.contract_id,
                number=row.number,
                copy_number=printed.copy_number,
                printed_by=principal.subject_id,
                sha256=hashlib.sha256(printed.content).hexdigest(),
            ),
            row.id,
            principal,
            row.org_path,
            now,
        )

    async def print_receipt(self, principal: Principal, receipt_id: str, payer_name: str) -> Printed:
        principal.require(PRINT_PERMISSION[DocumentKind.RECEIPT])
        if not receipt_id.strip():
            raise ValidationFailed("is required", "receipt_id")
        now = self.clock()
        async with self.sessions() as session, session.begin():
            receipt = await session.scalar(
                select(models.ReceiptRow).where(models.ReceiptRow.id == receipt_id.strip()).with_for_update()
            )
            if receipt is None or not principal.can_see("payments:read", receipt.owner_id, receipt.org_path):
                raise NotFound(f"receipt {receipt_id} not found", "receipt_id")
            if not principal.can_see("payments:create", receipt.owner_id, receipt.org_path):
                raise PermissionDenied("payments:create does not cover this receipt")
            original = await self._original(session, DocumentKind.RECEIPT, receipt.id, 0)
            if original is not None:
                printed = await self._reprint(original, now)
            else:
                contract = await session.get(models.Contract, receipt.contract_id)
                assert contract is not None
                payer = documents.check_payer_name(payer_name, await legal_name(session, contract.customer_id))
                branch = documents.receipt_branch(contract.number)
                issued_on = (await unit_calendar(session, contract.org_unit_id)).today(now)
                number = documents.format_receipt_number(
                    branch, issued_on.year, await self._allocate(session, DocumentKind.RECEIPT, branch, issued_on.year)
                )
                document = documents.receipt_document(
                    number=number,
                    contract_number=contract.number,
                    payer_name=payer,
                    received_on=receipt.received_on.isoformat(),
                    amount=receipt.amount,
                    currency=receipt.currency,
                    method=receipt.method,
                    reference=receipt.reference,
                    received_by=await self._person(session, receipt.recorded_by),
                    issued_on=issued_on.isoformat(),
                )
                printed = await self._store(
                    session,
                    principal,
                    document,
                    subject_id=receipt.id,
                    revision=0,
                    contract_id=contract.id,
                    owner_id=receipt.owner_id,
                    org_path=receipt.org_path,
                    now=now,
                )
            await self._printed(session, principal, printed, now)
        return printed

    async def print_contract(self, principal: Principal, contract_id: str) -> Printed:
        principal.require(PRINT_PERMISSION[DocumentKind.CONTRACT])
        now = self.clock()
        async with self.sessions() as session, session.begin():
            row = await contract_store.load_in_scope(
                session, principal, contract_id.strip(), "contracts:read", lock=True
            )
            documents.check_contract_printable(row.status, row.template_id)
            original = await self._original(session, DocumentKind.CONTRACT, row.id, row.revision)
            if original is not None:
                printed = await self._reprint(original, now)
            else:
                template = await template_store.load(session, row.template_id or "", row.template_version or 0)
                view = await contract_store.view(session, row)
                domain = contract_store.domain_of(view)
                lines = [
                    (line.description, line.quantity, line.unit_price.amount, line.discount_percent, line.total.amount)
                    for line in domain.lines
                ]
                document = documents.contract_document(
                    number=row.number,
                    template_name=template.name,
                    template_version=template.version,
                    customer=await legal_name(session, row.customer_id) or row.customer_id,
                    owner=await self._person(session, row.owner_id),
                    start_date=row.start_date.isoformat(),
                    end_date=row.end_date.isoformat(),
                    currency=row.currency,
                    lines=lines,
                    total=row.total,
                    terms=row.terms,
                    revision=row.revision,
                )
                printed = await self._store(
                    session,
                    principal,
                    document,
                    subject_id=row.id,
                    revision=row.revision,
                    contract_id=row.id,
                    owner_id=row.owner_id,
                    org_path=row.org_path,
                    now=now,
                )
            await self._printed(session, principal, printed, now)
        return printed

    async def list_documents(self, principal: Principal, subject_id: str) -> list[models.PrintedDocument]:
        if not subject_id.strip():
            raise ValidationFailed("is required", "subject_id")
        async with self.sessions() as session:
            rows = (
                await session.scalars(
                    select(models.PrintedDocument)
                    .where(models.PrintedDocument.subject_id == subject_id.strip())
                    .order_by(models.PrintedDocument.printed_at, models.PrintedDocument.id)
                )
            ).all()
        return [r for r in rows if principal.can_see(READ_PERMISSION[DocumentKind(r.kind)], r.owner_id, r.org_path)]
