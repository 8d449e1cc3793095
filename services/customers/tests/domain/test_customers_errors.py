import pytest

from salesgrid_customers.domain.concurrency import check_version, next_version
from salesgrid_customers.domain.errors import (
    Conflict,
    DomainError,
    FailedPrecondition,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)


def test_error_hierarchy_and_field() -> None:
    for cls in (ValidationFailed, NotFound, Conflict, PermissionDenied, FailedPrecondition):
        err = cls("bad", "name")
        assert isinstance(err, DomainError)
        assert err.message == "bad" and err.field == "name"


def test_validation_failed_single_has_one_violation() -> None:
    err = ValidationFailed("required", "legal_name")
    assert err.violations == [("legal_name", "required")]


def test_validation_failed_many_carries_all_violations() -> None:
    err = ValidationFailed.many([("a", "x"), ("b", "y")])
    assert err.violations == [("a", "x"), ("b", "y")]
    assert err.field == "a"  # the shared error names the first violated field
    assert "a: x" in str(err) and "b: y" in str(err)


def test_validation_failed_many_same_field_sets_field() -> None:
    assert ValidationFailed.many([("tags", "x"), ("tags", "y")]).field == "tags"


def test_validation_failed_many_rejects_empty() -> None:
    with pytest.raises(ValueError):
        ValidationFailed.many([])


def test_check_version_passes_on_match() -> None:
    check_version(3, 3)


def test_check_version_conflict_on_stale_copy() -> None:
    with pytest.raises(Conflict) as exc:
        check_version(2, 3)
    assert exc.value.field == "version"


def test_check_version_rejects_nonsense_expected() -> None:
    with pytest.raises(ValidationFailed) as exc:
        check_version(0, 0)
    assert exc.value.field == "version"


def test_next_version_increments() -> None:
    assert next_version(1) == 2


def test_stale_version_names_both_versions() -> None:
    with pytest.raises(Conflict) as exc:
        check_version(3, 5)
    assert (exc.value.reason, exc.value.category) == ("STALE_VERSION", "CONFLICT")
    assert exc.value.info == {"current_version": "5", "sent_version": "3"}
    assert exc.value.wire_info() == {"current_version": "5", "sent_version": "3", "problem_category": "CONFLICT"}


def test_a_plain_error_keeps_the_class_reason_and_sends_no_category() -> None:
    err = FailedPrecondition("no", info={"a": "b"})
    assert err.reason == err.category == "FAILED_PRECONDITION"
    assert err.wire_info() == {"a": "b"}
    assert FailedPrecondition.reason == "FAILED_PRECONDITION"  # the instance's reason is its own
