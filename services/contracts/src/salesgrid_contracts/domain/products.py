"""Products and price lists: a product can carry prices in several currencies; inactive
products and price lists stay readable (old contracts refer to them) but cannot be sold again."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from types import MappingProxyType

from ._validation import require_text
from .errors import FailedPrecondition, NotFound, ValidationFailed
from .money import Money


@dataclass(frozen=True)
class Product:
    product_id: str
    sku: str
    name: str
    active: bool = True
    # the price list (currency -> unit price) and what is stored with it
    prices: Mapping[str, Decimal] = field(default_factory=dict)
    version: int = 1
    created_at: datetime | None = None


def new_product(product_id: str, sku: str, name: str) -> Product:
    """A new, active product; every blank field is reported at once."""
    violations: list[tuple[str, str]] = []
    checked: dict[str, str] = {}
    for key, value, limit in (("product_id", product_id, 64), ("sku", sku, 64), ("name", name, 200)):
        try:
            checked[key] = require_text(value, key, max_length=limit)
        except ValidationFailed as exc:
            violations.append((key, exc.message))
    if violations:
        raise ValidationFailed.many(violations)
    return Product(checked["product_id"], checked["sku"], checked["name"])


def deactivate_product(product: Product) -> Product:
    return replace(product, active=False)


def activate_product(product: Product) -> Product:
    return replace(product, active=True)


def ensure_sellable(product: Product, field: str = "product_id") -> None:
    """Inactive products cannot be put on new contracts (or new lines of an amendment)."""
    if not product.active:
        raise FailedPrecondition(f"product {product.sku} is inactive and cannot be added to a contract", field)


@dataclass(frozen=True)
class PriceList:
    """Prices keyed by (product_id, currency)."""

    price_list_id: str
    name: str
    active: bool = True
    prices: Mapping[tuple[str, str], Money] = field(default_factory=lambda: MappingProxyType({}))

    def with_price(self, product_id: str, price: Money) -> PriceList:
        """A copy with ``product_id`` priced at ``price`` in ``price.currency`` (replacing any old one)."""
        require_text(product_id, "product_id", max_length=64)
        if price.is_negative:
            raise ValidationFailed("must not be negative", "price")
        updated = dict(self.prices)
        updated[(product_id, price.currency)] = price
        return replace(self, prices=MappingProxyType(updated))

    def without_price(self, product_id: str, currency: str) -> PriceList:
        if (product_id, currency) not in self.prices:
            raise NotFound(f"no {currency} price for product {product_id}", "product_id")
        updated = dict(self.prices)
        del updated[(product_id, currency)]
        return replace(self, prices=MappingProxyType(updated))

    def currencies_for(self, product_id: str) -> frozenset[str]:
        return frozenset(currency for pid, currency in self.prices if pid == product_id)

    def price_for(self, product_id: str, currency: str) -> Money:
        price = self.prices.get((product_id, currency))
        if price is None:
            raise NotFound(f"price list {self.name} has no {currency} price for product {product_id}", "product_id")
        return price


def new_price_list(price_list_id: str, name: str) -> PriceList:
    return PriceList(require_text(price_list_id, "price_list_id", max_length=64), require_text(name, "name"))


def deactivate_price_list(price_list: PriceList) -> PriceList:
    return replace(price_list, active=False)


def list_price(product: Product, price_list: PriceList, currency: str) -> Money:
    """The unit price to quote for a new contract line: product and price list must be active."""
    ensure_sellable(product)
    if not price_list.active:
        raise FailedPrecondition(f"price list {price_list.name} is inactive", "price_list_id")
    return price_list.price_for(product.product_id, currency)
