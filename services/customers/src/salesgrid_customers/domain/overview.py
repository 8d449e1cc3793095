"""Customer 360: the money side of the overview, summed per currency (never mixed)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

# Contract states whose total the customer owes; drafts, approvals in flight and terminated
# contracts owe nothing.
BINDING_CONTRACT_STATES = frozenset({"signed", "active", "completed"})
OPEN_OPPORTUNITY = "open"


@dataclass(frozen=True)
class MoneySummary:
    open_pipeline: dict[str, Decimal]  # currency -> sum of open opportunities
    contracted: dict[str, Decimal]  # currency -> sum of binding contracts
    collected: dict[str, Decimal]  # currency -> receipts minus refunds
    outstanding: dict[str, Decimal]  # currency -> contracted minus collected, never below zero


def _add(totals: dict[str, Decimal], currency: str, amount: Decimal) -> None:
    totals[currency] = totals.get(currency, Decimal(0)) + amount


def summarise(
    opportunities: Iterable[tuple[str, Decimal, str]],
    contracts: Iterable[tuple[str, Decimal, str]],
    money: Iterable[tuple[Decimal, str]],
) -> MoneySummary:
    """opportunities and contracts: (status, amount, currency); money: (signed amount, currency)."""
    pipeline: dict[str, Decimal] = {}
    for status, amount, currency in opportunities:
        if status == OPEN_OPPORTUNITY:
            _add(pipeline, currency, amount)
    contracted: dict[str, Decimal] = {}
    for status, total, currency in contracts:
        if status in BINDING_CONTRACT_STATES:
            _add(contracted, currency, total)
    collected: dict[str, Decimal] = {}
    for amount, currency in money:
        _add(collected, currency, amount)
    outstanding = {
        currency: max(Decimal(0), total - collected.get(currency, Decimal(0))) for currency, total in contracted.items()
    }
    return MoneySummary(pipeline, contracted, collected, outstanding)
