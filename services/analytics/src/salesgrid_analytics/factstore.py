"""Storing domain facts in the generic `facts` table and reading them back.

A row keeps the common fact fields as columns and the kind's own fields as JSON, so a new kind of
fact needs no migration. Org paths are stored in the platform form ("/<unit>/…/").
"""

from __future__ import annotations

import dataclasses
import json
import time
import typing
from functools import lru_cache
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from prometheus_client import Histogram
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid_common.db import conflict_insert, dialect_name
from salesgrid_analytics.domain import facts as f
from salesgrid_analytics.domain import orgpath
from salesgrid_analytics.domain.expenses import ExpensePaid
from salesgrid_analytics.models import StoredFact

# Freshness of the read models: how long after the producer's change a fact is applied (a replay
# observes its own, large, lags; the live service's figures are the ones watched).
PROJECTION_LAG = Histogram(
    "salesgrid_projection_lag_seconds",
    "Time from an event's occurred_at to its fact being applied",
    ["kind"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0),
)

# Facts analytics keeps that are not domain facts (nothing reduces them but simple counts).
USER_CREATED = "user_created"

KINDS: dict[str, type[f.Fact]] = {
    "opportunity_created": f.OpportunityCreated,
    "opportunity_updated": f.OpportunityUpdated,
    "stage_changed": f.StageChanged,
    "opportunity_won": f.OpportunityWon,
    "opportunity_lost": f.OpportunityLost,
    "contract_signed": f.ContractSigned,
    "receipt_recorded": f.ReceiptRecorded,
    "customer_created": f.CustomerCreated,
    "follow_up_logged": f.FollowUpLogged,
    "check_in_recorded": f.CheckInRecorded,
    "daily_report_submitted": f.DailyReportSubmitted,
    "daily_report_missing": f.DailyReportMissing,
    "daily_report_falsified": f.DailyReportFalsified,
    "sla_overdue": f.SlaOverdue,
    "gate_violated": f.GateViolated,
    "expense_paid": ExpensePaid,
}
_KIND_OF = {cls: kind for kind, cls in KINDS.items()}
_COMMON = {"event_id", "occurred_at", "owner_id", "org_path"}


def platform_path(path: str) -> str:
    """The platform's form of an org path: "/a/b/" (the root stays "/")."""
    return orgpath.stored(path)


def _encode(value: Any) -> Any:
    if isinstance(value, (Decimal, date)):  # datetime is a date too
        return value.isoformat() if isinstance(value, date) else str(value)
    return value


def _decode(value: Any, kind: Any) -> Any:
    if kind is Decimal:
        return Decimal(value)
    if kind is date:
        return date.fromisoformat(value)
    if isinstance(kind, type) and issubclass(kind, StrEnum):
        return kind(value)
    return value


@lru_cache(maxsize=4)
def _insert_new(dialect: str) -> Any:
    facts = StoredFact.__table__
    return (
        conflict_insert(dialect)(facts).on_conflict_do_nothing(index_elements=["event_id"]).returning(facts.c.event_id)
    )


async def store(
    session: AsyncSession,
    kind: str,
    event_id: str,
    occurred_at: datetime,
    owner_id: str,
    org_path: str,
    data: dict[str, Any],
) -> bool:
    """Insert one fact unless its event id is already stored; True when inserted. One statement,
    built once and bound at execution (every event analytics keeps passes here)."""
    inserted = await session.scalar(
        _insert_new(dialect_name(session)),
        {
            "event_id": event_id,
            "kind": kind,
            "occurred_at": occurred_at,
            "owner_id": owner_id,
            "org_path": platform_path(org_path),
            "data": json.dumps(data, sort_keys=True),
        },
    )
    if inserted is None:
        return False
    PROJECTION_LAG.labels(kind).observe(max(0.0, time.time() - occurred_at.timestamp()))
    return True


async def store_fact(session: AsyncSession, fact: f.Fact) -> bool:
    return await store(
        session, _KIND_OF[type(fact)], fact.event_id, fact.occurred_at, fact.owner_id, fact.org_path, _data(fact)
    )


