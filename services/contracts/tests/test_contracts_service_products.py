"""The product catalogue through the contracts service's gRPC API on SQLite and PostgreSQL:
products are repriced and deactivated with their version."""

from __future__ import annotations

import grpc
from salesgrid.contracts.v1 import contracts_pb2 as pb

from contracts_service_fixtures import Platform, failure
from contracts_service_fixtures import platform  # noqa: F401 - fixtures


async def test_products_are_repriced_and_deactivated_with_their_version(platform: Platform) -> None:
    p = platform
    product = await p.api.CreateProduct(
        pb.CreateProductRequest(
            sku="SKU-RETIRE", name="Old appliance", prices=[pb.ProductPrice(currency="CNY", amount="100.00")]
        ),
        metadata=p.tokens["admin"],
    )
    code, fields = await failure(
        p.api.UpdateProduct(
            pb.UpdateProductRequest(
                id=product.id,
                expected_version=product.version,
                set_prices=True,
                prices=[pb.ProductPrice(currency="CNY", amount="-1")],
            ),
            metadata=p.tokens["admin"],
        )
    )
    assert (code, fields) == (grpc.StatusCode.INVALID_ARGUMENT, ["prices[0].amount"])
    repriced = await p.api.UpdateProduct(
        pb.UpdateProductRequest(
            id=product.id,
            expected_version=product.version,
            set_prices=True,
            prices=[pb.ProductPrice(currency="CNY", amount="120.00"), pb.ProductPrice(currency="EUR", amount="15.00")],
        ),
        metadata=p.tokens["admin"],
    )
    assert repriced.version == product.version + 1 and len(repriced.prices) == 2
    code, _ = await failure(
        p.api.UpdateProduct(
            pb.UpdateProductRequest(id=product.id, expected_version=product.version, active=False),
            metadata=p.tokens["admin"],
        )
    )
    assert code == grpc.StatusCode.ABORTED  # stale version
    code, _ = await failure(
        p.api.UpdateProduct(pb.UpdateProductRequest(id=product.id, active=False), metadata=p.tokens["rep-1"])
    )
    assert code == grpc.StatusCode.PERMISSION_DENIED
    retired = await p.api.UpdateProduct(
        pb.UpdateProductRequest(id=product.id, expected_version=repriced.version, active=False),
        metadata=p.tokens["admin"],
    )
    assert not retired.active
    listed = await p.api.ListProducts(pb.ListProductsRequest(), metadata=p.tokens["rep-1"])
    assert product.id not in {item.id for item in listed.products}
    # An inactive product cannot go on a new contract.
    code, fields = await failure(
        p.api.CreateContract(
            pb.CreateContractRequest(
                customer_id="cust-1",
                branch_code="SH",
                currency="CNY",
                start_date="2026-04-01",
                end_date="2027-03-31",
                lines=[pb.ContractLineInput(product_id=product.id, quantity="1", discount_percent="0")],
            ),
            metadata=p.tokens["rep-1"],
        )
    )
    assert code in (grpc.StatusCode.FAILED_PRECONDITION, grpc.StatusCode.INVALID_ARGUMENT)
    assert fields and fields[0].startswith("lines[0]")
