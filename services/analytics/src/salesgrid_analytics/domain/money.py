"""Money and quantity helpers: Decimal only, ISO-4217 codes, explicit rounding."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from salesgrid_common.currencies import MINOR_UNITS

from .errors import ValidationFailed

CENT = Decimal("0.01")
RATIO_PLACES = Decimal("0.0001")


def validate_currency(code: str, field: str = "currency") -> str:
    """``code`` if it is in the platform's one ISO-4217 table (salesgrid_common.currencies)."""
    if not isinstance(code, str) or code not in MINOR_UNITS:
        raise ValidationFailed(f"{code!r} is not an ISO-4217 currency code", field)
    return code


def to_decimal(value: Decimal | int | str, field: str) -> Decimal:
    """A finite Decimal; floats are refused because they cannot hold cents exactly."""
    if isinstance(value, bool) or isinstance(value, float):
        raise ValidationFailed("must be a Decimal, int or string, not a float", field)
    try:
        result = Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        raise ValidationFailed(f"{value!r} is not a number", field) from None
    if not result.is_finite():
        raise ValidationFailed("must be a finite number", field)
    return result


def money(value: Decimal | int | str, field: str = "amount") -> Decimal:
    """A non-negative amount with at most two decimals."""
    amount = to_decimal(value, field)
    if amount < 0:
        raise ValidationFailed("must not be negative", field)
    if amount != amount.quantize(CENT):
        raise ValidationFailed("must have at most two decimals", field)
    return amount.quantize(CENT)


def round_money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def ratio(numerator: Decimal | int, denominator: Decimal | int) -> Decimal | None:
    """numerator / denominator to four decimals; None when the denominator is zero."""
    if denominator == 0:
        return None
    return (Decimal(numerator) / Decimal(denominator)).quantize(RATIO_PLACES, rounding=ROUND_HALF_UP)
