"""Printed documents use cases (domain/documents.py): a receipt or a contract printed as PDF under
the company's letterhead; the first print is the original kept as the record's attachment, every
later one a copy marked as such. Each print is an event (so in the audit trail)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid_common.auth.principal import Principal
from salesgrid_common.clock import Clock
from salesgrid_common.db import SessionFactory
from salesgrid_common.directory import get_user
from salesgrid_common.errors import NotFound, PermissionDenied, ValidationFailed
from salesgrid_common.events.outbox import Outbox
from salesgrid_common.localtime import unit_calendar
from salesgrid_contracts import pdf
from salesgrid_contracts.customer_names import legal_name
from salesgrid_contracts.domain import documents
from salesgrid_contracts.domain.documents import Document, DocumentKind, Letterhead, PrintedOriginal
from salesgrid_contracts.payloads import document_printed
from salesgrid_contracts.stores import contracts as contract_store
from salesgrid_contracts.stores import documents as document_store
from salesgrid_contracts.stores import receipts as receipt_store
from salesgrid_contracts.stores import templates as template_store
from salesgrid_contracts.usecases._support import ContractsUseCasesBase

# Who may print (and see the originals of) each kind of document, over the record's owner and path.
PRINT_PERMISSION = {DocumentKind.RECEIPT: "payments:create", DocumentKind.CONTRACT: "contracts:read"}
READ_PERMISSION = {DocumentKind.RECEIPT: "payments:read", DocumentKind.CONTRACT: "contracts:read"}


@dataclass(frozen=True)
class Printed:
    original: PrintedOriginal
    copy_number: int
    content: bytes


class DocumentsUseCases(ContractsUseCasesBase):
    def __init__(self, sessions: SessionFactory, outbox: Outbox, clock: Clock, letterhead: Letterhead) -> None:
        super().__init__(sessions, outbox, clock)
        self.letterhead = letterhead

    @staticmethod
    async def _person(session: AsyncSession, user_id: str) -> str:
        user = await get_user(session, user_id)
        return user.display_name if user else user_id

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
        original = document_store.add_original(
            session,
            document,
            self.letterhead,
            content,
            subject_id=subject_id,
            revision=revision,
            contract_id=contract_id,
            owner_id=owner_id,
            org_path=org_path,
            printed_by=principal.subject_id,
            now=now,
        )
        return Printed(original, 0, content)

    async def _reprint(self, session: AsyncSession, original: PrintedOriginal, now: datetime) -> Printed:
        """A copy says what the original says, under the original's letterhead, marked COPY n."""
        counted = await document_store.count_copy(session, original, now)
        content = await asyncio.to_thread(pdf.render, original.document, original.letterhead, counted.copies)
        return Printed(counted, counted.copies, content)

    async def _printed(self, session: AsyncSession, principal: Principal, printed: Printed, now: datetime) -> None:
        original = printed.original
        await self._event(
            session,
            "document.printed",
            document_printed(original, printed.copy_number, principal.subject_id, printed.content),
            original.document_id,
            principal,
            original.org_path,
            now,
        )

    async def print_receipt(self, principal: Principal, receipt_id: str, payer_name: str) -> Printed:
        principal.require(PRINT_PERMISSION[DocumentKind.RECEIPT])
        if not receipt_id.strip():
            raise ValidationFailed("is required", "receipt_id")
        now = self.clock()
        async with self.sessions() as session, session.begin():
            stored = await receipt_store.load(session, receipt_id.strip(), lock=True)
            if stored is None or not principal.can_see("payments:read", stored.owner_id, stored.org_path):
                raise NotFound(f"receipt {receipt_id} not found", "receipt_id")
            if not principal.can_see("payments:create", stored.owner_id, stored.org_path):
                raise PermissionDenied("payments:create does not cover this receipt")
            receipt = stored.receipt
            original = await document_store.original(session, DocumentKind.RECEIPT, receipt.receipt_id, 0)
            if original is not None:
                printed = await self._reprint(session, original, now)
            else:
                contract = (await contract_store.load_unscoped(session, stored.contract_id)).contract
                payer = documents.check_payer_name(payer_name, await legal_name(session, contract.customer_id))
                branch = documents.receipt_branch(contract.number)
                issued_on = (await unit_calendar(session, contract.org_unit_id)).today(now)
                number = documents.format_receipt_number(
                    branch,
                    issued_on.year,
                    await document_store.next_number(session, DocumentKind.RECEIPT, branch, issued_on.year),
                )
                document = documents.receipt_document(
                    number=number,
                    contract_number=contract.number,
                    payer_name=payer,
                    received_on=receipt.received_on.isoformat(),
                    amount=receipt.amount.amount,
                    currency=receipt.amount.currency,
                    method=receipt.method.value,
                    reference=receipt.reference,
                    received_by=await self._person(session, stored.recorded_by),
                    issued_on=issued_on.isoformat(),
                )
                printed = await self._store(
                    session,
                    principal,
                    document,
                    subject_id=receipt.receipt_id,
                    revision=0,
                    contract_id=contract.contract_id,
                    owner_id=stored.owner_id,
                    org_path=stored.org_path,
                    now=now,
                )
            await self._printed(session, principal, printed, now)
        return printed

    async def print_contract(self, principal: Principal, contract_id: str) -> Printed:
        principal.require(PRINT_PERMISSION[DocumentKind.CONTRACT])
        now = self.clock()
        async with self.sessions() as session, session.begin():
            record = await contract_store.load(session, principal, contract_id.strip(), "contracts:read", lock=True)
            contract = record.contract
            documents.check_contract_printable(contract.status.value, record.template_id)
            original = await document_store.original(
                session, DocumentKind.CONTRACT, record.contract_id, contract.version
            )
            if original is not None:
                printed = await self._reprint(session, original, now)
            else:
                template = await template_store.load(session, record.template_id or "", record.template_version or 0)
                lines = [
                    (line.description, line.quantity, line.unit_price.amount, line.discount_percent, line.total.amount)
                    for line in contract.lines
                ]
                document = documents.contract_document(
                    number=contract.number,
                    template_name=template.name,
                    template_version=template.version,
                    customer=await legal_name(session, contract.customer_id) or contract.customer_id,
                    owner=await self._person(session, contract.owner_id),
                    start_date=contract.start_date.isoformat(),
                    end_date=contract.end_date.isoformat(),
                    currency=contract.currency,
                    lines=lines,
                    total=record.total.amount,
                    terms=contract.terms,
                    revision=contract.version,
                )
                printed = await self._store(
                    session,
                    principal,
                    document,
                    subject_id=record.contract_id,
                    revision=contract.version,
                    contract_id=record.contract_id,
                    owner_id=record.owner_id,
                    org_path=record.org_path,
                    now=now,
                )
            await self._printed(session, principal, printed, now)
        return printed

    async def list_documents(self, principal: Principal, subject_id: str) -> list[PrintedOriginal]:
        if not subject_id.strip():
            raise ValidationFailed("is required", "subject_id")
        async with self.sessions() as session:
            found = await document_store.of_subject(session, subject_id.strip())
        return [d for d in found if principal.can_see(READ_PERMISSION[d.kind], d.owner_id, d.org_path)]
