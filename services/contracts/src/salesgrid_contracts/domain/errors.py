"""Domain errors of the contracts service.

Placeholder with the same names and shape as the shared library's ``salesgrid_common.errors``
(which imports grpc, so the domain layer cannot use it yet); the lead replaces this module with
those names later, so nothing else belongs here.
"""

from __future__ import annotations

from collections.abc import Iterable


class DomainError(Exception):
    """Base of every business-rule failure; ``field`` names the offending input when there is one."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.violations: list[tuple[str, str]] = [(field, message)] if field else []

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


class ValidationFailed(DomainError):
    """Input breaks a rule; ``violations`` lists every ``(field, message)`` found."""

    @classmethod
    def many(cls, violations: Iterable[tuple[str, str]]) -> ValidationFailed:
        items = list(violations)
        if not items:
            raise ValueError("ValidationFailed.many needs at least one violation")
        if len(items) == 1:
            field, message = items[0]
            return cls(message, field)
        error = cls("; ".join(f"{field}: {message}" for field, message in items), items[0][0])
        error.violations = items
        return error


class NotFound(DomainError):
    """The referenced record does not exist (or is not visible to the caller)."""


class Conflict(DomainError):
    """The change clashes with existing state (a duplicate number, a stale version...)."""


class PermissionDenied(DomainError):
    """The caller may not do this."""


class FailedPrecondition(DomainError):
    """The record is not in a state that allows this change."""
