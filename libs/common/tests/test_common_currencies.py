"""The shared ISO-4217 table and exact amount parsing (no silent rounding)."""

from decimal import Decimal

import pytest
from salesgrid_common.currencies import minor_units, parse_amount, validate_currency
from salesgrid_common.errors import ValidationFailed
from salesgrid_common.money import parse_decimal, parse_money


def test_codes_and_minor_units() -> None:
    assert (minor_units("CNY"), minor_units("JPY"), minor_units("KWD")) == (2, 0, 3)
    assert validate_currency("ZWG") == "ZWG"
    for bad in ("cny", "RMB", "", None):
        with pytest.raises(ValidationFailed) as caught:
            validate_currency(bad, "lines[0].currency")
        assert caught.value.field == "lines[0].currency"


def test_amounts_are_exact_in_the_currency() -> None:
    assert parse_amount("12.5", "CNY") == Decimal("12.50")
    assert parse_amount(" 1000 ", "JPY") == Decimal("1000")
    assert parse_amount("0", "CNY") == Decimal("0.00")
    for text, currency, positive in (
        ("12.345", "CNY", False),
        ("1.5", "JPY", False),
        ("-1", "CNY", False),
        ("0", "CNY", True),
        ("abc", "CNY", False),
        ("NaN", "CNY", False),
        ("Infinity", "USD", False),
    ):
        with pytest.raises(ValidationFailed) as caught:
            parse_amount(text, currency, "amount", positive=positive)
        assert caught.value.field == "amount", text


def test_amounts_past_twenty_whole_digits_are_refused_naming_the_field() -> None:
    """Past 28 significant digits Decimal's quantize() raises InvalidOperation (a 500 at the
    gateway); every amount parser refuses such text as bad input instead."""
    assert parse_amount("9" * 20 + ".99", "CNY") == Decimal("9" * 20 + ".99")
    assert parse_money("9" * 20, "CNY").amount == Decimal("9" * 20 + ".00")
    for text in ("1" * 21, "1" * 27, "1" * 40, "1e30", "-" + "9" * 30):
        for parse in (
            lambda: parse_amount(text, "CNY", "lines[0].amount"),
            lambda: parse_money(text, "CNY", "lines[0].amount", allow_negative=True),
            lambda: parse_decimal(text, "lines[0].amount"),
        ):
            with pytest.raises(ValidationFailed) as caught:
                parse()
            assert caught.value.field == "lines[0].amount", text
