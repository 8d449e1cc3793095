"""What a failed call to another service means for our caller.

A transport failure or an outage of the dependency (UNAVAILABLE, DEADLINE_EXCEEDED and the other
codes that say nothing about the request) is not the client's fault: it becomes
DependencyUnavailable, which the gateway answers 503 with Retry-After. Codes that do describe the
request (not found, invalid, denied…) are for each client to map; anything else left over is a
failed precondition naming the field."""
from __future__ import annotations

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
