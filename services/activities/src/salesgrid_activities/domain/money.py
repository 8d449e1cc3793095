"""Money as an exact decimal amount with its ISO-4217 currency code."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from .errors import ValidationFailed

_CURRENCY = re.compile(r"^[A-Z]{3}$")


def is_currency_code(code: object) -> bool:
    """Three upper-case letters, the shape of an ISO-4217 code."""
    return isinstance(code, str) and _CURRENCY.fullmatch(code) is not None


@dataclass(frozen=True)
class Money:
    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        if not isinstance(self.amount, Decimal) or not self.amount.is_finite():
            raise ValidationFailed("must be a finite Decimal", "amount")
        if not is_currency_code(self.currency):
            raise ValidationFailed("must be an ISO-4217 code such as CNY", "currency")

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(Decimal("0"), currency)

    def __add__(self, other: Money) -> Money:
        if other.currency != self.currency:
            raise ValidationFailed(f"cannot add {other.currency} to {self.currency}", "currency")
        return Money(self.amount + other.amount, self.currency)

    def times(self, count: int) -> Money:
        return Money(self.amount * count, self.currency)
