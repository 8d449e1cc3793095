"""Drafting claims, attaching receipts and reading claims within the caller's scope."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from salesgrid_common.auth.principal import Principal
from salesgrid_common.directory import get_user
from salesgrid_common.errors import FailedPrecondition, NotFound, ValidationFailed
from salesgrid_common.ids import new_id
from salesgrid_common.paging import Page
from salesgrid_expenses import claim_events
from salesgrid_expenses.domain import claims, receipts
from salesgrid_expenses.domain.claims import ExpenseClaim
from salesgrid_expenses.stores.claims import (
    ClaimView,
    claim_view,
    claims_page,
    insert_claim,
    insert_receipt,
    receipt_with_content,
    save_claim,
)
from salesgrid_expenses.usecases._support import CREATE, READ, UPDATE, ExpensesUseCasesBase


class ClaimsMixin(ExpensesUseCasesBase):
    async def create_claim(
        self, principal: Principal, title: str, currency: str, lines: Sequence[dict[str, str]]
    ) -> ClaimView:
        """A draft of the caller's own (a claim is filed by the person who spent the money)."""
        principal.require(CREATE)
        if principal.kind != "user":
            raise FailedPrecondition("expense claims are filed by people, not API keys", "owner")
        name = (title or "").strip()
        if len(name) > 200:
            raise ValidationFailed("must be at most 200 characters", "title")
        code = (currency or "").strip().upper()
        now = self.clock()
        async with self.sessions() as session:
            today = await self._local_today(session, principal.subject_id, now)
        parsed = await self._linked(principal, claims.new_claim_lines(lines, code, today))
        async with self.sessions() as session, session.begin():
            me = await get_user(session, principal.subject_id)
            org_path = me.org_path if me else principal.org_path
            claim = ExpenseClaim(
                id=new_id(),
                owner_id=principal.subject_id,
                org_unit_id=principal.unit_id,
                org_path=org_path,
                title=name or f"Expenses {today.isoformat()}",
                currency=code,
                total=claims.total(parsed),
                status=claims.ClaimStatus.DRAFT,
                created_at=now,
                lines=parsed,
            )
            await insert_claim(session, claim)
            await self._claim_event(session, "created", claim, principal, now)
            return ClaimView(claim, (), ())

    async def _linked(
        self, principal: Principal, lines: tuple[claims.ExpenseLine, ...]
    ) -> tuple[claims.ExpenseLine, ...]:
        """Links checked by the owning services, outside any local transaction (no lock held over
        a network call)."""
        if not any(line.customer_id or line.opportunity_id for line in lines):
            return lines
        if self.links is None:
            raise FailedPrecondition("linked customers and opportunities cannot be checked here", "lines")
        return await self.links.resolve(principal, lines)

    async def add_receipt(
        self,
        principal: Principal,
        claim_id: str,
        line_no: int,
        file_name: str,
        content_type: str,
        content: bytes,
        expected_version: int = 0,
    ) -> ClaimView:
        principal.require(UPDATE)  # before validating: no hints to those who may not
        checked = receipts.check_receipt(line_no, file_name, content_type, content)
        now = self.clock()
        async with self.sessions() as session, session.begin():
            view = await claim_view(
                session,
                await self._load(session, principal, claim_id, UPDATE, lock=True, expected_version=expected_version),
            )
            claim = view.claim
            if claim.owner_id != principal.subject_id:
                raise FailedPrecondition("only the person who filed the claim attaches its receipts", "claim_id")
            claims.require_status(claim.status, claims.ClaimStatus.DRAFT, action="changed")
            receipts.check_room(
                line_no,
                {line.line_no for line in claim.lines},
                sum(1 for r in view.receipts if r.line_no == line_no),
                checked.sha256,
                {r.sha256 for r in view.receipts},
            )
            receipt = replace(checked, id=new_id(), created_at=now)
            await insert_receipt(session, claim, receipt, content)
            stored = await save_claim(session, claim, claim)  # a new receipt is a new version
            await self._event(
                session,
                "receipt.attached",
                claim_events.receipt_attached(claim, receipt),
                claim.id,
                principal,
                claim.org_path,
                now,
            )
            await session.flush()
            return ClaimView(stored, (*view.receipts, receipt), view.steps)

    async def get_receipt(self, principal: Principal, claim_id: str, receipt_id: str) -> tuple[receipts.Receipt, bytes]:
        """The receipt and its file."""
        principal.require(READ)
        async with self.sessions() as session:
            await self._load(session, principal, claim_id, READ)
            found = await receipt_with_content(session, claim_id, receipt_id)
            if found is None:
                raise NotFound(f"receipt {receipt_id} not found on this claim", "receipt_id")
            return found

    async def get_claim(self, principal: Principal, claim_id: str) -> ClaimView:
        principal.require(READ)
        async with self.sessions() as session:
            return await claim_view(session, await self._load(session, principal, claim_id, READ))

    async def list_claims(
        self, principal: Principal, status: str, owner_id: str, page_size: int = 0, cursor: str = ""
    ) -> Page[ClaimView]:
        principal.require(READ)
        try:
            wanted = claims.ClaimStatus(status) if status else None
        except ValueError:
            raise ValidationFailed(
                f"must be one of {', '.join(s.value for s in claims.ClaimStatus)}", "status"
            ) from None
        async with self.sessions() as session:
            return await claims_page(
                session, principal, READ, status=wanted, owner_id=owner_id, page_size=page_size, cursor=cursor
            )