async def store_facts(session: AsyncSession, facts: typing.Sequence[f.Fact]) -> int:
    """store_fact for many facts (of distinct event ids) in one execution: how many were new."""
    if not facts:
        return 0
    rows = [
        {
            "event_id": fact.event_id,
            "kind": _KIND_OF[type(fact)],
            "occurred_at": fact.occurred_at,
            "owner_id": fact.owner_id,
            "org_path": platform_path(fact.org_path),
            "data": json.dumps(_data(fact), sort_keys=True),
        }
        for fact in facts
    ]
    inserted = set((await session.execute(_insert_new(dialect_name(session)), rows)).scalars())
    now = time.time()
    for row in rows:
        if row["event_id"] in inserted:
            PROJECTION_LAG.labels(row["kind"]).observe(max(0.0, now - row["occurred_at"].timestamp()))
    return len(inserted)


def _data(fact: f.Fact) -> dict[str, Any]:
    return {
        field.name: _encode(getattr(fact, field.name))
        for field in dataclasses.fields(fact)
        if field.name not in _COMMON
    }


@lru_cache(maxsize=None)
def _hints(cls: type[f.Fact]) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def to_fact(row: StoredFact) -> f.Fact | None:
    """The domain fact of a row; None for kinds no reducer reads."""
    cls = KINDS.get(row.kind)
    if cls is None:
        return None
    hints = _hints(cls)
    values = {name: _decode(value, hints.get(name)) for name, value in json.loads(row.data).items()}
    return cls(
        event_id=row.event_id, occurred_at=row.occurred_at, owner_id=row.owner_id, org_path=row.org_path, **values
    )


async def find(session: AsyncSession, kind: str, field: str, value: str) -> StoredFact | None:
    """The first stored fact of `kind` whose JSON has `field` equal to `value` (the JSON is written
    with sorted keys and default separators, so the pair appears verbatim)."""
    needle = json.dumps({field: value})[1:-1]
    query = select(StoredFact).where(StoredFact.kind == kind, StoredFact.data.contains(needle, autoescape=True))
    return await session.scalar(query.order_by(StoredFact.occurred_at).limit(1))


async def load(
    session: AsyncSession, subtree: str, owner_id: str | None = None, kinds: typing.Collection[str] | None = None
) -> list[StoredFact]:
    """Rows under `subtree` (platform form), or only `owner_id`'s when given; the reducers narrow further."""
    query = select(StoredFact)
    if owner_id is not None:
        query = query.where(StoredFact.owner_id == owner_id)
    elif subtree != orgpath.ROOT:
        query = query.where(StoredFact.org_path.startswith(subtree, autoescape=True))
    if kinds is not None:
        query = query.where(StoredFact.kind.in_(list(kinds)))
    return list((await session.scalars(query.order_by(StoredFact.occurred_at, StoredFact.event_id))).all())


@dataclasses.dataclass(frozen=True)
class UserCreated:
    """A `user_created` fact (no reducer reads it; the dashboard counts them), as stored."""

    occurred_at: datetime
    owner_id: str
    org_path: str  # the platform form


async def load_facts(session: AsyncSession, subtree: str, owner_id: str | None = None) -> list[f.Fact]:
    """The domain facts under `subtree` (platform form), or only `owner_id`'s when given, oldest
    first, in one query (see `load`)."""
    return [fact for fact in map(to_fact, await load(session, subtree, owner_id)) if fact is not None]


async def load_with_users(
    session: AsyncSession, subtree: str, owner_id: str | None = None
) -> tuple[list[f.Fact], list[UserCreated]]:
    """`load_facts`, and the users created there, from the same one query."""
    rows = await load(session, subtree, owner_id)
    users = [UserCreated(r.occurred_at, r.owner_id, r.org_path) for r in rows if r.kind == USER_CREATED]
    return [fact for fact in map(to_fact, rows) if fact is not None], users
