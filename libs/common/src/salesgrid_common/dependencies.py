"""What a failed call to another service means for our caller.

A transport failure or an outage of the dependency (UNAVAILABLE, DEADLINE_EXCEEDED and the other
codes that say nothing about the request) is not the client's fault: it becomes
DependencyUnavailable, which the gateway answers 503 with Retry-After. Codes that do describe the
request (not found, invalid, denied…) are for each client to map; anything else left over is a
failed precondition naming the field."""
from __future__ import annotations

import sqlite3

import grpc

from salesgrid_common.errors import DependencyUnavailable, DomainError, FailedPrecondition

OUTAGE_CODES = frozenset({
    grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.CANCELLED,
    grpc.StatusCode.UNKNOWN, grpc.StatusCode.INTERNAL, grpc.StatusCode.DATA_LOSS, grpc.StatusCode.UNIMPLEMENTED,
    grpc.StatusCode.RESOURCE_EXHAUSTED,
})


def dependency_error(service: str, error: grpc.aio.AioRpcError, field: str, doing: str = "answer",
                     consequence: str = "") -> DomainError:
    code = error.code()
    tail = f"; {consequence}" if consequence else ""
    if code in OUTAGE_CODES:
        return DependencyUnavailable(f"the {service} service could not {doing} ({code.name}){tail}; retry later",
                                     field)
    return FailedPrecondition(f"the {service} service could not {doing} ({code.name}: {error.details()}){tail}",
                              field)


def _outage_types() -> tuple[type[BaseException], ...]:
    from sqlalchemy.exc import InterfaceError, OperationalError

    types: list[type[BaseException]] = [OperationalError, InterfaceError, ConnectionError, TimeoutError]
    try:  # asyncpg's own connection failures (e.g. "the database system is starting up")
        import asyncpg

        types += [asyncpg.exceptions.PostgresConnectionError, asyncpg.exceptions.OperatorInterventionError,
                  asyncpg.exceptions.InterfaceError]
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
