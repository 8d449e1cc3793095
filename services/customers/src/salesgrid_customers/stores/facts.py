"""What this service keeps of other services' records about its customers (written by the event
handlers): each rep's activity on a customer, opportunities, contracts and money. Read here for the
overview, the ownership arbitration and partner agreements; re-pointed here when customers merge."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

from sqlalchemy import Table, case, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid_common.customer_merges import survivor_in_statement
from salesgrid_common.db import conflict_insert, dialect_name
from salesgrid_customers import models


@dataclass(frozen=True)
class CustomerFacts:
    """The overview's facts of one customer."""

    follow_up_count: int
    last_follow_up_at: datetime | None
    opportunities: list[tuple[str, Decimal, str]]  # status, amount, currency
    contracts: list[tuple[str, Decimal, str]]  # status, total, currency
    money: list[tuple[Decimal, str]]  # amount, currency


@dataclass(frozen=True)
class FirstActivity:
    """When a rep first followed a customer up and first opened an opportunity with it."""

    first_follow_up_at: datetime | None
    first_opportunity_at: datetime | None


async def customer_facts(session: AsyncSession, customer_id: str) -> CustomerFacts:
    activity = models.RepActivity
    count, last = (
        await session.execute(
            select(func.coalesce(func.sum(activity.follow_up_count), 0), func.max(activity.last_follow_up_at)).where(
                activity.customer_id == customer_id
            )
        )
    ).one()
    opportunities = (
        await session.scalars(select(models.OpportunityFact).where(models.OpportunityFact.customer_id == customer_id))
    ).all()
    contracts = (
        await session.scalars(select(models.ContractFact).where(models.ContractFact.customer_id == customer_id))
    ).all()
    money = (await session.scalars(select(models.MoneyFact).where(models.MoneyFact.customer_id == customer_id))).all()
    return CustomerFacts(
        int(count),
        last,
        [(o.status, o.amount, o.currency) for o in opportunities],
        [(c.status, c.total, c.currency) for c in contracts],
        [(m.amount, m.currency) for m in money],
    )


async def contract_customer(session: AsyncSession, contract_id: str) -> str | None:
    """The customer of a contract as contracts' events describe it (None: unknown contract)."""
    customer_id: str | None = await session.scalar(
        select(models.ContractFact.customer_id).where(models.ContractFact.contract_id == contract_id)
    )
    return customer_id


async def first_activity(session: AsyncSession, customer_ids: Sequence[str]) -> dict[tuple[str, str], FirstActivity]:
    """(customer id, rep id) → the rep's first activity on the customer, for these customers (one query)."""
    rows = (
        await session.scalars(select(models.RepActivity).where(models.RepActivity.customer_id.in_(customer_ids)))
    ).all()
    return {(r.customer_id, r.rep_id): FirstActivity(r.first_follow_up_at, r.first_opportunity_at) for r in rows}


async def repoint_facts(session: AsyncSession, survivor_id: str, merged_ids: Sequence[str]) -> None:
    """Our replicas of other services' facts follow the merge: producers re-point their records
    on `merged` but do not replay their history."""
    for model in (models.OpportunityFact, models.ContractFact, models.MoneyFact):
        await session.execute(update(model).where(model.customer_id.in_(merged_ids)).values(customer_id=survivor_id))
    facts = (
        await session.scalars(select(models.RepActivity).where(models.RepActivity.customer_id.in_(merged_ids)))
    ).all()
    for fact in facts:
        target = await session.get(models.RepActivity, (survivor_id, fact.rep_id))
        if target is None:
            target = models.RepActivity(customer_id=survivor_id, rep_id=fact.rep_id, follow_up_count=0)
            session.add(target)
        target.follow_up_count = (target.follow_up_count or 0) + fact.follow_up_count
        for name, pick in (
            ("first_follow_up_at", min),
            ("last_follow_up_at", max),
            ("first_opportunity_at", min),
            ("last_opportunity_at", max),
            ("last_deal_at", max),
        ):
            known = [v for v in (getattr(target, name), getattr(fact, name)) if v is not None]
            setattr(target, name, pick(known) if known else None)
        await session.delete(fact)


# Writing the facts (the event handlers): one statement per kind of fact, built once per dialect and
# bound at execution, for one event's fact or a batch's (no ORM load and unit-of-work flush per event). Each statement resolves the
# customer it is given (`writing_for`'s answer) through the merge map itself (`_SURVIVOR`): a
# fact of a merged customer lands on its survivor without a lookup statement of its own.

_SURVIVOR = survivor_in_statement("of_customer")


def _earliest(column: str, table: Table, new: Any) -> Any:
    old, value = table.c[column], new[column]
    return case((or_(old.is_(None), value < old), value), else_=old)


def _latest(column: str, table: Table, new: Any) -> Any:
    old, value = table.c[column], new[column]
    return case((or_(old.is_(None), value > old), value), else_=old)


