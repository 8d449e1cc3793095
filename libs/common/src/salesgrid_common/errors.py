"""Domain errors: raised by plain-Python business rules, mapped to gRPC status codes (with
structured field violations) by the server interceptor and to problem+json by the gateway."""
from __future__ import annotations

from collections.abc import Iterable

import grpc


class DomainError(Exception):
    status_code: grpc.StatusCode = grpc.StatusCode.UNKNOWN
    reason: str = "ERROR"

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.violations: list[tuple[str, str]] = [(field, message)] if field else []


class ValidationFailed(DomainError):
    status_code = grpc.StatusCode.INVALID_ARGUMENT
    reason = "VALIDATION_FAILED"

    @classmethod
    def many(cls, violations: Iterable[tuple[str, str]]) -> "ValidationFailed":
        items = list(violations)
        if not items:
            raise ValueError("ValidationFailed.many needs at least one violation")
        summary = "; ".join(f"{field}: {message}" for field, message in items)
        error = cls(summary, items[0][0])
        error.violations = items
        return error


class NotFound(DomainError):
    status_code = grpc.StatusCode.NOT_FOUND
    reason = "NOT_FOUND"


class AlreadyExists(DomainError):
    status_code = grpc.StatusCode.ALREADY_EXISTS
    reason = "ALREADY_EXISTS"


class Conflict(DomainError):
    """A concurrent change won (stale version) or the state changed under the caller."""

    status_code = grpc.StatusCode.ABORTED
    reason = "CONFLICT"


class PermissionDenied(DomainError):
    status_code = grpc.StatusCode.PERMISSION_DENIED
    reason = "PERMISSION_DENIED"


class Unauthenticated(DomainError):
    status_code = grpc.StatusCode.UNAUTHENTICATED
    reason = "UNAUTHENTICATED"


class FailedPrecondition(DomainError):
    status_code = grpc.StatusCode.FAILED_PRECONDITION
    reason = "FAILED_PRECONDITION"


class ResourceExhausted(DomainError):
    status_code = grpc.StatusCode.RESOURCE_EXHAUSTED
    reason = "RESOURCE_EXHAUSTED"
