"""The opportunity store: rows of `opportunities` <-> the domain's Opportunity aggregate."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Select, select
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

ModelOf = Callable[[str], StageModel]  # a stage model by code (the use cases' snapshot)
FIELDS = "opportunities"  # the custom-field entity


def _money_json(value: Money) -> dict[str, str]:
    return {"amount": str(value.amount), "currency": value.currency}


def from_row(row: Row, model: StageModel) -> Opportunity:
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


def to_row(opportunity: Opportunity, row: Row) -> None:
    """Every stored field of the aggregate onto its row (the version too)."""
    row.id = opportunity.opportunity_id
    row.customer_id = opportunity.customer_id
    row.name = opportunity.name
    row.name_key = normalise_key(opportunity.name)
    row.owner_id = opportunity.owner_id
    row.org_path = opportunity.org_path
    row.amount, row.currency = str(opportunity.amount.amount), opportunity.amount.currency
    row.expected_close_date = opportunity.expected_close_date
    row.competitors = [
        {"name": c.name, "strengths": c.strengths, "price": _money_json(c.price) if c.price else None}
        for c in opportunity.competitors
    ]
    row.products = [{"product_id": p.product_id, "quantity": str(p.quantity)} for p in opportunity.products]
    row.stage_model = opportunity.stage_model
    row.stage = opportunity.stage
    row.stage_entered_at = opportunity.stage_entered_at
    row.status = opportunity.status
    row.lost_reason = opportunity.lost_reason
    row.facts = {**opportunity.retained_facts, **encode_facts(opportunity.facts)}
    row.sla_level_notified = opportunity.sla_level_notified
    row.commit = opportunity.commit
    row.channel = opportunity.channel
    row.partner_id = opportunity.partner_id
    row.custom_fields = dict(opportunity.custom_fields)
    row.version = opportunity.version
    row.created_at = opportunity.created_at
    row.updated_at = opportunity.updated_at


async def insert(session: AsyncSession, opportunity: Opportunity) -> None:
    """A new opportunity; its name must be free for the customer (the unique key decides a race)."""
    row = Row()
    to_row(opportunity, row)
    session.add(row)
    try:
        await session.flush()
    except IntegrityError:  # a concurrent create of the same name won the race
        raise Conflict(f"the customer already has an opportunity named {opportunity.name!r}", "name") from None


async def _row(session: AsyncSession, opportunity_id: str) -> Row:
    row = await session.get(Row, opportunity_id)  # the identity map's row once loaded: no second query
    if row is None:
        raise NotFound(f"opportunity {opportunity_id!r} does not exist", "id")
    return row


async def load_in_scope(
    session: AsyncSession, principal: Principal, opportunity_id: str, permission: str, model_of: ModelOf
) -> Opportunity:
    principal.require(permission)
    row = await _row(session, opportunity_id)
    if not principal.can_see(permission, row.owner_id, row.org_path):
        raise PermissionDenied("this opportunity is outside your scope")
    return from_row(row, model_of(row.stage_model))


async def load(session: AsyncSession, opportunity_id: str, model_of: ModelOf) -> Opportunity:
    """Without a scope check: for the service's own consumers and schedulers."""
    row = await _row(session, opportunity_id)
    return from_row(row, model_of(row.stage_model))


async def save(
    session: AsyncSession, opportunity: Opportunity, now: datetime, *, expected_version: int = 0
) -> Opportunity:
    """Store a changed opportunity as its next version. `expected_version` (0: the loaded one) is
    the version the caller read; a row that moved on since is a Conflict."""
    row = await _row(session, opportunity.opportunity_id)
    expected = expected_version or opportunity.version
    if row.version != expected:
        raise Conflict.stale_version(
            f"the record changed (version {row.version}, you sent {expected}); reload and retry",
            "expected_version",
            current=row.version,
            sent=expected,
        )
    saved = replace(opportunity, version=row.version + 1, updated_at=now)
    to_row(saved, row)
    return saved


async def set_sla_level(session: AsyncSession, opportunity_id: str, level: int) -> None:
    """The SLA level notified for the current stage entry (bookkeeping: no new version)."""
    (await _row(session, opportunity_id)).sla_level_notified = level


async def _many(session: AsyncSession, stmt: Select[tuple[Row]], model_of: ModelOf) -> list[Opportunity]:
    return [from_row(row, model_of(row.stage_model)) for row in (await session.scalars(stmt)).all()]


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
    stmt = select(Row).where(scope_filter(principal, permission, Row.owner_id, Row.org_path), Row.status != "lost")
    return await _many(session, stmt, model_of)


async def open_ones(session: AsyncSession, model_of: ModelOf) -> list[Opportunity]:
    return await _many(session, select(Row).where(Row.status == "open"), model_of)


async def of_customers(
    session: AsyncSession, customer_ids: Sequence[str], models: Callable[[], Awaitable[ModelOf]]
) -> list[Opportunity]:
    """The customers' opportunities, oldest first; the stage models are read (`models`) only when
    there are any."""
    stmt = select(Row).where(Row.customer_id.in_(customer_ids)).order_by(Row.created_at, Row.id)
    rows = (await session.scalars(stmt)).all()
    if not rows:
        return []
    model_of = await models()
    return [from_row(row, model_of(row.stage_model)) for row in rows]


async def names_of(session: AsyncSession, customer_id: str) -> list[str]:
    return list((await session.scalars(select(Row.name).where(Row.customer_id == customer_id))).all())


async def name_keys_of(session: AsyncSession, customer_id: str) -> set[str]:
    return set((await session.scalars(select(Row.name_key).where(Row.customer_id == customer_id))).all())


async def open_stages(session: AsyncSession, stage_model: str) -> set[str]:
    """The stages open opportunities of a stage model stand in."""
    stmt = select(Row.stage).where(Row.stage_model == stage_model, Row.status == "open")
    return set((await session.scalars(stmt)).all())
