"""What a failed call to another service means for our caller.

A transport failure or an outage of the dependency (UNAVAILABLE, DEADLINE_EXCEEDED and the other
codes that say nothing about the request) is not the client's fault: it becomes
DependencyUnavailable, which the gateway answers 503 with Retry-After. Codes that do describe the
request (not found, invalid, denied…) are for each client to map; anything else left over is a
failed precondition naming the field."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping

import grpc

from salesgrid_common.errors import DependencyUnavailable, DomainError, FailedPrecondition, ValidationFailed

OUTAGE_CODES = frozenset(
    {
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.CANCELLED,
        grpc.StatusCode.UNKNOWN,
        grpc.StatusCode.INTERNAL,
        grpc.StatusCode.DATA_LOSS,
        grpc.StatusCode.UNIMPLEMENTED,
        grpc.StatusCode.RESOURCE_EXHAUSTED,
    }
)


def dependency_error(
    service: str, error: grpc.aio.AioRpcError, field: str, doing: str = "answer", consequence: str = ""
) -> DomainError:
    code = error.code()
    tail = f"; {consequence}" if consequence else ""
    if code in OUTAGE_CODES:
        return DependencyUnavailable(f"the {service} service could not {doing} ({code.name}){tail}; retry later", field)
    return FailedPrecondition(f"the {service} service could not {doing} ({code.name}: {error.details()}){tail}", field)


# Not found and out of the caller's scope read the same (existence does not leak).
HIDDEN_CODES = frozenset({grpc.StatusCode.NOT_FOUND, grpc.StatusCode.PERMISSION_DENIED})


def call_error(
    service: str,
    error: grpc.aio.AioRpcError,
    field: str,
    *,
    hidden: str | None = None,
    passed: Mapping[grpc.StatusCode, tuple[type[DomainError], str]] | None = None,
    prefer_details: bool = False,
    doing: str = "answer",
    consequence: str = "",
) -> DomainError:
    """The one mapping of another service's gRPC error to our caller's domain error.

    `hidden`: the message of the ValidationFailed on `field` when the record is not found or out
    of scope (both codes read the same). `passed`: codes that describe the request, each to a
    domain error class and its message (``{details}`` in it stands for the other service's words;
    with `prefer_details` the message is only the fallback when the other service said nothing). The rest is
    `dependency_error` (an outage: 503 and retry; else a failed precondition)."""
    code = error.code()
    if hidden is not None and code in HIDDEN_CODES:
        return ValidationFailed(hidden, field)
    if passed and code in passed:
        cls, message = passed[code]
        details = error.details() or ""
        return cls((details or message) if prefer_details else message.format(details=details), field)
    return dependency_error(service, error, field, doing, consequence)


def _outage_types() -> tuple[type[BaseException], ...]:
    from sqlalchemy.exc import InterfaceError, OperationalError

    types: list[type[BaseException]] = [OperationalError, InterfaceError, ConnectionError, TimeoutError]
    try:  # asyncpg's own connection failures (e.g. "the database system is starting up")
        import asyncpg

        types += [
            asyncpg.exceptions.PostgresConnectionError,
            asyncpg.exceptions.OperatorInterventionError,
            asyncpg.exceptions.InterfaceError,
        ]
    except ImportError:
        pass
    return tuple(types)


def is_outage(exc: BaseException) -> bool:
    """An exception that says a backing store is unreachable or busy (the database restarting,
    a dropped connection, SQLite's lock held past busy_timeout), not that the request is bad.
    SQLAlchemy wraps driver errors, so the whole cause chain is looked at."""
    from sqlalchemy.exc import DBAPIError

    outage = _outage_types()
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, DBAPIError) and isinstance(current.orig, sqlite3.OperationalError):
            current = current.orig
        if isinstance(current, sqlite3.OperationalError):
            # SQLite reports bad SQL as OperationalError too: only a busy or unreachable file counts.
            return any(word in str(current) for word in ("locked", "unable to open", "disk I/O"))
        if isinstance(current, outage):
            return True
        if isinstance(current, DBAPIError) and current.connection_invalidated:
            return True
        current = current.__cause__ or current.__context__
    return False
