from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from salesgrid_contracts.domain.currencies import (
    MINOR_UNITS,
    minor_units,
    validate_currency,
)
from salesgrid_contracts.domain.errors import ValidationFailed
from salesgrid_contracts.domain.money import Money, money_of, parse_money, sum_money


def test_minor_units_follow_iso_4217() -> None:
    assert [minor_units(c) for c in ("CNY", "USD", "EUR", "JPY", "KWD", "BHD", "CLF")] == [2, 2, 2, 0, 3, 3, 4]
    assert len(MINOR_UNITS) > 150


@pytest.mark.parametrize("code", ["cny", "XXX", "RMB", "", None, 156])
def test_unknown_currency_codes_are_refused(code: object) -> None:
    with pytest.raises(ValidationFailed) as info:
        validate_currency(code)
    assert info.value.field == "currency"


def test_amount_is_normalised_to_minor_units() -> None:
    assert str(Money(Decimal("5"), "CNY")) == "5.00 CNY"
    assert str(Money(Decimal("5"), "KWD")) == "5.000 KWD"
    assert Money(Decimal("5.0"), "JPY").amount.as_tuple().exponent == 0


def test_floats_are_refused() -> None:
    with pytest.raises(ValidationFailed) as info:
        Money(0.1, "CNY")  # type: ignore[arg-type]
    assert info.value.field == "amount"


@pytest.mark.parametrize("amount", [Decimal("NaN"), Decimal("Infinity"), "1.00", True])
def test_non_decimal_or_non_finite_amounts_are_refused(amount: object) -> None:
    with pytest.raises(ValidationFailed) as info:
        Money(amount, "CNY")  # type: ignore[arg-type]
    assert info.value.field == "amount"


def test_int_amount_is_accepted() -> None:
    assert Money(7, "USD").amount == Decimal("7.00")  # type: ignore[arg-type]


@pytest.mark.parametrize(("amount", "currency"), [("1.005", "CNY"), ("1.5", "JPY"), ("1.0005", "KWD")])
def test_construction_refuses_excess_decimals(amount: str, currency: str) -> None:
    with pytest.raises(ValidationFailed, match="decimal places") as info:
        Money(Decimal(amount), currency)
    assert info.value.field == "amount"


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        ("1.005", "CNY", "1.01"),
        ("1.004", "CNY", "1.00"),
        ("-1.005", "CNY", "-1.01"),  # half away from zero, symmetric
        ("2.5", "JPY", "3"),
        ("1.0005", "KWD", "1.001"),
    ],
)
def test_rounded_is_half_up_to_minor_units(amount: str, currency: str, expected: str) -> None:
    assert Money.rounded(Decimal(amount), currency).amount == Decimal(expected)


def test_arithmetic_and_comparison_in_one_currency() -> None:
    a, b = Money(Decimal("10.10"), "CNY"), Money(Decimal("0.20"), "CNY")
    assert a + b == Money(Decimal("10.30"), "CNY")
    assert a - b == Money(Decimal("9.90"), "CNY")
    assert -b == Money(Decimal("-0.20"), "CNY")
    assert b < a and a > b and a >= a and b <= b
    assert a.times(Decimal("0.333")).amount == Decimal("3.36")  # 3.3633 rounds down
    assert sum_money([a, b], "CNY") == Money(Decimal("10.30"), "CNY")
    assert sum_money([], "JPY") == Money.zero("JPY")


@pytest.mark.parametrize("op", ["add", "sub", "lt"])
def test_mixing_currencies_is_refused(op: str) -> None:
    a, b = Money(Decimal(1), "CNY"), Money(Decimal(1), "USD")
    with pytest.raises(ValidationFailed, match="CNY and USD|USD") as info:
        {"add": lambda: a + b, "sub": lambda: a - b, "lt": lambda: a < b}[op]()
    assert info.value.field == "currency"


def test_times_refuses_a_float_factor() -> None:
    with pytest.raises(ValidationFailed) as info:
        Money(Decimal(1), "CNY").times(1.5)  # type: ignore[arg-type]
    assert info.value.field == "factor"


def test_parse_money_accepts_plain_decimals() -> None:
    assert parse_money(" 1234.5 ", "CNY") == Money(Decimal("1234.50"), "CNY")
    assert parse_money("-3", "CNY", allow_negative=True).amount == Decimal("-3.00")


@pytest.mark.parametrize(
    ("text", "currency", "message"),
    [
        ("abc", "CNY", "decimal number"),
        ("1,000.00", "CNY", "decimal number"),
        ("1e3", "CNY", "decimal number"),
        ("", "CNY", "decimal number"),
        ("-5.00", "CNY", "negative"),
        ("1.234", "CNY", "decimal places"),
        ("10.5", "JPY", "decimal places"),
    ],
)
def test_parse_money_errors_name_the_field(text: str, currency: str, message: str) -> None:
    with pytest.raises(ValidationFailed, match=message) as info:
        parse_money(text, currency, "lines[0].unit_price")
    assert info.value.field == "lines[0].unit_price"


def test_parse_money_reports_a_bad_currency_under_the_field() -> None:
    with pytest.raises(ValidationFailed) as info:
        parse_money("1.00", "XYZ", "price")
    assert info.value.field == "price.currency"


def test_money_of_renames_the_field() -> None:
    with pytest.raises(ValidationFailed) as info:
        money_of(Decimal("0.001"), "USD", "deposit")
    assert info.value.field == "deposit"


@given(st.decimals(min_value=-(10**9), max_value=10**9, allow_nan=False, allow_infinity=False, places=6))
def test_rounding_moves_by_at_most_half_a_minor_unit(amount: Decimal) -> None:
    money = Money.rounded(amount, "CNY")
    assert abs(money.amount - amount) <= Decimal("0.005")
    assert Money.rounded(money.amount, "CNY") == money  # idempotent
