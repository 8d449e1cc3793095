"""The product store: rows of `products` (the catalogue, its price list as JSON decimal strings)
<-> the domain's Product."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid_common.errors import AlreadyExists, Conflict, NotFound
from salesgrid_contracts.domain.products import Product
from salesgrid_contracts.models import Product as Row


def from_row(row: Row) -> Product:
    return Product(
        product_id=row.id,
        sku=row.sku,
        name=row.name,
        active=row.active,
        prices={currency: Decimal(amount) for currency, amount in row.prices.items()},
        version=row.version,
        created_at=row.created_at,
    )


def to_row(product: Product, row: Row) -> None:
    row.id = product.product_id
    row.sku = product.sku
    row.name = product.name
    row.active = product.active
    row.prices = {currency: str(amount) for currency, amount in product.prices.items()}
    row.version = product.version
    if product.created_at is not None:
        row.created_at = product.created_at


async def insert(session: AsyncSession, product: Product) -> None:
    """A new product; its SKU must be free."""
    if await session.scalar(select(Row.id).where(Row.sku == product.sku)):
        raise AlreadyExists(f"a product with SKU {product.sku} exists", "sku")
    row = Row()
    to_row(product, row)
    session.add(row)


async def load(session: AsyncSession, product_id: str) -> Product:
    row = await session.get(Row, product_id)
    if row is None:
        raise NotFound(f"product {product_id!r} does not exist", "id")
    return from_row(row)


async def save(session: AsyncSession, product: Product, expected_version: int = 0) -> Product:
    """The product as its next version; `expected_version` (0: any) is the one the caller read."""
    row = await session.get(Row, product.product_id)  # the identity map's row once loaded
    if row is None:
        raise NotFound(f"product {product.product_id!r} does not exist", "id")
    if expected_version and expected_version != row.version:
        raise Conflict.stale_version(
            f"product changed since version {expected_version} (now {row.version})",
            "version",
            current=row.version,
            sent=expected_version,
        )
    saved = replace(product, version=row.version + 1)
    to_row(saved, row)
    return saved


async def listed(session: AsyncSession, include_inactive: bool) -> list[Product]:
    """The catalogue by SKU (active products only unless asked), in one query."""
    stmt = select(Row).order_by(Row.sku)
    if not include_inactive:
        stmt = stmt.where(Row.active.is_(True))
    return [from_row(row) for row in await session.scalars(stmt)]


async def by_ids(session: AsyncSession, product_ids: Iterable[str]) -> dict[str, Product]:
    """The products of these ids that exist, in one query."""
    wanted = {product_id for product_id in product_ids if product_id}
    if not wanted:
        return {}
    return {row.id: from_row(row) for row in await session.scalars(select(Row).where(Row.id.in_(wanted)))}