@lru_cache(maxsize=16)
def _rep_statement(dialect: str, earliest: tuple[str, ...], latest: tuple[str, ...], counted: bool) -> Any:
    """A (customer, rep) row created if missing, its times moved to the earliest/latest seen (NULL:
    none yet; order-free, so a late event counts the same) and, `counted`, its follow-ups counted."""
    table = models.RepActivity.__table__
    statement = conflict_insert(dialect)(table).values(customer_id=_SURVIVOR)
    new = statement.excluded
    changes = {column: _earliest(column, table, new) for column in earliest}
    changes |= {column: _latest(column, table, new) for column in latest}
    if counted:  # by the count given: one for an event, a batch's for a batch (record_follow_ups)
        changes["follow_up_count"] = table.c.follow_up_count + new.follow_up_count
    return statement.on_conflict_do_update(index_elements=["customer_id", "rep_id"], set_=changes)


async def _rep_times(
    session: AsyncSession,
    times: Sequence[tuple[str, str, datetime]],
    earliest: tuple[str, ...],
    latest: tuple[str, ...],
    counted: bool = False,
) -> None:
    """Each (customer, rep, time) on its (customer, rep) row: one row per customer and rep with the
    earliest and latest of its times (and, `counted`, how many), in one execution, in key order
    (two consumers' replicas writing the same rows take their locks in one order)."""
    seen: dict[tuple[str, str], list[datetime]] = {}
    for customer_id, rep_id, at in times:
        seen.setdefault((customer_id, rep_id), []).append(at)
    if not seen:
        return
    statement = _rep_statement(dialect_name(session), earliest, latest, counted)
    rows = [
        {"of_customer": customer_id, "rep_id": rep_id, "follow_up_count": len(ats) if counted else 0}
        | {column: min(ats) for column in earliest}
        | {column: max(ats) for column in latest}
        for (customer_id, rep_id), ats in sorted(seen.items())
    ]
    await session.execute(statement, rows)


async def record_follow_ups(session: AsyncSession, follow_ups: Sequence[tuple[str, str, datetime]]) -> None:
    """Follow-ups, each (customer or its survivor, rep, time): counted, with the earliest and latest."""
    await _rep_times(session, follow_ups, ("first_follow_up_at",), ("last_follow_up_at",), True)


async def record_opportunities(session: AsyncSession, opened: Sequence[tuple[str, str, datetime]]) -> None:
    """Opportunities the reps opened, each (customer or its survivor, rep, time)."""
    await _rep_times(session, opened, ("first_opportunity_at",), ("last_opportunity_at",))


async def record_deals(session: AsyncSession, won: Sequence[tuple[str, str, datetime]]) -> None:
    """Deals the reps won, each (customer or its survivor, rep, time)."""
    await _rep_times(session, won, (), ("last_deal_at",))


async def record_follow_up(session: AsyncSession, customer_id: str, rep_id: str, at: datetime) -> None:
    """One follow-up of the rep on the customer (or its survivor)."""
    await record_follow_ups(session, [(customer_id, rep_id, at)])


async def record_opportunity(session: AsyncSession, customer_id: str, rep_id: str, at: datetime) -> None:
    """An opportunity the rep opened with the customer (or its survivor) at `at`."""
    await record_opportunities(session, [(customer_id, rep_id, at)])


async def record_deal(session: AsyncSession, customer_id: str, rep_id: str, at: datetime) -> None:
    """A deal the rep won with the customer (or its survivor) at `at`."""
    await record_deals(session, [(customer_id, rep_id, at)])


@lru_cache(maxsize=16)
def _fact_statement(dialect: str, table: Table) -> Any:
    """A fact stored under its key, or the stored one overwritten (every column)."""
    (key,) = table.primary_key.columns
    statement = conflict_insert(dialect)(table).values(customer_id=_SURVIVOR)
    changes = {column.name: statement.excluded[column.name] for column in table.columns if column is not key}
    return statement.on_conflict_do_update(index_elements=[key.name], set_=changes)


async def store_facts(session: AsyncSession, model: type[models.Base], facts: Sequence[dict[str, object]]) -> None:
    """Facts of `model` (opportunity, contract, money), each `{"of_customer": the customer (or its
    survivor), **its key and every other column}`, in one execution, in key order."""
    if not facts:
        return
    table = model.__table__
    assert isinstance(table, Table)
    (key,) = table.primary_key.columns
    ordered = sorted(facts, key=lambda fact: str(fact[key.name]))
    await session.execute(_fact_statement(dialect_name(session), table), ordered)


async def store_fact(session: AsyncSession, model: type[models.Base], customer_id: str, **values: object) -> None:
    """One fact of `model` of the customer (or its survivor); `values`: its key and every other column."""
    await store_facts(session, model, [{"of_customer": customer_id, **values}])
