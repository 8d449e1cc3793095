"""Builders shared by the contracts domain tests."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from salesgrid_contracts.domain.contracts import (
    Contract,
    ContractLine,
    approve,
    new_contract,
    new_line,
    sign,
    submit_for_approval,
)
from salesgrid_contracts.domain.money import Money
from salesgrid_contracts.domain.products import Product

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
START = date(2026, 4, 1)
END = date(2027, 3, 31)


def cny(amount: str | int) -> Money:
    return Money(Decimal(amount), "CNY")


def product(active: bool = True, product_id: str = "p-1") -> Product:
    return Product(product_id, "SKU-" + product_id, "CRM licence", active)


def line(unit_price: str = "1000.00", quantity: str | int = 1, discount: str | int = 0) -> ContractLine:
    return new_line(product(), cny(unit_price), Decimal(quantity), Decimal(discount))


def draft(*lines: ContractLine, currency: str = "CNY") -> Contract:
    return new_contract(
        contract_id="c-1",
        number="SH-2026-000001",
        customer_id="cust-1",
        owner_id="rep-1",
        org_unit_id="sh-team-1",
        currency=currency,
        start_date=START,
        end_date=END,
        lines=lines or (line("100000.00"),),
        now=NOW,
    )


def signed_contract() -> Contract:
    """A draft() submitted, approved and signed on 5 March."""
    return sign(approve(submit_for_approval(draft())), date(2026, 3, 5))
