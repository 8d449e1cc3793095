"""The opportunity store: rows of `opportunities` <-> the domain's Opportunity aggregate."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid_common.auth.principal import Principal
from salesgrid_common.auth.scope_filters import scope_filter
from salesgrid_common.custom_fields.records import filter_clauses
from salesgrid_common.errors import Conflict, NotFound, PermissionDenied
from salesgrid_common.paging import keyset_page
from salesgrid_pipeline.domain._checks import normalise_key
from salesgrid_pipeline.domain.money import Money
from salesgrid_pipeline.domain.opportunities import Competitor, Opportunity, OpportunityProduct
from salesgrid_pipeline.domain.stage_model import StageModel
from salesgrid_pipeline.gate_fact_codec import decode_facts, encode_facts
from salesgrid_pipeline.models import Opportunity as Row
from salesgrid_pipeline.models import StageModelRow

ModelOf = Callable[[str], StageModel]  # a stage model by code (the use cases' snapshot)
# The stage model an opportunity follows, as stored at the version read with it (None: no stored
# row, the built-in default): the use cases' version-checked cache of stage models.
ModelAt = Callable[[str, int | None], Awaitable[StageModel]]
FIELDS = "opportunities"  # the custom-field entity
_T = Row.__table__


def _money_json(value: Money) -> dict[str, str]:
    return {"amount": str(value.amount), "currency": value.currency}


def from_row(row: Any, model: StageModel) -> Opportunity:
    """An opportunity from its row (an ORM row or a Core row of the table's columns)."""
    stored = dict(row.facts or {})
    facts = decode_facts(stored, model)
    return Opportunity(
        opportunity_id=row.id,
        customer_id=row.customer_id,
        name=row.name,
        owner_id=row.owner_id,
        org_path=row.org_path,
        amount=Money(Decimal(row.amount), row.currency),
        expected_close_date=row.expected_close_date,
        stage_model=row.stage_model,
        stage=row.stage,
        stage_entered_at=row.stage_entered_at,
        created_at=row.created_at,
        updated_at=row.updated_at,
        status=row.status,
        competitors=tuple(
            Competitor(
                c["name"],
                c["strengths"],
                Money(Decimal(c["price"]["amount"]), c["price"]["currency"]) if c.get("price") else None,
            )
            for c in row.competitors or ()
        ),
        products=tuple(OpportunityProduct(p["product_id"], Decimal(p["quantity"])) for p in row.products or ()),
        lost_reason=row.lost_reason or "",
        facts=facts,
        retained_facts={code: value for code, value in stored.items() if code not in facts},
        sla_level_notified=row.sla_level_notified or 0,
        commit=bool(row.commit),
        channel=row.channel or "direct",
        partner_id=row.partner_id or "",
        custom_fields=dict(row.custom_fields or {}),
        version=row.version,
    )


def to_values(opportunity: Opportunity) -> dict[str, Any]:
    """Every stored field of the aggregate as its row's column values (the version too)."""
    return {
        "id": opportunity.opportunity_id,
        "customer_id": opportunity.customer_id,
        "name": opportunity.name,
        "name_key": normalise_key(opportunity.name),
        "owner_id": opportunity.owner_id,
        "org_path": opportunity.org_path,
        "amount": str(opportunity.amount.amount),
        "currency": opportunity.amount.currency,
        "expected_close_date": opportunity.expected_close_date,
        "competitors": [
            {"name": c.name, "strengths": c.strengths, "price": _money_json(c.price) if c.price else None}
            for c in opportunity.competitors
        ],
        "products": [{"product_id": p.product_id, "quantity": str(p.quantity)} for p in opportunity.products],
        "stage_model": opportunity.stage_model,
        "stage": opportunity.stage,
        "stage_entered_at": opportunity.stage_entered_at,
        "status": opportunity.status,
        "lost_reason": opportunity.lost_reason,
        "facts": {**opportunity.retained_facts, **encode_facts(opportunity.facts)},
        "sla_level_notified": opportunity.sla_level_notified,
        "commit": opportunity.commit,
        "channel": opportunity.channel,
        "partner_id": opportunity.partner_id,
        "custom_fields": dict(opportunity.custom_fields),
        "version": opportunity.version,
        "created_at": opportunity.created_at,
        "updated_at": opportunity.updated_at,
    }


# Built once, bound at execution (SQLAlchemy Core: a write path's rows are never ORM instances, so
# no unit of work flushes them and no identity map can hold a stale copy).
_INSERT = insert(_T)
# One row with the version of the stage model it follows (NULL: the built-in default), so a use case
# checks its cached model against the stored one without a query of its own.
_ONE = (
    select(_T, StageModelRow.__table__.c.version.label("model_version"))
    .select_from(_T.outerjoin(StageModelRow.__table__, StageModelRow.__table__.c.code == _T.c.stage_model))
    .where(_T.c.id == bindparam("opportunity_id"))
)
_UPDATE = update(_T).where(_T.c.id == bindparam("b_id"), _T.c.version == bindparam("b_expected"))
_VERSION = select(_T.c.version).where(_T.c.id == bindparam("opportunity_id"))
_SLA_LEVEL = update(_T).where(_T.c.id == bindparam("b_id")).values(sla_level_notified=bindparam("b_level"))
_SAME_NAME = select(_T.c.name).where(_T.c.customer_id == bindparam("customer_id"), _T.c.name_key == bindparam("key"))


async def insert(session: AsyncSession, opportunity: Opportunity) -> None:
    """A new opportunity; its name must be free for the customer (the unique key decides a race)."""
    try:
        await session.execute(_INSERT, to_values(opportunity))
    except IntegrityError:  # a concurrent create of the same name won the race
        raise Conflict(f"the customer already has an opportunity named {opportunity.name!r}", "name") from None


async def _one(session: AsyncSession, opportunity_id: str) -> Any:
    row = (await session.execute(_ONE, {"opportunity_id": opportunity_id})).first()
    if row is None:
        raise NotFound(f"opportunity {opportunity_id!r} does not exist", "id")
    return row


async def load_in_scope(
    session: AsyncSession, principal: Principal, opportunity_id: str, permission: str, model_at: ModelAt
) -> Opportunity:
    principal.require(permission)
    row = await _one(session, opportunity_id)
    if not principal.can_see(permission, row.owner_id, row.org_path):
        raise PermissionDenied("this opportunity is outside your scope")
    return from_row(row, await model_at(row.stage_model, row.model_version))


async def load(session: AsyncSession, opportunity_id: str, model_at: ModelAt) -> Opportunity:
    """Without a scope check: for the service's own consumers and schedulers."""
    row = await _one(session, opportunity_id)
    return from_row(row, await model_at(row.stage_model, row.model_version))


async def save(
    session: AsyncSession, opportunity: Opportunity, now: datetime, *, expected_version: int = 0
) -> Opportunity:
    """Store a changed opportunity as its next version, in one UPDATE that holds only while the row
    is still at `expected_version` (0: the loaded one), the version the caller read; a row that moved
    on since is a Conflict."""
    expected = expected_version or opportunity.version
    saved = replace(opportunity, version=expected + 1, updated_at=now)
    values = to_values(saved)
    values["b_id"], values["b_expected"] = values.pop("id"), expected
    if (await session.execute(_UPDATE, values)).rowcount == 1:  # type: ignore[attr-defined]
        return saved
    current = await session.scalar(_VERSION, {"opportunity_id": opportunity.opportunity_id})
    if current is None:
        raise NotFound(f"opportunity {opportunity.opportunity_id!r} does not exist", "id")
    raise Conflict.stale_version(
        f"the record changed (version {current}, you sent {expected}); reload and retry",
        "expected_version",
        current=current,
        sent=expected,
    )


async def set_sla_level(session: AsyncSession, opportunity_id: str, level: int) -> None:
    """The SLA level notified for the current stage entry (bookkeeping: no new version)."""
    await session.execute(_SLA_LEVEL, {"b_id": opportunity_id, "b_level": level})


async def _many(session: AsyncSession, stmt: Select[Any], model_of: ModelOf) -> list[Opportunity]:
    return [from_row(row, model_of(row.stage_model)) for row in (await session.execute(stmt)).all()]


async def page_in_scope(
    session: AsyncSession,
    principal: Principal,
    permission: str,
    model_of: ModelOf,
    *,
    equal: Mapping[str, str],
    custom_fields: Mapping[str, str],
    page_size: int,
    after: str,
) -> tuple[list[Opportunity], str]:
    """One page in the caller's scope, in one query; `equal` filters owner_id, customer_id, status
    or stage (blank values are ignored)."""
    stmt = select(Row).where(scope_filter(principal, permission, Row.owner_id, Row.org_path))
    for name in ("owner_id", "customer_id", "status", "stage"):
        if equal.get(name):
            stmt = stmt.where(getattr(Row, name) == equal[name])
    stmt = stmt.where(*await filter_clauses(session, FIELDS, Row.id, custom_fields))
    found = await keyset_page(session, stmt, Row.id, page_size, after, newest_first=False)
    return [from_row(row, model_of(row.stage_model)) for row in found.items], found.next_token


async def not_lost_in_scope(
    session: AsyncSession, principal: Principal, permission: str, model_of: ModelOf
) -> list[Opportunity]:
    """Every open or won opportunity the caller sees (the forecast's input)."""
    stmt = select(_T).where(scope_filter(principal, permission, _T.c.owner_id, _T.c.org_path), _T.c.status != "lost")
    return await _many(session, stmt, model_of)


async def open_ones(session: AsyncSession, model_of: ModelOf) -> list[Opportunity]:
    return await _many(session, select(_T).where(_T.c.status == "open"), model_of)


async def of_customers(
    session: AsyncSession, customer_ids: Sequence[str], models: Callable[[], Awaitable[ModelOf]]
) -> list[Opportunity]:
    """The customers' opportunities, oldest first; the stage models are read (`models`) only when
    there are any."""
    stmt = select(_T).where(_T.c.customer_id.in_(customer_ids)).order_by(_T.c.created_at, _T.c.id)
    rows = (await session.execute(stmt)).all()
    if not rows:
        return []
    model_of = await models()
    return [from_row(row, model_of(row.stage_model)) for row in rows]


async def names_like(session: AsyncSession, customer_id: str, name: str) -> list[str]:
    """The names of the customer's opportunities that read as `name` (case, width and spacing
    aside: the unique key holds one at most), by that key's index instead of every name."""
    found = await session.scalars(_SAME_NAME, {"customer_id": customer_id, "key": normalise_key(name)})
    return list(found.all())


async def name_keys_of(session: AsyncSession, customer_id: str) -> set[str]:
    return set((await session.scalars(select(Row.name_key).where(Row.customer_id == customer_id))).all())


async def open_stages(session: AsyncSession, stage_model: str) -> set[str]:
    """The stages open opportunities of a stage model stand in."""
    stmt = select(Row.stage).where(Row.stage_model == stage_model, Row.status == "open")
    return set((await session.scalars(stmt)).all())
