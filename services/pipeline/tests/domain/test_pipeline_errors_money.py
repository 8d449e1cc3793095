from decimal import Decimal

import pytest

from salesgrid_pipeline.domain.errors import (
    Conflict,
    DomainError,
    FailedPrecondition,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from salesgrid_pipeline.domain.money import (
    CURRENCIES,
    Money,
    minor_unit_exponent,
    money,
    round_to_currency,
    validate_currency,
)


def test_error_carries_field_and_single_violation() -> None:
    error = ValidationFailed("is required", "name")
    assert (error.message, error.field, error.violations) == ("is required", "name", [("name", "is required")])


def test_many_keeps_every_violation_and_names_first_field() -> None:
    error = ValidationFailed.many([("name", "is required"), ("amount", "must not be negative")])
    assert error.violations == [("name", "is required"), ("amount", "must not be negative")]
    assert error.field == "name"
    assert "amount: must not be negative" in str(error)


def test_many_refuses_an_empty_list() -> None:
    with pytest.raises(ValueError):
        ValidationFailed.many([])


@pytest.mark.parametrize("cls", [ValidationFailed, NotFound, Conflict, PermissionDenied, FailedPrecondition])
def test_all_errors_share_the_base(cls: type[DomainError]) -> None:
    assert issubclass(cls, DomainError) and issubclass(cls, Exception)


def test_bundled_currency_table_knows_common_codes_and_minor_units() -> None:
    assert {"CNY", "USD", "EUR", "JPY", "KWD", "HKD"} <= CURRENCIES
    assert minor_unit_exponent("CNY") == Decimal("0.01")
    assert minor_unit_exponent("JPY") == Decimal("1")
    assert minor_unit_exponent("KWD") == Decimal("0.001")


@pytest.mark.parametrize("code", ["cny", "RMB", "XAU", "", None, "USDX"])
def test_unknown_currency_rejected_naming_field(code: object) -> None:
    with pytest.raises(ValidationFailed) as info:
        validate_currency(code, "price.currency")
    assert info.value.field == "price.currency"


def test_rounding_is_half_up_to_minor_units() -> None:
    assert round_to_currency(Decimal("2.345"), "CNY") == Decimal("2.35")
    assert round_to_currency(Decimal("2.5"), "JPY") == Decimal("3")
    assert round_to_currency(Decimal("1.0005"), "BHD") == Decimal("1.001")


def test_money_validates_amount_and_currency() -> None:
    assert money(Decimal("10.50"), "USD") == Money(Decimal("10.50"), "USD")
    with pytest.raises(ValidationFailed) as info:
        money(Decimal("-1"), "ZZZ", "budget")
    assert [f for f, _ in info.value.violations] == ["budget.amount", "budget.currency"]


@pytest.mark.parametrize("amount", [1.5, 3, Decimal("NaN"), Decimal("Infinity"), True])
def test_money_amount_must_be_a_finite_decimal(amount: object) -> None:
    with pytest.raises(ValidationFailed) as info:
        money(amount, "USD")  # type: ignore[arg-type]
    assert info.value.field == "amount.amount"
