"""ISO-4217 currency codes with their minor units (digits after the decimal point): the one table
every service validates money against.

Bundled rather than fetched so validation is deterministic; the table follows the ISO-4217
list of active codes (funds and precious-metal codes without minor units are left out); codes
withdrawn recently (CUC, SLL, ZWL) stay accepted so records made with them remain valid.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal
from types import MappingProxyType

from salesgrid_common.errors import ValidationFailed

_ZERO = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF"
_THREE = "BHD IQD JOD KWD LYD OMR TND"
_FOUR = "CLF UYW"
_TWO = (
    "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BOV BRL BSD BTN BWP BYN "
    "BZD CAD CDF CHE CHF CHW COP COU CRC CUC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP "
    "GEL GHS GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW KYD KZT LAK LBP "
    "LKR LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR "
    "NZD PAB PEN PGK PHP PKR PLN QAR RON RSD CNY RUB SAR SBD SCR SDG SEK SGD SHP SLE SLL SOS SRD "
    "SSP STN SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS UAH USD USN UYU UZS VED VES WST XCD YER "
    "ZAR ZMW ZWG ZWL"
)

MINOR_UNITS: Mapping[str, int] = MappingProxyType(
    {code: digits for codes, digits in ((_ZERO, 0), (_TWO, 2), (_THREE, 3), (_FOUR, 4)) for code in codes.split()}
)


def validate_currency(code: object, field: str = "currency") -> str:
    """Return ``code`` if it is a known ISO-4217 code, else fail naming ``field``."""
    if not isinstance(code, str) or code not in MINOR_UNITS:
        raise ValidationFailed(f"must be an ISO-4217 currency code such as CNY, got {code!r}", field)
    return code


def minor_units(code: str, field: str = "currency") -> int:
    """Digits after the decimal point for ``code`` (CNY 2, JPY 0, KWD 3)."""
    return MINOR_UNITS[validate_currency(code, field)]


# Amounts (and the decimals read with them) have at most this many digits before the point: far
# beyond any real amount, and within what is stored (DecimalText, 40 characters) and what Decimal
# computes exactly (28 significant digits, past which quantize() raises instead of answering).
AMOUNT_WHOLE_DIGITS = 20


def check_whole_digits(value: Decimal, field: str) -> None:
    if value and value.adjusted() >= AMOUNT_WHOLE_DIGITS:
        raise ValidationFailed(f"must have at most {AMOUNT_WHOLE_DIGITS} digits before the point", field)


def parse_amount(text: object, currency: str, field: str = "amount", *, positive: bool = False) -> Decimal:
    """A decimal string as an exact amount of ``currency``: finite, not negative (positive when
    asked) and with no more decimals than the currency's minor units (never rounded silently)."""
    digits = minor_units(currency)
    try:
        value = Decimal(str(text).strip())
    except ArithmeticError:
        raise ValidationFailed(f"must be a decimal amount such as 12.50, got {text!r}", field) from None
    if not value.is_finite():
        raise ValidationFailed("must be a finite amount", field)
    check_whole_digits(value, field)
    if value < 0 or (positive and value == 0):
        raise ValidationFailed("must be positive" if positive else "must not be negative", field)
    if value != value.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP):
        raise ValidationFailed(f"{currency} amounts have at most {digits} decimals", field)
    return value.quantize(Decimal(1).scaleb(-digits))


def minor_unit_exponent(currency: str) -> Decimal:
    """``Decimal('0.01')`` for a two-decimal currency, ``Decimal('1')`` for JPY, and so on."""
    return Decimal(1).scaleb(-minor_units(currency))


def round_to_currency(amount: Decimal, currency: str) -> Decimal:
    """``amount`` rounded ROUND_HALF_UP to the currency's minor units (the one rounding rule of money)."""
    return amount.quantize(minor_unit_exponent(currency), rounding=ROUND_HALF_UP)
