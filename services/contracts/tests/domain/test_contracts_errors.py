import pytest
from salesgrid_contracts.domain.errors import (
    Conflict,
    DomainError,
    FailedPrecondition,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)


@pytest.mark.parametrize("cls", [ValidationFailed, NotFound, Conflict, PermissionDenied, FailedPrecondition])
def test_every_error_is_a_domain_error_carrying_message_and_field(cls: type[DomainError]) -> None:
    error = cls("is required", "name")
    assert isinstance(error, DomainError)
    assert (error.message, error.field, error.violations) == ("is required", "name", [("name", "is required")])


def test_error_without_field_has_no_violations() -> None:
    assert ValidationFailed("bad").violations == []


def test_many_keeps_every_violation() -> None:
    error = ValidationFailed.many([("a", "is required"), ("b", "too long")])
    assert error.violations == [("a", "is required"), ("b", "too long")]
    assert error.field == "a"
    assert "b: too long" in str(error)


def test_many_with_one_violation_names_the_field() -> None:
    # The shared ValidationFailed.many always prefixes the summary with the field name.
    error = ValidationFailed.many([("a", "is required")])
    assert (error.field, error.violations) == ("a", [("a", "is required")])
    assert "is required" in error.message


def test_many_refuses_an_empty_list() -> None:
    with pytest.raises(ValueError):
        ValidationFailed.many([])
