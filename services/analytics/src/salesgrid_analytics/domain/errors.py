"""Domain errors come from the shared library (no gRPC import there either)."""

from salesgrid_common.errors import (
    AlreadyExists,
    Conflict,
    DomainError,
    FailedPrecondition,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)

__all__ = [
    "AlreadyExists",
    "Conflict",
    "DomainError",
    "FailedPrecondition",
    "NotFound",
    "PermissionDenied",
    "ValidationFailed",
]
