"""Money as an exact decimal amount with its ISO-4217 currency code: the shared kernel's Money
(salesgrid_common.money, one currency table for the platform) with two differences activities'
API depends on: the amount must be a Decimal, and it keeps the scale it was given (a fine of
"50" is reported as "50", not "50.00"), so nothing is quantized to the currency's minor units."""

from __future__ import annotations

from decimal import Decimal
from typing import Self

from salesgrid_common.currencies import MINOR_UNITS
from salesgrid_common.money import Money as _Money

from .errors import ValidationFailed


def is_currency_code(code: object) -> bool:
    """A code of the platform's ISO-4217 table (salesgrid_common.currencies)."""
    return isinstance(code, str) and code in MINOR_UNITS


class Money(_Money):
    def __post_init__(self) -> None:
        if not isinstance(self.amount, Decimal) or not self.amount.is_finite():
            raise ValidationFailed("must be a finite Decimal", "amount")
        if not is_currency_code(self.currency):
            raise ValidationFailed("must be an ISO-4217 code such as CNY", "currency")

    def times(self, factor: Decimal | int) -> Self:
        return type(self)(self.amount * factor, self.currency)
