"""Money: an exact ``Decimal`` amount in an ISO-4217 currency, at that currency's minor units.

The platform's one Money (part of the pure shared kernel: no gRPC, HTTP, NATS or database import),
validated against the one ISO-4217 table in ``salesgrid_common.currencies``. Amounts never carry more decimals than the currency allows; arithmetic that can produce more
(multiplying by a quantity or a discount) rounds explicitly ROUND_HALF_UP, and floats are refused
everywhere because they cannot represent 0.10 exactly.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Self

from salesgrid_common.currencies import check_whole_digits, minor_units, validate_currency
from salesgrid_common.errors import ValidationFailed

_PLAIN_DECIMAL = re.compile(r"^[+-]?\d+(\.\d+)?$")


def _quantum(currency: str) -> Decimal:
    return Decimal(1).scaleb(-minor_units(currency))


def _decimal_places(value: Decimal) -> int:
    exponent = value.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def to_decimal(value: object, field: str) -> Decimal:
    """An exact finite Decimal from a Decimal or int; floats and bools are refused."""
    if isinstance(value, bool) or not isinstance(value, (Decimal, int)):
        raise ValidationFailed(f"must be a Decimal or int, not {type(value).__name__}", field)
    number = Decimal(value)
    if not number.is_finite():
        raise ValidationFailed("must be a finite number", field)
    return number


def parse_decimal(text: object, field: str) -> Decimal:
    """A plain decimal number from a string such as "1234.50" (no exponent, no separators)."""
    if not isinstance(text, str) or not _PLAIN_DECIMAL.fullmatch(text.strip()):
        raise ValidationFailed(f"must be a decimal number such as 1234.50, got {text!r}", field)
    try:
        value = Decimal(text.strip())
    except InvalidOperation as exc:  # pragma: no cover - the pattern already guards this
        raise ValidationFailed("must be a decimal number", field) from exc
    check_whole_digits(value, field)
    return value


@dataclass(frozen=True)
class Money:
    """An amount in one currency; construct with exact values, use ``rounded`` to round."""

    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        currency = validate_currency(self.currency)
        amount = to_decimal(self.amount, "amount")
        digits = minor_units(currency)
        if _decimal_places(amount) > digits:
            raise ValidationFailed(f"has more than {digits} decimal places for {currency}", "amount")
        # Normalise the exponent so 5 and 5.00 CNY print alike.
        object.__setattr__(self, "amount", amount.quantize(_quantum(currency)))

    @classmethod
    def rounded(cls, amount: Decimal | int, currency: str) -> Self:
        """Round ``amount`` ROUND_HALF_UP to the currency's minor units."""
        exact = to_decimal(amount, "amount")
        return cls(exact.quantize(_quantum(validate_currency(currency)), rounding=ROUND_HALF_UP), currency)

    @classmethod
    def zero(cls, currency: str) -> Self:
        return cls(Decimal(0), currency)

    @property
    def is_zero(self) -> bool:
        return self.amount == 0

    @property
    def is_positive(self) -> bool:
        return self.amount > 0

    @property
    def is_negative(self) -> bool:
        return self.amount < 0

    def _same(self, other: object, operation: str) -> Money:
        if not isinstance(other, Money):
            raise ValidationFailed(f"cannot {operation} {type(other).__name__} and Money", "amount")
        if other.currency != self.currency:
            raise ValidationFailed(f"cannot {operation} {self.currency} and {other.currency}", "currency")
        return other

    def __add__(self, other: Money) -> Self:
        return type(self)(self.amount + self._same(other, "add").amount, self.currency)

    def __sub__(self, other: Money) -> Self:
        return type(self)(self.amount - self._same(other, "subtract").amount, self.currency)

    def __neg__(self) -> Self:
        return type(self)(-self.amount, self.currency)

    def times(self, factor: Decimal | int) -> Self:
        """Multiply by an exact factor, rounding the product ROUND_HALF_UP."""
        return type(self).rounded(self.amount * to_decimal(factor, "factor"), self.currency)

    def __lt__(self, other: Money) -> bool:
        return self.amount < self._same(other, "compare").amount

    def __le__(self, other: Money) -> bool:
        return self.amount <= self._same(other, "compare").amount

    def __gt__(self, other: Money) -> bool:
        return self.amount > self._same(other, "compare").amount

    def __ge__(self, other: Money) -> bool:
        return self.amount >= self._same(other, "compare").amount

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"


def money_of(amount: Decimal | int, currency: str, field: str) -> Money:
    """Construct Money, reporting a bad amount or currency under ``field`` (e.g. "lines[0].unit_price")."""
    validate_currency(currency, f"{field}.currency")
    try:
        return Money(to_decimal(amount, "amount"), currency)
    except ValidationFailed as exc:
        raise ValidationFailed(exc.message, field) from exc


def parse_money(text: object, currency: str, field: str = "amount", *, allow_negative: bool = False) -> Money:
    """Money from user text such as "1234.50"; refuses non-numbers, excess decimals and (unless
    allowed) negative amounts, each time naming ``field``."""
    amount = parse_decimal(text, field)
    if amount < 0 and not allow_negative:
        raise ValidationFailed("must not be negative", field)
    return money_of(amount, currency, field)


def sum_money(items: Iterable[Money], currency: str) -> Money:
    """Total of ``items`` (all in ``currency``); zero for none."""
    total = Money.zero(currency)
    for item in items:
        total = total + item
    return total
