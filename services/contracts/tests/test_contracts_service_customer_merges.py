"""Customers' `merged` event moves the duplicate's contracts (their receipts and plans with them)
to the surviving customer."""

from __future__ import annotations

from salesgrid.contracts.v1 import contracts_pb2 as pb
from salesgrid_dev.testing import consumer_applied, eventually, publish_customer_merge

from contracts_service_fixtures import Platform, new_contract
from contracts_service_fixtures import platform  # noqa: F401 - fixtures


async def test_merged_customers_contracts_follow_the_survivor(platform: Platform, nats_url: str) -> None:
    """customers' `merged` event re-attaches the duplicate's contracts (their receipts and plans hang
    off them); a later create or list naming the merged id is served for the survivor."""
    p = platform
    kept = await new_contract(p)  # for cust-1
    product = await p.api.CreateProduct(
        pb.CreateProductRequest(
            sku="SKU-dup", name="Support", prices=[pb.ProductPrice(currency="CNY", amount="100.00")]
        ),
        metadata=p.tokens["admin"],
    )
    request = pb.CreateContractRequest(
        customer_id="cust-dup",
        branch_code="SH",
        currency="CNY",
        start_date="2026-04-01",
        end_date="2027-03-31",
        lines=[pb.ContractLineInput(product_id=product.id, quantity="1")],
    )
    moved = await p.api.CreateContract(request, metadata=p.tokens["rep-1"])

    async def of(customer_id: str) -> set[str]:
        page = await p.api.ListContracts(pb.ListContractsRequest(customer_id=customer_id), metadata=p.tokens["rep-1"])
        return {c.id for c in page.contracts}

    await publish_customer_merge(nats_url, "cust-1", ["cust-dup"])
    assert await eventually(lambda: _when(of("cust-1"), {kept.id, moved.id}))
    assert (
        await p.api.GetContract(pb.GetContractRequest(id=moved.id), metadata=p.tokens["rep-1"])
    ).customer_id == "cust-1"
    assert await of("cust-dup") == {kept.id, moved.id}  # the merged id lists the survivor's contracts
    late = await p.api.CreateContract(request, metadata=p.tokens["rep-1"])
    assert late.customer_id == "cust-1"
    # the same merge again changes nothing
    await publish_customer_merge(nats_url, "cust-1", ["cust-dup"])
    await eventually(lambda: _at_least(consumer_applied(p.running, "contracts-customer-merges"), 2))
    assert await of("cust-1") == {kept.id, moved.id, late.id}


async def _when(pending, expected):  # type: ignore[no-untyped-def]
    return (await pending) == expected


async def _at_least(pending, n: int) -> bool:  # type: ignore[no-untyped-def]
    return (await pending) >= n
