"""Money: ``Decimal`` amounts with an ISO-4217 currency from a bundled table of active codes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from salesgrid_common.currencies import MINOR_UNITS as SHARED_MINOR_UNITS

from .errors import ValidationFailed

# Active ISO-4217 codes -> minor units: the platform's one table (salesgrid_common.currencies).
MINOR_UNITS: Mapping[str, int] = SHARED_MINOR_UNITS
CURRENCIES: frozenset[str] = frozenset(MINOR_UNITS)


def validate_currency(code: object, field: str = "currency") -> str:
    """Return the code if it is a known ISO-4217 code (upper case, exact); raise otherwise."""
    if not isinstance(code, str) or code not in MINOR_UNITS:
        raise ValidationFailed(f"unknown ISO-4217 currency code {code!r}", field)
    return code


def minor_unit_exponent(currency: str) -> Decimal:
    """``Decimal('0.01')`` for a two-decimal currency, ``Decimal('1')`` for JPY, and so on."""
    return Decimal(1).scaleb(-MINOR_UNITS[validate_currency(currency)])


def round_to_currency(amount: Decimal, currency: str) -> Decimal:
    """Round half up to the currency's minor units (the one rounding rule used for money)."""
    return amount.quantize(minor_unit_exponent(currency), rounding=ROUND_HALF_UP)


def check_decimal(value: object, field: str, *, allow_negative: bool = False) -> list[tuple[str, str]]:
    """Violations of a monetary or quantity ``Decimal`` (finite, and ≥ 0 unless allowed)."""
    if isinstance(value, bool) or not isinstance(value, Decimal):
        return [(field, "must be a Decimal (never a float)")]
    if not value.is_finite():
        return [(field, "must be a finite number")]
    if not allow_negative and value < 0:
        return [(field, "must not be negative")]
    return []


@dataclass(frozen=True, slots=True)
class Money:
    """An amount in one currency; build with :func:`money` to validate."""

    amount: Decimal
    currency: str


def check_money(value: object, field: str) -> list[tuple[str, str]]:
    """Violations of a non-negative :class:`Money` value, with fields ``<field>.amount``/``.currency``."""
    if not isinstance(value, Money):
        return [(field, "must be an amount with a currency")]
    problems = check_decimal(value.amount, f"{field}.amount")
    if not isinstance(value.currency, str) or value.currency not in MINOR_UNITS:
        problems.append((f"{field}.currency", f"unknown ISO-4217 currency code {value.currency!r}"))
    return problems


def money(amount: Decimal, currency: str, field: str = "amount") -> Money:
    """A validated non-negative :class:`Money`; raises ``ValidationFailed`` naming ``field``."""
    value = Money(amount, currency)
    problems = check_money(value, field)
    if problems:
        raise ValidationFailed.many(problems)
    return value
