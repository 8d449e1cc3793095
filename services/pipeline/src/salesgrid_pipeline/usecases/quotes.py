"""Quotes use cases."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid_common.auth.principal import Principal
from salesgrid_common.errors import DomainError, FailedPrecondition, ValidationFailed
from salesgrid_common.ids import new_id
from salesgrid_pipeline.domain import quotes as quote_rules
from salesgrid_pipeline.contracts_client import ContractDraftRequest, ContractLineDraft
from salesgrid_pipeline.domain.opportunities import Opportunity
from salesgrid_pipeline.stores import quotes as quote_store

from salesgrid_pipeline.domain import discounts
from salesgrid_pipeline.usecases.discounts import DiscountsMixin


QUOTE_READ, QUOTE_CREATE, QUOTE_UPDATE = "quotes:read", "quotes:create", "quotes:update"  # on the opportunity's scope


@dataclass(frozen=True)
class QuoteLineRequest:
    """A quote line as asked for: the catalogue supplies its name and unit price."""

    product_id: str
    quantity: Decimal
    discount: quote_rules.Discount | None = None


@dataclass(frozen=True)
class ContractBlock:
    """The contract draft asked for when accepting a quote."""

    branch_code: str
    start_date: str
    end_date: str
    terms: str = ""


class QuotesMixin(DiscountsMixin):
    """PipelineUseCases: quotes."""

    async def create_quote(
        self, principal: Principal, opportunity_id: str, currency: str, lines: Sequence[QuoteLineRequest]
    ) -> quote_rules.Quote:
        """A new version of the opportunity's quote (the first one, or one superseding the
        current version), priced from the catalogue and snapshotted."""
        now = self.clock()
        async with self.sessions() as session:
            opportunity = await self._visible_opportunity(session, principal, opportunity_id, QUOTE_CREATE)
            currency = currency.strip() or opportunity.amount.currency
        if not lines:
            raise ValidationFailed("a quote needs at least one line", "lines")
        products = await self.contracts.products(principal, [line.product_id.strip() for line in lines])
        problems: list[tuple[str, str]] = []
        priced: list[quote_rules.QuoteLine] = []
        for i, line in enumerate(lines):
            product = products.get(line.product_id.strip())
            if product is None:
                problems.append((f"lines[{i}].product_id", f"{line.product_id!r} is not an active catalogue product"))
            elif currency not in product.prices:
                problems.append((f"lines[{i}].product_id", f"{product.name!r} has no {currency} price"))
            else:
                priced.append(
                    quote_rules.QuoteLine(
                        product.product_id, product.name, product.prices[currency], line.quantity, line.discount
                    )
                )
        if problems:
            raise ValidationFailed.many(problems)
        async with self.sessions() as session, session.begin():
            opportunity = await self._visible_opportunity(session, principal, opportunity_id, QUOTE_CREATE)
            if opportunity.status != "open":
                raise FailedPrecondition(
                    f"the opportunity is closed ({opportunity.status}); it cannot be quoted", "opportunity_id"
                )
            existing = await quote_store.versions(session, opportunity_id)
            revision = quote_rules.new_version(
                existing,
                quote_id=new_id(),
                opportunity_id=opportunity_id,
                currency=currency,
                lines=priced,
                actor=principal.subject_id,
                now=now,
            )
            quote = replace(revision.new, owner_id=opportunity.owner_id, org_path=opportunity.org_path)
            superseded_id = ""
            if revision.superseded is not None:
                await quote_store.save(session, revision.superseded)
                superseded_id = revision.superseded.quote_id
            await quote_store.insert(session, quote)
            quote = await self._route_discount(session, principal, quote, opportunity, now)
            await self._quote_event(
                session, "versioned" if superseded_id else "created", quote, opportunity, principal, now, superseded_id
            )
            return quote

    async def list_quotes(self, principal: Principal, opportunity_id: str) -> list[quote_rules.Quote]:
        async with self.sessions() as session:
            await self._visible_opportunity(session, principal, opportunity_id, QUOTE_READ)
            return await quote_store.versions(session, opportunity_id)

    async def _acceptable_quote(
        self, session: AsyncSession, principal: Principal, quote_id: str, now: datetime
    ) -> tuple[Opportunity, quote_rules.Quote]:
        """The opportunity and the quote as accepting it would leave it (nothing stored yet)."""
        quote = await quote_store.load(session, quote_id)
        opportunity = await self._visible_opportunity(session, principal, quote.opportunity_id, QUOTE_UPDATE)
        if quote.status is quote_rules.QuoteStatus.CURRENT:
            discounts.check_acceptable(discounts.DiscountApproval(quote.discount_approval), quote.discount_rate)
        versions = await quote_store.versions(session, quote.opportunity_id)
        return opportunity, quote_rules.accept(versions, quote.version, principal.subject_id, now)

    @staticmethod
    def _contract_draft(
        quote: quote_rules.Quote, opportunity: Opportunity, block: ContractBlock
    ) -> ContractDraftRequest:
        """The contract draft for an accepted quote: its lines at their snapshot prices; an amount
        discount becomes the equivalent percentage of the line's gross (the contract's discounts are
        percentages)."""
        problems: list[tuple[str, str]] = []
        if not block.branch_code.strip():
            problems.append(("contract.branch_code", "is required"))
        days: dict[str, date] = {}
        for name, text in (("start_date", block.start_date), ("end_date", block.end_date)):
            try:
                days[name] = date.fromisoformat(text.strip())
            except ValueError:
                problems.append((f"contract.{name}", "must be a date YYYY-MM-DD"))
        if len(days) == 2 and days["end_date"] < days["start_date"]:
            problems.append(("contract.end_date", "must not be before start_date"))
        if problems:
            raise ValidationFailed.many(problems)
        lines = []
        for line, price in zip(quote.lines, quote.pricing.lines, strict=True):
            if line.discount is not None and line.discount.kind is quote_rules.DiscountKind.PERCENT:
                percent = line.discount.value
            elif line.discount is not None and price.gross:
                percent = (price.discount * 100 / price.gross).quantize(Decimal("0.000001"))
            else:
                percent = Decimal(0)
            lines.append(
                ContractLineDraft(
                    line.product_id,
                    str(line.quantity),
                    str(line.unit_price),
                    format(percent.normalize(), "f") if percent else "0",
                    f"{line.name} (quote v{quote.version})",
                )
            )
        return ContractDraftRequest(
            customer_id=opportunity.customer_id,
            currency=quote.currency,
            channel=opportunity.channel or "direct",
            partner_id=opportunity.partner_id or "",
            branch_code=block.branch_code.strip(),
            start_date=days["start_date"].isoformat(),
            end_date=days["end_date"].isoformat(),
            terms=block.terms,
            lines=tuple(lines),
        )

    async def accept_quote(
        self, principal: Principal, quote_id: str, contract: ContractBlock | None = None
    ) -> quote_rules.Quote:
        """Accept the current version. With a contract block the draft contract is created through
        the contracts service after every local check passed and before the acceptance commits: if
        the contracts service refuses, nothing is accepted; if the commit then fails, the error
        names the contract that was created."""
        now = self.clock()
        contract_id = ""
        if contract is not None:
            async with self.sessions() as session:
                opportunity, accepted = await self._acceptable_quote(session, principal, quote_id, now)
                draft = self._contract_draft(accepted, opportunity, contract)
            contract_id = await self.contracts.create_contract(principal, draft)
        try:
            async with self.sessions() as session, session.begin():
                opportunity, accepted = await self._acceptable_quote(session, principal, quote_id, now)
                accepted = replace(accepted, contract_id=contract_id)
                await quote_store.save(session, accepted)
                await self._quote_event(session, "accepted", accepted, opportunity, principal, now)
                return accepted
        except DomainError as error:
            if not contract_id:
                raise
            raise type(error)(
                f"{error.message}; the quote was not accepted, but draft contract {contract_id} "
                "was already created in the contracts service",
                error.field or "id",
            ) from None
        except Exception:
            if not contract_id:
                raise
            raise FailedPrecondition(
                f"the acceptance could not be saved; the quote was not accepted, but draft "
                f"contract {contract_id} was already created in the contracts service",
                "id",
            ) from None
