"""Domain errors. Placeholder until salesgrid_common.errors provides the same names."""

from __future__ import annotations

from collections.abc import Iterable


class DomainError(Exception):
    """Base of every business-rule error; `field` names the offending input when there is one."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


class ValidationFailed(DomainError):
    """Bad input. Carries every violation so a form can show them all at once."""

    def __init__(
        self,
        message: str,
        field: str | None = None,
        violations: list[tuple[str, str]] | None = None,
    ) -> None:
        super().__init__(message, field)
        if violations is None:
            violations = [(field or "", message)]
        self.violations: list[tuple[str, str]] = violations

    @classmethod
    def many(cls, violations: Iterable[tuple[str, str]]) -> ValidationFailed:
        items = list(violations)
        if not items:
            raise ValueError("ValidationFailed.many needs at least one violation")
        message = "; ".join(f"{f}: {m}" for f, m in items)
        field = items[0][0] if len({f for f, _ in items}) == 1 else None
        return cls(message, field, items)

    def __str__(self) -> str:
        # many() already prefixes each message with its field
        if len(self.violations) > 1:
            return self.message
        return super().__str__()


class NotFound(DomainError):
    """The referenced record does not exist (or is outside the caller's scope)."""


class Conflict(DomainError):
    """The write collides with existing state (duplicate, stale version)."""


class PermissionDenied(DomainError):
    """The actor may not perform this action on this record."""


class FailedPrecondition(DomainError):
    """The record is not in a state that allows the action (pool caps, cool-down, ...)."""
