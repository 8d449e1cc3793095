"""Claims the expenses service refuses (bad input) leave nothing behind."""

from __future__ import annotations

import grpc
from salesgrid.expenses.v1 import expenses_pb2 as pb

from expenses_fixtures import Running, envelopes, failure, line
from expenses_fixtures import expenses  # noqa: F401 - fixtures


async def test_bad_claims_leave_nothing_behind(expenses: Running) -> None:
    x = expenses
    code, fields = await failure(
        x.api.CreateClaim(
            pb.CreateClaimRequest(currency="CNY", lines=[line(), line("entertainment", "12.345"), line("golf")]),
            metadata=x.tokens["rep-1"],
        )
    )
    assert code is grpc.StatusCode.INVALID_ARGUMENT
    assert set(fields) == {"lines[1].amount", "lines[1].customer_id", "lines[2].category"}
    assert (
        await failure(
            x.api.CreateClaim(pb.CreateClaimRequest(currency="RMB", lines=[line()]), metadata=x.tokens["rep-1"])
        )
    ) == (grpc.StatusCode.INVALID_ARGUMENT, ["currency"])
    assert (
        await failure(
            x.api.CreateClaim(pb.CreateClaimRequest(currency="CNY", lines=[line()]), metadata=x.tokens["fin-1"])
        )
    )[0] is grpc.StatusCode.PERMISSION_DENIED
    assert not (await x.api.ListClaims(pb.ListClaimsRequest(), metadata=x.tokens["dir-1"])).claims
    assert await envelopes(x) == []
