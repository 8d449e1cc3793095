"""Domain errors of the analytics service.

Placeholder with the same names as the shared library's error module; the lead replaces this
module with `salesgrid_common.errors` once the foundation exists.
"""

from __future__ import annotations

from collections.abc import Iterable


class DomainError(Exception):
    """A business-rule failure; `field` names the offending input when there is one."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


class ValidationFailed(DomainError):
    """Bad input; carries every field violation found."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message, field)
        self.violations: list[tuple[str, str]] = [(field, message)] if field else []

    @classmethod
    def many(cls, violations: Iterable[tuple[str, str]]) -> ValidationFailed:
        """One error for several (field, message) violations; the first field is the headline."""
        found = list(violations)
        if not found:
            raise ValueError("ValidationFailed.many needs at least one violation")
        error = cls("; ".join(f"{field}: {message}" for field, message in found), found[0][0])
        error.violations = found
        return error


class NotFound(DomainError):
    """The referenced record does not exist (or is outside the caller's scope)."""


class Conflict(DomainError):
    """The request contradicts what is already recorded."""


class PermissionDenied(DomainError):
    """The caller may not see or change this."""


class FailedPrecondition(DomainError):
    """The system is not in a state that allows this."""
