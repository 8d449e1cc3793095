"""The kernel's list-returning checks (rules that add up every bad field) and currency rounding."""

from decimal import Decimal

import pytest

from salesgrid_common.currencies import minor_unit_exponent, round_to_currency
from salesgrid_common.errors import ValidationFailed
from salesgrid_common.validation import check_decimal, check_text


@pytest.mark.parametrize(
    ("value", "required", "expected"),
    [
        ("  Acme  ", True, []),
        (None, True, [("name", "is required")]),
        (None, False, []),
        ("   ", True, [("name", "is required")]),
        ("   ", False, []),
        (12, True, [("name", "must be text")]),
        ("x" * 11, True, [("name", "must be at most 10 characters")]),
    ],
)
def test_check_text(value: object, required: bool, expected: list[tuple[str, str]]) -> None:
    assert check_text(value, "name", max_length=10, required=required) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Decimal("1.5"), []),
        (Decimal(0), []),
        (1.5, [("qty", "must be a Decimal (never a float)")]),
        (True, [("qty", "must be a Decimal (never a float)")]),
        (Decimal("NaN"), [("qty", "must be a finite number")]),
        (Decimal("-1"), [("qty", "must not be negative")]),
    ],
)
def test_check_decimal(value: object, expected: list[tuple[str, str]]) -> None:
    assert check_decimal(value, "qty") == expected


def test_check_decimal_may_allow_negatives() -> None:
    assert check_decimal(Decimal("-1"), "qty", allow_negative=True) == []


def test_rounding_is_half_up_to_the_currency_minor_units() -> None:
    assert minor_unit_exponent("KWD") == Decimal("0.001")
    assert round_to_currency(Decimal("2.345"), "CNY") == Decimal("2.35")
    assert round_to_currency(Decimal("2.5"), "JPY") == Decimal("3")
    with pytest.raises(ValidationFailed):
        round_to_currency(Decimal(1), "XYZ")
