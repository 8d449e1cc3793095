"""The measured quantities targets are set on and performance is reported in."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum

from .errors import ValidationFailed
from .money import money, to_decimal, validate_currency


class Metric(StrEnum):
    COLLECTED_REVENUE = "collected_revenue"  # 回款: receipts recorded
    CONTRACT_AMOUNT = "contract_amount"  # contracts signed
    NEW_CUSTOMERS = "new_customers"
    VISITS = "visits"  # check-ins not flagged as too far away

    @property
    def is_money(self) -> bool:
        return self in (Metric.COLLECTED_REVENUE, Metric.CONTRACT_AMOUNT)


def parse_metric(name: str, field: str = "metric") -> Metric:
    try:
        return Metric(name)
    except ValueError:
        known = ", ".join(m.value for m in Metric)
        raise ValidationFailed(f"unknown metric {name!r}; known: {known}", field) from None


def validate_quantity(
    metric: Metric,
    amount: Decimal | int | str,
    currency: str | None,
    field: str = "amount",
    currency_field: str = "currency",
) -> tuple[Decimal, str | None]:
    """A non-negative value of `metric`: money needs a currency, counts are whole and have none."""
    if metric.is_money:
        if currency is None:
            raise ValidationFailed(f"{metric.value} needs a currency", currency_field)
        return money(amount, field), validate_currency(currency, currency_field)
    if currency is not None:
        raise ValidationFailed(f"{metric.value} is a count and takes no currency", currency_field)
    value = to_decimal(amount, field)
    if value < 0:
        raise ValidationFailed("must not be negative", field)
    if value != value.to_integral_value():
        raise ValidationFailed(f"{metric.value} is a count and must be whole", field)
    return value.quantize(Decimal(1)), None
