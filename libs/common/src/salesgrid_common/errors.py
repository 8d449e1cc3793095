"""Domain errors: raised by plain-Python business rules, mapped to gRPC status codes (with
structured field violations) by the server interceptor and to problem+json by the gateway."""

from __future__ import annotations

from collections.abc import Iterable, Mapping


class DomainError(Exception):
    # The gRPC status code name (grpc.StatusCode[...]); kept as a string so that domain code
    # importing these errors imports nothing of gRPC.
    code: str = "UNKNOWN"
    reason: str = "ERROR"

    def __init__(
        self,
        message: str,
        field: str | None = None,
        violations: Iterable[tuple[str, str]] | None = None,
        *,
        info: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        # Structured facts a client acts on (e.g. who holds an existing record): gRPC ErrorInfo
        # metadata, problem+json `info`.
        self.info: dict[str, str] = dict(info or {})
        self.violations: list[tuple[str, str]] = (
            list(violations) if violations else ([(field, message)] if field else [])
        )


class ValidationFailed(DomainError):
    code = "INVALID_ARGUMENT"
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
    code = "NOT_FOUND"
    reason = "NOT_FOUND"


class AlreadyExists(DomainError):
    code = "ALREADY_EXISTS"
    reason = "ALREADY_EXISTS"


class Conflict(DomainError):
    """A concurrent change won (stale version) or the state changed under the caller."""

    code = "ABORTED"
    reason = "CONFLICT"


class PermissionDenied(DomainError):
    code = "PERMISSION_DENIED"
    reason = "PERMISSION_DENIED"


class Unauthenticated(DomainError):
    code = "UNAUTHENTICATED"
    reason = "UNAUTHENTICATED"


class FailedPrecondition(DomainError):
    code = "FAILED_PRECONDITION"
    reason = "FAILED_PRECONDITION"


class ResourceExhausted(DomainError):
    code = "RESOURCE_EXHAUSTED"
    reason = "RESOURCE_EXHAUSTED"


class DependencyUnavailable(DomainError):
    """Another service this call needs is down or timed out: not the client's fault, retry later
    (HTTP 503 with Retry-After at the gateway)."""

    code = "UNAVAILABLE"
    reason = "DEPENDENCY_UNAVAILABLE"
