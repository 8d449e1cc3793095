"""Money is the shared kernel's (salesgrid_common.money, .currencies: one class, one ISO-4217 table,
one rounding rule), with one difference pipeline's rules and API depend on: an amount keeps the
scale it was given ("1000" stays "1000") and is checked where it is used, so a request's every bad
field is reported at once (`check_money`, naming ``<field>.amount`` / ``<field>.currency``)."""

from __future__ import annotations

from decimal import Decimal

from salesgrid_common.currencies import MINOR_UNITS, minor_unit_exponent, round_to_currency, validate_currency
from salesgrid_common.errors import ValidationFailed
from salesgrid_common.money import Money as _Money
from salesgrid_common.validation import check_decimal

CURRENCIES: frozenset[str] = frozenset(MINOR_UNITS)

__all__ = [
    "CURRENCIES",
    "MINOR_UNITS",
    "Money",
    "check_decimal",
    "check_money",
    "minor_unit_exponent",
    "money",
    "round_to_currency",
    "validate_currency",
]


class Money(_Money):
    """The kernel's Money, checked by :func:`check_money` instead of on construction."""

    def __post_init__(self) -> None:
        pass


def check_money(value: object, field: str) -> list[tuple[str, str]]:
    """Violations of a non-negative :class:`Money` value, with fields ``<field>.amount``/``.currency``."""
    if not isinstance(value, _Money):
        return [(field, "must be an amount with a currency")]
    problems = check_decimal(value.amount, f"{field}.amount")
    if not isinstance(value.currency, str) or value.currency not in MINOR_UNITS:
        problems.append((f"{field}.currency", f"unknown ISO-4217 currency code {value.currency!r}"))
    return problems


def money(amount: Decimal, currency: str, field: str = "amount") -> Money:
    """A checked non-negative :class:`Money`; raises ``ValidationFailed`` naming ``field``."""
    value = Money(amount, currency)
    problems = check_money(value, field)
    if problems:
        raise ValidationFailed.many(problems)
    return value
