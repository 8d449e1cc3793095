"""A backing service that is down or too slow is an outage: 503 with Retry-After, for gRPC
errors from services and for DependencyUnavailable alike; a client error stays a 4xx without it."""

from __future__ import annotations

import grpc

from salesgrid_common.errors import DependencyUnavailable, FailedPrecondition
from salesgrid_gateway.problems import from_domain, from_rpc


class FakeRpcError(grpc.RpcError):
    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        self._code, self._details = code, details

    def code(self) -> grpc.StatusCode:
        return self._code

    def details(self) -> str:
        return self._details


def test_unavailable_and_deadline_exceeded_are_503_with_retry_after() -> None:
    for code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
        problem = from_rpc(FakeRpcError(code, "failed to connect to all addresses; ipv4:10.0.0.7:50052"))
        assert (problem.status, problem.headers["Retry-After"]) == (503, "2")
        assert "10.0.0.7" not in problem.detail  # no internals


def test_dependency_unavailable_is_503_and_a_precondition_stays_422() -> None:
    outage = from_domain(DependencyUnavailable("the customers service could not answer", "customer_id"))
    assert (outage.status, outage.headers["Retry-After"], outage.code) == (503, "2", "DEPENDENCY_UNAVAILABLE")
    refused = from_domain(FailedPrecondition("opportunity is lost, not won", "opportunity_id"))
    assert refused.status == 422 and "Retry-After" not in refused.headers


def test_database_outages_are_recognised_and_bugs_are_not() -> None:
    import sqlite3

    from sqlalchemy.exc import DBAPIError, OperationalError

    from salesgrid_common.dependencies import is_outage

    def wrapped(orig: Exception) -> Exception:
        try:
            try:
                raise orig
            except Exception as inner:
                raise DBAPIError("INSERT …", {}, inner) from inner
        except DBAPIError as outer:
            return outer

    assert is_outage(wrapped(ConnectionRefusedError(111, "Connect call failed")))
    assert is_outage(OperationalError("BEGIN IMMEDIATE", {}, sqlite3.OperationalError("database is locked")))
    assert not is_outage(OperationalError("SELECT x", {}, sqlite3.OperationalError("no such column: x")))
    assert not is_outage(ValueError("a bug"))
