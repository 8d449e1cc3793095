"""Products use cases."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from salesgrid_common.auth import Principal
from salesgrid_common.errors import AlreadyExists, Conflict, NotFound, ValidationFailed
from salesgrid_common.ids import new_id
from salesgrid_contracts import models
from salesgrid_contracts.domain import products
from salesgrid_contracts.domain.currencies import validate_currency
from salesgrid_contracts.domain.money import parse_money

from salesgrid_contracts.usecases._support import ContractsUseCasesBase


class ProductsMixin(ContractsUseCasesBase):
    """ContractsUseCases: products."""

    @staticmethod
    def _price_map(prices: Sequence[tuple[str, str]]) -> dict[str, str]:
        price_map: dict[str, str] = {}
        for index, (currency, amount) in enumerate(prices):
            validate_currency(currency, f"prices[{index}].currency")
            if currency in price_map:
                raise ValidationFailed(f"{currency} is priced twice", f"prices[{index}].currency")
            price_map[currency] = str(parse_money(amount, currency, f"prices[{index}].amount").amount)
        return price_map

    async def create_product(
        self, principal: Principal, sku: str, name: str, prices: Sequence[tuple[str, str]]
    ) -> models.Product:
        principal.require("products:create")
        product_id = new_id()
        product = products.new_product(product_id, sku, name)
        price_map = self._price_map(prices)
        async with self.sessions() as session, session.begin():
            if await session.scalar(select(models.Product.id).where(models.Product.sku == product.sku)):
                raise AlreadyExists(f"a product with SKU {product.sku} exists", "sku")
            row = models.Product(
                id=product_id,
                sku=product.sku,
                name=product.name,
                active=True,
                prices=price_map,
                version=1,
                created_at=self.clock(),
            )
            session.add(row)
        return row

    async def update_product(
        self,
        principal: Principal,
        product_id: str,
        expected_version: int,
        *,
        name: str | None,
        prices: Sequence[tuple[str, str]] | None,
        active: bool | None,
    ) -> models.Product:
        principal.require("products:update")
        price_map = self._price_map(prices) if prices is not None else None
        async with self.sessions() as session, session.begin():
            row = await session.get(models.Product, product_id)
            if row is None:
                raise NotFound(f"product {product_id!r} does not exist", "id")
            if expected_version and expected_version != row.version:
                raise Conflict(f"product changed since version {expected_version} (now {row.version})", "version")
            if name is not None:
                row.name = products.new_product(row.id, row.sku, name).name  # same name rules as on create
            if price_map is not None:
                row.prices = price_map
            if active is not None:
                row.active = active
            row.version += 1
        return row

    async def list_products(self, principal: Principal, include_inactive: bool) -> list[models.Product]:
        principal.require("products:read")
        query = select(models.Product).order_by(models.Product.sku)
        if not include_inactive:
            query = query.where(models.Product.active.is_(True))
        async with self.sessions() as session:
            return list(await session.scalars(query))
