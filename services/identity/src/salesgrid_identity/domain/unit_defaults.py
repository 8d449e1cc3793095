"""What a new org unit takes from its parent when the creator leaves it out: a team created under
a Shanghai branch without a zone works on Shanghai's calendar, not UTC's."""

from __future__ import annotations

from dataclasses import dataclass

ROOT_TIME_ZONE = "UTC"
ROOT_CURRENCY = "CNY"


@dataclass(frozen=True)
class UnitDefaults:
    time_zone: str
    currency: str


def inherited(parent: UnitDefaults | None, *, time_zone: str, currency: str) -> UnitDefaults:
    """The zone and currency of a new unit: the given ones, else the parent's, else the root
    defaults (a company root created without them)."""
    base = parent or UnitDefaults(ROOT_TIME_ZONE, ROOT_CURRENCY)
    return UnitDefaults(time_zone=time_zone or base.time_zone, currency=currency or base.currency)
