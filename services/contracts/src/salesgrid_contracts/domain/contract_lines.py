"""A contract's lines: a product at a unit price, quantity and discount, and the line's total."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from ._validation import require_text
from .errors import ValidationFailed
from .money import Money, to_decimal
from .products import Product, ensure_sellable

HUNDRED = Decimal(100)


def line_total(quantity: Decimal, unit_price: Money, discount_percent: Decimal) -> Money:
    """quantity x unit price x (1 - discount/100), rounded once ROUND_HALF_UP to minor units."""
    return Money.rounded(quantity * unit_price.amount * (HUNDRED - discount_percent) / HUNDRED, unit_price.currency)


@dataclass(frozen=True)
class ContractLine:
    product_id: str
    description: str
    quantity: Decimal
    unit_price: Money
    discount_percent: Decimal = Decimal(0)

    @property
    def total(self) -> Money:
        return line_total(self.quantity, self.unit_price, self.discount_percent)


def new_line(
    product: Product,
    unit_price: Money,
    quantity: Decimal | int,
    discount_percent: Decimal | int = 0,
    *,
    description: str | None = None,
    field: str = "line",
) -> ContractLine:
    """A line for a new contract or a new line of an amendment; the product must be active.

    Errors name ``field`` + the attribute, e.g. "lines[2].quantity".
    """
    ensure_sellable(product, f"{field}.product_id")
    violations: list[tuple[str, str]] = []
    qty = disc = Decimal(0)
    try:
        qty = to_decimal(quantity, f"{field}.quantity")
        if qty <= 0:
            violations.append((f"{field}.quantity", "must be greater than 0"))
    except ValidationFailed as exc:
        violations.append((f"{field}.quantity", exc.message))
    try:
        disc = to_decimal(discount_percent, f"{field}.discount_percent")
        if not 0 <= disc <= 100:
            violations.append((f"{field}.discount_percent", "must be between 0 and 100"))
    except ValidationFailed as exc:
        violations.append((f"{field}.discount_percent", exc.message))
    if not isinstance(unit_price, Money):
        violations.append((f"{field}.unit_price", "must be Money"))
    elif unit_price.is_negative:
        violations.append((f"{field}.unit_price", "must not be negative"))
    if violations:
        raise ValidationFailed.many(violations)
    text = product.name if description is None else require_text(description, f"{field}.description", max_length=500)
    return ContractLine(product.product_id, text, qty, unit_price, disc)
