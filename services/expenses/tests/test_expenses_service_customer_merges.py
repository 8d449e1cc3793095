"""Customers' `merged` event moves expense lines to the surviving customer, once."""

from __future__ import annotations

from salesgrid.expenses.v1 import expenses_pb2 as pb
from salesgrid_dev.testing import consumer_applied, eventually, publish_customer_merge

from expenses_fixtures import Running, line
from expenses_fixtures import expenses  # noqa: F401 - fixtures


async def test_merged_customers_expense_lines_follow_the_survivor(expenses: Running, nats_url: str) -> None:
    """customers' `merged` event re-attaches the lines spent on the merged customer, once."""
    x = expenses
    claim = await x.api.CreateClaim(
        pb.CreateClaimRequest(
            currency="CNY", lines=[line(customer_id="cust-1"), line("entertainment", "80.00", customer_id="cust-2")]
        ),
        metadata=x.tokens["rep-1"],
    )

    async def customers() -> list[str]:
        read = await x.api.GetClaim(pb.GetClaimRequest(id=claim.id), metadata=x.tokens["rep-1"])
        return [item.customer_id for item in read.lines]

    await publish_customer_merge(nats_url, "cust-2", ["cust-1"])

    async def moved() -> bool:
        return await customers() == ["cust-2", "cust-2"]

    await eventually(moved)
    await publish_customer_merge(nats_url, "cust-2", ["cust-1"])

    async def applied_twice() -> bool:
        return await consumer_applied(x.service, "expenses-customer-merges") == 2  # type: ignore[arg-type]

    await eventually(applied_twice)
    assert await customers() == ["cust-2", "cust-2"]
