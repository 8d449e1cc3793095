"""Domain errors of the pipeline service.

Stand-in with the same names and shape as ``salesgrid_common.errors`` (which imports grpc and so
cannot be used from the domain layer yet); the lead replaces this module with those names, so
nothing service-specific belongs here.
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


class ValidationFailed(DomainError):
    """Input breaks a rule; ``violations`` lists every ``(field, message)`` found."""

    @classmethod
    def many(cls, violations: Iterable[tuple[str, str]]) -> ValidationFailed:
        items = list(violations)
        if not items:
            raise ValueError("ValidationFailed.many needs at least one violation")
        summary = "; ".join(f"{field}: {message}" for field, message in items)
        error = cls(summary, items[0][0])
        error.violations = items
        return error


class NotFound(DomainError):
    """The referenced record does not exist."""


class Conflict(DomainError):
    """The change clashes with existing data (duplicate name, state changed under the caller)."""


class PermissionDenied(DomainError):
    """The actor may not do this."""


class FailedPrecondition(DomainError):
    """The record is not in a state that allows the operation."""
