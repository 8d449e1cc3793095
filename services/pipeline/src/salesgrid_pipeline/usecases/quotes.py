"""Quotes use cases."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid_common.auth import Principal
from salesgrid_common.errors import Conflict, DomainError, FailedPrecondition, NotFound, ValidationFailed
from salesgrid_common.ids import new_id
from salesgrid_pipeline.domain import quotes as quote_rules
from salesgrid_pipeline.contracts_client import ContractDraftRequest, ContractLineDraft
from salesgrid_pipeline.domain.opportunities import Opportunity
from salesgrid_pipeline.models import Quote

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

    @staticmethod
    def _quote_lines(row: Quote) -> list[quote_rules.QuoteLine]:
        return [
            quote_rules.QuoteLine(
                line["product_id"],
                line["name"],
                Decimal(line["unit_price"]),
                Decimal(line["quantity"]),
                quote_rules.Discount(quote_rules.DiscountKind(line["discount_kind"]), Decimal(line["discount_value"]))
                if line.get("discount_kind")
                else None,
            )
            for line in row.lines
        ]

    def _quote_domain(self, row: Quote) -> quote_rules.Quote:
        lines = self._quote_lines(row)
        return quote_rules.Quote(
            quote_id=row.id,
            opportunity_id=row.opportunity_id,
            version=row.version,
            currency=row.currency,
            lines=tuple(lines),
            pricing=quote_rules.price_quote(lines, row.currency),
            status=quote_rules.QuoteStatus(row.status),
            created_at=row.created_at,
            created_by=row.created_by,
        )

    async def _quote_versions(self, session: AsyncSession, opportunity_id: str) -> list[Quote]:
        return list(
            (
                await session.scalars(
                    select(Quote).where(Quote.opportunity_id == opportunity_id).order_by(Quote.version)
                )
            ).all()
        )

    async def create_quote(
        self, principal: Principal, opportunity_id: str, currency: str, lines: Sequence[QuoteLineRequest]
    ) -> Quote:
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
            rows = await self._quote_versions(session, opportunity_id)
            revision = quote_rules.new_version(
                [self._quote_domain(r) for r in rows],
                quote_id=new_id(),
                opportunity_id=opportunity_id,
                currency=currency,
                lines=priced,
                actor=principal.subject_id,
                now=now,
            )
            quote, pricing = revision.new, revision.new.pricing
            row = Quote(
                id=quote.quote_id,
                opportunity_id=opportunity_id,
                owner_id=opportunity.owner_id,
                org_path=opportunity.org_path,
                version=quote.version,
                currency=currency,
                lines=[
                    {
                        "product_id": line.product_id,
                        "name": line.name,
                        "unit_price": str(line.unit_price),
                        "quantity": str(line.quantity),
                        "discount_kind": line.discount.kind.value if line.discount else "",
                        "discount_value": str(line.discount.value) if line.discount else "",
                        "gross": str(price.gross),
                        "discount": str(price.discount),
                        "net": str(price.net),
                    }
                    for line, price in zip(quote.lines, pricing.lines)
                ],
                subtotal=str(pricing.subtotal),
                discount_total=str(pricing.discount_total),
                total=str(pricing.total),
                status=quote.status.value,
                created_at=now,
                created_by=principal.subject_id,
                accepted_at=None,
                accepted_by="",
                contract_id="",
            )
            superseded_id = ""
            if revision.superseded is not None:
                previous = next(r for r in rows if r.id == revision.superseded.quote_id)
                previous.status = revision.superseded.status.value
                superseded_id = previous.id
            session.add(row)
            try:
                await session.flush()
            except IntegrityError:  # a concurrent new version took this number
                raise Conflict(
                    "another version of this quote was just issued; reload and retry", "opportunity_id"
                ) from None
            await self._route_discount(session, principal, row, opportunity, now)
            await self._quote_event(
                session, "versioned" if superseded_id else "created", row, opportunity, principal, now, superseded_id
            )
            return row

    async def list_quotes(self, principal: Principal, opportunity_id: str) -> list[Quote]:
        async with self.sessions() as session:
            await self._visible_opportunity(session, principal, opportunity_id, QUOTE_READ)
            return await self._quote_versions(session, opportunity_id)

    async def _acceptable_quote(
        self, session: AsyncSession, principal: Principal, quote_id: str, now: datetime
    ) -> tuple[Quote, Opportunity, quote_rules.Quote]:
        row = await session.get(Quote, quote_id)
        if row is None:
            raise NotFound(f"quote {quote_id!r} does not exist", "id")
        opportunity = await self._visible_opportunity(session, principal, row.opportunity_id, QUOTE_UPDATE)
        if row.status == quote_rules.QuoteStatus.CURRENT.value:
            discounts.check_acceptable(discounts.DiscountApproval(row.discount_approval or ""), row.discount_rate)
        rows = await self._quote_versions(session, row.opportunity_id)
        accepted = quote_rules.accept([self._quote_domain(r) for r in rows], row.version, principal.subject_id, now)
        return row, opportunity, accepted

    @staticmethod
    def _contract_draft(row: Quote, opportunity: Opportunity, block: ContractBlock) -> ContractDraftRequest:
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
        for line in row.lines:
            if line.get("discount_kind") == quote_rules.DiscountKind.PERCENT.value:
                percent = Decimal(line["discount_value"])
            elif line.get("discount_kind") and Decimal(line["gross"]):
                percent = (Decimal(line["discount"]) * 100 / Decimal(line["gross"])).quantize(Decimal("0.000001"))
            else:
                percent = Decimal(0)
            lines.append(
                ContractLineDraft(
                    line["product_id"],
                    line["quantity"],
                    line["unit_price"],
                    format(percent.normalize(), "f") if percent else "0",
                    f"{line['name']} (quote v{row.version})",
                )
            )
        return ContractDraftRequest(
            customer_id=opportunity.customer_id,
            currency=row.currency,
            channel=opportunity.channel or "direct",
            partner_id=opportunity.partner_id or "",
            branch_code=block.branch_code.strip(),
            start_date=days["start_date"].isoformat(),
            end_date=days["end_date"].isoformat(),
            terms=block.terms,
            lines=tuple(lines),
        )

    async def accept_quote(self, principal: Principal, quote_id: str, contract: ContractBlock | None = None) -> Quote:
        """Accept the current version. With a contract block the draft contract is created through
        the contracts service after every local check passed and before the acceptance commits: if
        the contracts service refuses, nothing is accepted; if the commit then fails, the error
        names the contract that was created."""
        now = self.clock()
        contract_id = ""
        if contract is not None:
            async with self.sessions() as session:
                row, opportunity, _ = await self._acceptable_quote(session, principal, quote_id, now)
                draft = self._contract_draft(row, opportunity, contract)
            contract_id = await self.contracts.create_contract(principal, draft)
        try:
            async with self.sessions() as session, session.begin():
                row, opportunity, accepted = await self._acceptable_quote(session, principal, quote_id, now)
                row.status, row.accepted_at, row.accepted_by = accepted.status.value, now, principal.subject_id
                row.contract_id = contract_id
                await self._quote_event(session, "accepted", row, opportunity, principal, now)
                return row
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
