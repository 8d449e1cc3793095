"""Quotes (报价): versioned, product lines with discounts, totals rounded half up to minor units.

Rounding: each line's gross (unit price × quantity) is rounded half up to the currency's minor
units, a percentage discount is taken from that rounded gross and rounded the same way, the net
is gross − discount, and the quote total is the sum of the line nets (so the printed lines add
up to the printed total exactly).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from enum import Enum

from salesgrid_common.currencies import MINOR_UNITS, round_to_currency, validate_currency
from salesgrid_common.validation import check_decimal, check_text, require_aware, require_text

from .errors import FailedPrecondition, NotFound, ValidationFailed


class DiscountKind(str, Enum):
    PERCENT = "percent"  # 0..100 of the line's gross
    AMOUNT = "amount"  # absolute, in the quote's currency, at most the line's gross


@dataclass(frozen=True, slots=True)
class Discount:
    kind: DiscountKind
    value: Decimal


@dataclass(frozen=True, slots=True)
class QuoteLine:
    product_id: str
    name: str
    unit_price: Decimal  # snapshot of the price list at quoting time
    quantity: Decimal
    discount: Discount | None = None


@dataclass(frozen=True, slots=True)
class LinePrice:
    gross: Decimal
    discount: Decimal
    net: Decimal


@dataclass(frozen=True, slots=True)
class QuotePricing:
    lines: tuple[LinePrice, ...]
    subtotal: Decimal  # sum of gross
    discount_total: Decimal
    total: Decimal  # sum of net


class QuoteStatus(str, Enum):
    CURRENT = "current"  # the latest version, open for acceptance
    SUPERSEDED = "superseded"
    ACCEPTED = "accepted"


@dataclass(frozen=True, slots=True)
class Quote:
    quote_id: str
    opportunity_id: str
    version: int
    currency: str
    lines: tuple[QuoteLine, ...]
    pricing: QuotePricing
    status: QuoteStatus
    created_at: datetime
    created_by: str
    accepted_at: datetime | None = None
    accepted_by: str | None = None
    # as stored with it: the opportunity's owner and org path (the quote's scope), the draft contract
    # started on acceptance, and the special discount (the deepest line discount in per cent and its
    # approval: "" within the unit's threshold | pending | approved | rejected)
    owner_id: str = ""
    org_path: str = ""
    contract_id: str = ""
    discount_rate: Decimal = Decimal(0)
    discount_approval: str = ""
    approval_started_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class QuoteRevision:
    new: Quote
    superseded: Quote | None  # the previous current version, now SUPERSEDED (persist both)


def _line_problems(line: object, where: str) -> list[tuple[str, str]]:
    if not isinstance(line, QuoteLine):
        return [(where, "must be a quote line")]
    problems = check_text(line.product_id, f"{where}.product_id", max_length=64)
    problems += check_text(line.name, f"{where}.name", max_length=200)
    problems += check_decimal(line.unit_price, f"{where}.unit_price")
    quantity_problems = check_decimal(line.quantity, f"{where}.quantity")
    if not quantity_problems and line.quantity == 0:
        quantity_problems = [(f"{where}.quantity", "must be greater than zero")]
    problems += quantity_problems
    if line.discount is not None:
        discount = line.discount
        value_problems = check_decimal(discount.value, f"{where}.discount.value")
        problems += value_problems
        if not isinstance(discount.kind, DiscountKind):
            problems.append((f"{where}.discount.kind", "must be percent or amount"))
        elif not value_problems and discount.kind is DiscountKind.PERCENT and discount.value > 100:
            problems.append((f"{where}.discount.value", "a percentage must be between 0 and 100"))
    return problems


def price_line(line: QuoteLine, currency: str, where: str = "line") -> LinePrice:
    """Gross, discount and net of one line in ``currency``; raises naming the line's fields."""
    validate_currency(currency)
    problems = _line_problems(line, where)
    if problems:
        raise ValidationFailed.many(problems)
    gross = round_to_currency(line.unit_price * line.quantity, currency)
    discount = Decimal(0)
    if line.discount is not None:
        if line.discount.kind is DiscountKind.PERCENT:
            discount = round_to_currency(gross * line.discount.value / 100, currency)
        else:
            discount = round_to_currency(line.discount.value, currency)
            if discount > gross:
                raise ValidationFailed("discount must not exceed the line amount", f"{where}.discount.value")
    return LinePrice(gross, discount, gross - discount)


def price_quote(lines: Sequence[QuoteLine], currency: str) -> QuotePricing:
    """Price every line and total them; all violations of all lines are reported together."""
    validate_currency(currency)
    if not lines:
        raise ValidationFailed("a quote needs at least one line", "lines")
    problems = [p for i, line in enumerate(lines) for p in _line_problems(line, f"lines[{i}]")]
    if problems:
        raise ValidationFailed.many(problems)
    priced = tuple(price_line(line, currency, f"lines[{i}]") for i, line in enumerate(lines))
    zero = Decimal(0).scaleb(-MINOR_UNITS[currency])
    return QuotePricing(
        lines=priced,
        subtotal=sum((p.gross for p in priced), zero),
        discount_total=sum((p.discount for p in priced), zero),
        total=sum((p.net for p in priced), zero),
    )


def new_version(
    versions: Sequence[Quote],
    *,
    quote_id: str,
    opportunity_id: str,
    currency: str,
    lines: Sequence[QuoteLine],
    actor: str,
    now: datetime,
) -> QuoteRevision:
    """Issue the next version of an opportunity's quote; it supersedes the current one.

    ``versions`` are all existing versions for the opportunity. Refused once one was accepted.
    """
    require_aware(now, "now")
    actor = require_text(actor, "actor", max_length=200)
    quote_id = require_text(quote_id, "quote_id", max_length=64)
    opportunity_id = require_text(opportunity_id, "opportunity_id", max_length=64)
    if any(q.opportunity_id != opportunity_id for q in versions):
        raise ValidationFailed("versions of another opportunity were passed", "versions")
    if any(q.status is QuoteStatus.ACCEPTED for q in versions):
        raise FailedPrecondition("a version of this quote was already accepted", "versions")
    pricing = price_quote(lines, validate_currency(currency))
    current = next((q for q in versions if q.status is QuoteStatus.CURRENT), None)
    quote = Quote(
        quote_id=quote_id,
        opportunity_id=opportunity_id,
        version=max((q.version for q in versions), default=0) + 1,
        currency=currency,
        lines=tuple(lines),
        pricing=pricing,
        status=QuoteStatus.CURRENT,
        created_at=now,
        created_by=actor,
    )
    superseded = replace(current, status=QuoteStatus.SUPERSEDED) if current else None
    return QuoteRevision(quote, superseded)


def accept(versions: Sequence[Quote], version: int, actor: str, now: datetime) -> Quote:
    """Accept one version: it must be the current one, and no version may be accepted yet."""
    require_aware(now, "now")
    actor = require_text(actor, "actor", max_length=200)
    if any(q.status is QuoteStatus.ACCEPTED for q in versions):
        raise FailedPrecondition("a version of this quote was already accepted", "version")
    quote = next((q for q in versions if q.version == version), None)
    if quote is None:
        raise NotFound(f"quote version {version} does not exist", "version")
    if quote.status is not QuoteStatus.CURRENT:
        raise FailedPrecondition(
            f"version {version} was superseded; only the latest version can be accepted", "version"
        )
    return replace(quote, status=QuoteStatus.ACCEPTED, accepted_at=now, accepted_by=actor)
