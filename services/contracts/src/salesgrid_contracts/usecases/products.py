"""Products use cases."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from decimal import Decimal


from salesgrid_common.auth.principal import Principal
from salesgrid_common.errors import Conflict, ValidationFailed
from salesgrid_common.ids import new_id
from salesgrid_contracts.domain import products
from salesgrid_contracts.domain.currencies import validate_currency
from salesgrid_contracts.domain.money import parse_money
from salesgrid_contracts.stores import products as product_store

from salesgrid_contracts.usecases._support import ContractsUseCasesBase


class ProductsMixin(ContractsUseCasesBase):
    """ContractsUseCases: products."""

    @staticmethod
    def _price_map(prices: Sequence[tuple[str, str]]) -> dict[str, Decimal]:
        price_map: dict[str, Decimal] = {}
        for index, (currency, amount) in enumerate(prices):
            validate_currency(currency, f"prices[{index}].currency")
            if currency in price_map:
                raise ValidationFailed(f"{currency} is priced twice", f"prices[{index}].currency")
            price_map[currency] = parse_money(amount, currency, f"prices[{index}].amount").amount
        return price_map

    async def create_product(
        self, principal: Principal, sku: str, name: str, prices: Sequence[tuple[str, str]]
    ) -> products.Product:
        principal.require("products:create")
        product = products.new_product(new_id(), sku, name)
        product = replace(product, prices=self._price_map(prices), created_at=self.clock())
        async with self.sessions() as session, session.begin():
            await product_store.insert(session, product)
        return product

    async def update_product(
        self,
        principal: Principal,
        product_id: str,
        expected_version: int,
        *,
        name: str | None,
        prices: Sequence[tuple[str, str]] | None,
        active: bool | None,
    ) -> products.Product:
        principal.require("products:update")
        price_map = self._price_map(prices) if prices is not None else None
        async with self.sessions() as session, session.begin():
            product = await product_store.load(session, product_id)
            if expected_version and expected_version != product.version:
                raise Conflict.stale_version(
                    f"product changed since version {expected_version} (now {product.version})",
                    "version",
                    current=product.version,
                    sent=expected_version,
                )
            if name is not None:  # same name rules as on create
                product = replace(product, name=products.new_product(product.product_id, product.sku, name).name)
            if price_map is not None:
                product = replace(product, prices=price_map)
            if active is not None:
                product = replace(product, active=active)
            return await product_store.save(session, product, expected_version)

    async def list_products(self, principal: Principal, include_inactive: bool) -> list[products.Product]:
        principal.require("products:read")
        async with self.sessions() as session:
            return await product_store.listed(session, include_inactive)
