"""Domain errors: raised by plain-Python business rules, mapped to gRPC status codes (with
structured field violations) by the server interceptor and to problem+json by the gateway."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

# ErrorInfo metadata key carrying the class reason (the kind of refusal) when an error has a more
# specific reason of its own; the gateway takes it out of `info` again (see problems.py).
CATEGORY_KEY = "problem_category"


class DomainError(Exception):
    """A refusal of a business rule.

    `reason` is the stable machine-readable code clients act on: by default the class's (the kind
    of refusal: VALIDATION_FAILED, FAILED_PRECONDITION, CONFLICT...); an instance may carry a more
    specific one (``FailedPrecondition(msg, reason="POOL_DAILY_CLAIMS", info={...})``) with the
    values of the refusal in `info`. The gRPC status code (and so the HTTP status) stays the class's.
    """

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
        reason: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if reason is not None:
            self.reason = reason
        self.field = field
        # Structured facts a client acts on (e.g. who holds an existing record): gRPC ErrorInfo
        # metadata, problem+json `info`.
        self.info: dict[str, str] = dict(info or {})
        self.violations: list[tuple[str, str]] = (
            list(violations) if violations else ([(field, message)] if field else [])
        )

    @property
    def category(self) -> str:
        """The class's reason: the kind of refusal, whatever specific reason the instance has."""
        return type(self).reason

    def wire_info(self) -> dict[str, str]:
        """`info` as sent in ErrorInfo metadata: plus the category when the reason is specific."""
        if self.reason == self.category:
            return dict(self.info)
        return {**self.info, CATEGORY_KEY: self.category}


class ValidationFailed(DomainError):
    code = "INVALID_ARGUMENT"
    reason = "VALIDATION_FAILED"

    @classmethod
    def many(
        cls,
        violations: Iterable[tuple[str, str]],
        *,
        reason: str | None = None,
        info: Mapping[str, str] | None = None,
    ) -> "ValidationFailed":
        items = list(violations)
        if not items:
            raise ValueError("ValidationFailed.many needs at least one violation")
        summary = "; ".join(f"{field}: {message}" for field, message in items)
        error = cls(summary, items[0][0], reason=reason, info=info)
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

    @classmethod
    def stale_version(cls, message: str, field: str | None = None, *, current: int, sent: int) -> "Conflict":
        """The caller edited a stale copy (If-Match / expected_version): reason STALE_VERSION with
        the record's current version and the one the caller sent."""
        return cls(
            message,
            field,
            reason="STALE_VERSION",
            info={"current_version": str(current), "sent_version": str(sent)},
        )


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
