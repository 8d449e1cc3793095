"""Opportunity (商机) fields: validation, name uniqueness per customer, competitors, products.

Expected close date: a date more than ``CLOSE_DATE_MAX_AGE_DAYS`` (365) days before today (UTC
date of ``now``) is rejected as a typo or a stale record; recent past dates are allowed so an
opportunity that slipped a little can still be saved and then corrected.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from salesgrid_common.validation import check_decimal, check_text, require_aware

from ._checks import normalise_key
from .errors import Conflict, ValidationFailed
from .gate_facts import FactValue
from .money import Money, check_money
from .sla import SlaLevel
from .stage_model import StageModel
from .stages import OpportunityState, StageTransition

NAME_MAX_LENGTH = 200
TEXT_MAX_LENGTH = 2000
CLOSE_DATE_MAX_AGE_DAYS = 365


@dataclass(frozen=True, slots=True)
class Competitor:
    name: str
    strengths: str = ""
    price: Money | None = None


@dataclass(frozen=True, slots=True)
class OpportunityProduct:
    product_id: str
    quantity: Decimal = Decimal(1)


@dataclass(frozen=True, slots=True)
class OpportunityInput:
    """Fields a rep supplies on create or update."""

    customer_id: str
    name: str
    amount: Money
    expected_close_date: date
    competitors: tuple[Competitor, ...] = ()
    products: tuple[OpportunityProduct, ...] = ()


def name_taken(name: str, existing_names: Iterable[str]) -> bool:
    """True if the customer already has an opportunity of this name (case/width/space-insensitive)."""
    key = normalise_key(name)
    return any(normalise_key(other) == key for other in existing_names)


def validate_opportunity(
    data: OpportunityInput,
    existing_names: Iterable[str],
    now: datetime,
    *,
    max_close_date_age_days: int = CLOSE_DATE_MAX_AGE_DAYS,
    today: date | None = None,
) -> OpportunityInput:
    """Validated, trimmed fields; ``existing_names`` are the customer's OTHER opportunities' names.

    Raises ``ValidationFailed`` with every field violation, then ``Conflict`` on ``name`` if the
    name is already used for this customer. ``today`` is the owner's local date (his branch's
    calendar); without it, the UTC date of ``now``.
    """
    require_aware(now, "now")
    problems = check_text(data.customer_id, "customer_id", max_length=64)
    problems += check_text(data.name, "name", max_length=NAME_MAX_LENGTH)
    problems += check_money(data.amount, "amount")
    problems += _close_date_problems(
        data.expected_close_date, today or now.astimezone(UTC).date(), max_close_date_age_days
    )
    problems += _competitor_problems(data.competitors)
    problems += _product_problems(data.products)
    if problems:
        raise ValidationFailed.many(problems)
    name = data.name.strip()
    if name_taken(name, existing_names):
        raise Conflict(f"the customer already has an opportunity named {name!r}", "name")
    competitors = tuple(Competitor(c.name.strip(), c.strengths.strip(), c.price) for c in data.competitors)
    return OpportunityInput(
        data.customer_id.strip(), name, data.amount, data.expected_close_date, competitors, data.products
    )


def close_date_valid_everywhere(value: object, latest_today: date, max_age_days: int = CLOSE_DATE_MAX_AGE_DAYS) -> bool:
    """True when the close date passes the age limit against ``latest_today``, the most advanced
    local date anywhere at the moment (the strictest "today"), so it passes in the owner's zone
    too and his calendar need not be looked up."""
    return not _close_date_problems(value, latest_today, max_age_days)


def _close_date_problems(value: object, today: date, max_age_days: int) -> list[tuple[str, str]]:
    if not isinstance(value, date) or isinstance(value, datetime):
        return [("expected_close_date", "must be a date")]
    earliest = today - timedelta(days=max_age_days)
    if value < earliest:
        return [("expected_close_date", f"must not be more than {max_age_days} days in the past")]
    return []


def _competitor_problems(competitors: tuple[Competitor, ...]) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    seen: set[str] = set()
    for i, competitor in enumerate(competitors):
        where = f"competitors[{i}]"
        if not isinstance(competitor, Competitor):
            problems.append((where, "must be a competitor"))
            continue
        name_problems = check_text(competitor.name, f"{where}.name", max_length=NAME_MAX_LENGTH)
        problems += name_problems
        problems += check_text(competitor.strengths, f"{where}.strengths", max_length=TEXT_MAX_LENGTH, required=False)
        if competitor.price is not None:
            problems += check_money(competitor.price, f"{where}.price")
        if not name_problems:
            key = normalise_key(competitor.name)
            if key in seen:
                problems.append((f"{where}.name", "competitor listed twice"))
            seen.add(key)
    return problems


def _product_problems(products: tuple[OpportunityProduct, ...]) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    seen: set[str] = set()
    for i, product in enumerate(products):
        where = f"products[{i}]"
        if not isinstance(product, OpportunityProduct):
            problems.append((where, "must be a product line"))
            continue
        id_problems = check_text(product.product_id, f"{where}.product_id", max_length=64)
        problems += id_problems
        quantity_problems = check_decimal(product.quantity, f"{where}.quantity")
        if not quantity_problems and product.quantity == 0:
            quantity_problems = [(f"{where}.quantity", "must be greater than zero")]
        problems += quantity_problems
        if not id_problems:
            if product.product_id in seen:
                problems.append((f"{where}.product_id", "product listed twice"))
            seen.add(product.product_id)
    return problems


@dataclass(frozen=True, slots=True)
class Opportunity:
    """The opportunity aggregate as stored: what the store loads, the rules change and the store
    saves. ``facts`` are the gate facts the opportunity's stage model reads; ``retained_facts`` the
    stored ones it no longer reads, kept as they were until the next stage move drops them."""

    opportunity_id: str
    customer_id: str
    name: str
    owner_id: str
    org_path: str
    amount: Money
    expected_close_date: date
    stage_model: str
    stage: str
    stage_entered_at: datetime
    created_at: datetime
    updated_at: datetime
    status: str = "open"  # open | won | lost
    competitors: tuple[Competitor, ...] = ()
    products: tuple[OpportunityProduct, ...] = ()
    lost_reason: str = ""
    facts: Mapping[str, FactValue] = field(default_factory=dict)
    retained_facts: Mapping[str, Any] = field(default_factory=dict)
    sla_level_notified: int = 0  # for the current stage entry
    commit: bool = False  # the rep's forecast commit flag
    channel: str = "direct"
    partner_id: str = ""
    custom_fields: Mapping[str, Any] = field(default_factory=dict)
    version: int = 1


def status_of(model: StageModel, stage_code: str) -> str:
    """open, or the outcome (won / lost) of a terminal stage."""
    outcome = model.stage(stage_code).outcome
    return outcome.value if outcome else "open"


def moved(opportunity: Opportunity, transition: StageTransition, model: StageModel) -> Opportunity:
    """The opportunity after a stage transition: a new stage entry starts its SLA afresh, the
    facts are the transition's, and a lost reason is kept only while lost."""
    status = status_of(model, transition.to_stage)
    return replace(
        opportunity,
        stage=transition.to_stage,
        stage_entered_at=transition.at,
        status=status,
        facts=dict(transition.facts),
        retained_facts={},
        lost_reason=transition.reason or "" if status == "lost" else "",
        sla_level_notified=int(SlaLevel.ON_TIME),
    )


def state_of(opportunity: Opportunity, archived_custom_fields: frozenset[str] = frozenset()) -> OpportunityState:
    """What the stage rules need of the opportunity."""
    return OpportunityState(
        opportunity.opportunity_id,
        opportunity.stage,
        opportunity.stage_entered_at,
        opportunity.facts,
        dict(opportunity.custom_fields),
        archived_custom_fields,
    )
