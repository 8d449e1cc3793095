import pytest

from salesgrid_activities.domain.errors import (
    Conflict,
    DomainError,
    FailedPrecondition,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from salesgrid_activities.domain.money import Money, is_currency_code
from decimal import Decimal


def test_domain_error_carries_message_and_field() -> None:
    error = DomainError("is required", "summary")
    assert error.message == "is required"
    assert error.field == "summary"
    assert str(error) == "is required"  # the field travels separately


@pytest.mark.parametrize("cls", [ValidationFailed, NotFound, Conflict, PermissionDenied, FailedPrecondition])
def test_every_error_is_a_domain_error(cls: type[DomainError]) -> None:
    assert issubclass(cls, DomainError)
    assert cls("x").field is None


def test_single_validation_failure_lists_itself() -> None:
    error = ValidationFailed("must be positive", "amount")
    assert error.violations == [("amount", "must be positive")]


def test_many_carries_every_violation() -> None:
    error = ValidationFailed.many([("latitude", "out of range"), ("accuracy_m", "negative")])
    assert error.violations == [("latitude", "out of range"), ("accuracy_m", "negative")]
    assert "latitude" in error.message and "accuracy_m" in error.message


def test_many_with_one_violation_names_its_field() -> None:
    error = ValidationFailed.many([("summary", "is required")])
    assert error.field == "summary"
    assert error.violations == [("summary", "is required")]


def test_many_refuses_an_empty_list() -> None:
    with pytest.raises(ValueError):
        ValidationFailed.many([])


def test_money_adds_same_currency_only() -> None:
    assert Money(Decimal("10"), "CNY") + Money(Decimal("30"), "CNY") == Money(Decimal("40"), "CNY")
    with pytest.raises(ValidationFailed) as info:
        Money(Decimal("10"), "CNY") + Money(Decimal("1"), "EUR")
    assert info.value.field == "currency"


@pytest.mark.parametrize("amount", [10, 10.0, Decimal("NaN"), Decimal("Infinity")])
def test_money_rejects_non_decimal_amounts(amount: object) -> None:
    with pytest.raises(ValidationFailed) as info:
        Money(amount, "CNY")  # type: ignore[arg-type]
    assert info.value.field == "amount"


@pytest.mark.parametrize(
    "code,ok", [("CNY", True), ("EUR", True), ("cny", False), ("CN1", False), ("CNYY", False), ("CNY\n", False)]
)
def test_currency_code_shape(code: str, ok: bool) -> None:
    assert is_currency_code(code) is ok
