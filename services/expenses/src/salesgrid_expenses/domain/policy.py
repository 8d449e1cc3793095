"""Expense policy per org unit (admin-configured): daily limits per category and the amount above
which the director approves too. A unit without its own inherits its nearest ancestor's."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from types import MappingProxyType

from salesgrid_common.currencies import parse_amount, validate_currency
from salesgrid_common.errors import ValidationFailed

from .claims import Category, ExpenseLine, parse_category

DEFAULT_CURRENCY = "CNY"
FIRST_APPROVER = "supervisor"  # the rep's nearest superior (a supervisor or anyone above him)
SECOND_APPROVER = "director"


@dataclass(frozen=True)
class ExpensePolicy:
    org_unit_id: str  # "" for the platform defaults
    currency: str
    daily_limits: Mapping[Category, Decimal] = field(default_factory=lambda: MappingProxyType({}))
    director_above: Decimal | None = None


def new_policy(
    org_unit_id: str, currency: str, limits: Sequence[tuple[str, str]], director_above: str
) -> ExpensePolicy:
    """A validated policy; every bad field named (``limits[1].daily_limit``…)."""
    problems: list[tuple[str, str]] = []
    unit = (org_unit_id or "").strip()
    if not unit:
        problems.append(("org_unit_id", "is required"))
    try:
        validate_currency(currency)
    except ValidationFailed as exc:
        raise ValidationFailed.many([*problems, ("currency", exc.message)]) from None
    parsed: dict[Category, Decimal] = {}
    seen: set[Category] = set()
    for index, (category, limit) in enumerate(limits):
        try:
            kind = parse_category(category, f"limits[{index}].category")
            if kind in seen:
                raise ValidationFailed(f"{kind.value} is limited twice", f"limits[{index}].category")
            seen.add(kind)
            parsed[kind] = parse_amount(limit, currency, f"limits[{index}].daily_limit", positive=True)
        except ValidationFailed as exc:
            problems.extend(exc.violations)
    above = None
    if (director_above or "").strip():
        try:
            above = parse_amount(director_above, currency, "director_above", positive=True)
        except ValidationFailed as exc:
            problems.extend(exc.violations)
    if problems:
        raise ValidationFailed.many(problems)
    return ExpensePolicy(unit, currency, MappingProxyType(parsed), above)


def policy_for_unit(unit_path: Sequence[str], policies: Mapping[str, ExpensePolicy]) -> ExpensePolicy:
    """The policy of the nearest unit on ``unit_path`` (own unit first, then its ancestors) that
    has its own; otherwise the defaults (no limits, the first approver only)."""
    for unit_id in unit_path:
        if unit_id in policies:
            return policies[unit_id]
    return ExpensePolicy("", DEFAULT_CURRENCY)


def check_daily_limits(
    policy: ExpensePolicy, currency: str, lines: Iterable[ExpenseLine], already: Mapping[tuple[date, Category], Decimal]
) -> None:
    """Each (day, category) of ``lines`` plus what the same person already claimed for it
    (``already``: his submitted, approved and paid claims) stays within the daily limit."""
    lines = list(lines)
    if not policy.daily_limits:
        return
    if currency != policy.currency:
        raise ValidationFailed(
            f"the expense policy in force ({policy.org_unit_id or 'default'}) is in "
            f"{policy.currency}: claim in {policy.currency}",
            "currency",
        )
    sums: dict[tuple[date, Category], Decimal] = {}
    first_line: dict[tuple[date, Category], int] = {}
    for line in lines:
        key = (line.spent_on, line.category)
        sums[key] = sums.get(key, Decimal(0)) + line.amount
        first_line.setdefault(key, line.line_no)
    problems = []
    first_over: dict[str, str] = {}
    for key, amount in sums.items():
        limit = policy.daily_limits.get(key[1])
        if limit is None:
            continue
        spent = amount + already.get(key, Decimal(0))
        if spent > limit:
            first_over = first_over or {
                "category": key[1].value,
                "day": key[0].isoformat(),
                "spent": str(spent),
                "limit": str(limit),
                "currency": currency,
            }
            problems.append(
                (
                    f"lines[{first_line[key] - 1}].amount",
                    f"{key[1].value} on {key[0].isoformat()} comes to {spent} {currency}, above the daily "
                    f"limit of {limit} {currency}",
                )
            )
    if problems:
        # `info`: the first (day, category) over its limit; each one is in the field violations
        raise ValidationFailed.many(problems, reason="EXPENSE_DAILY_LIMIT", info=first_over)


def approver_roles(policy: ExpensePolicy, claim_total: Decimal, currency: str) -> list[str]:
    """The nearest superior approves; above ``director_above`` the director approves after him."""
    if policy.director_above is not None and currency != policy.currency:
        raise ValidationFailed(
            f"the expense policy in force is in {policy.currency}: claim in {policy.currency}", "currency"
        )
    if policy.director_above is not None and claim_total > policy.director_above:
        return [FIRST_APPROVER, SECOND_APPROVER]
    return [FIRST_APPROVER]
