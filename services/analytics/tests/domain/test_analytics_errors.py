import pytest

from salesgrid_analytics.domain.errors import (
    Conflict,
    DomainError,
    FailedPrecondition,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)


def test_error_carries_message_and_field():
    error = ValidationFailed("must not be blank", "name")
    assert (error.message, error.field) == ("must not be blank", "name")
    assert error.violations == [("name", "must not be blank")]
    assert str(error) == "must not be blank"


@pytest.mark.parametrize("cls", [ValidationFailed, NotFound, Conflict, PermissionDenied, FailedPrecondition])
def test_every_error_is_a_domain_error(cls):
    assert issubclass(cls, DomainError)
    assert cls("x").field is None


def test_many_keeps_every_violation():
    error = ValidationFailed.many([("a", "bad"), ("b", "worse")])
    assert error.violations == [("a", "bad"), ("b", "worse")]
    assert error.field == "a"
    assert "b: worse" in error.message


def test_many_needs_a_violation():
    with pytest.raises(ValueError):
        ValidationFailed.many([])
