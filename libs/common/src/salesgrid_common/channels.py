"""Sales channels (销售渠道): direct, agent and distributor, and the channel partners that sales
through an agent or a distributor are attributed to.

A channel partner is an account of the customers service (owner, scope, tier, dedup as any
customer) marked with its channel, partner tier and partner contract. Services that attribute
records to a partner (pipeline's opportunities, contracts' contracts) keep a replica of the
partners from customers' `customer.created/updated` events (never a read of customers' tables)
and check an attribution with ``check_attribution``. The rules:

- the channel is one of CHANNELS; empty means direct;
- a direct sale names no partner;
- an agent or distributor sale names an active partner of exactly that channel.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Boolean, Column, Integer, MetaData, String, Table, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid.events.v1.customers_events_pb2 import CustomerRecordState
from salesgrid.events.v1.envelope_pb2 import Envelope
from salesgrid_common.db import UtcDateTime
from salesgrid_common.errors import ValidationFailed
from salesgrid_common.events.batches import Item
from salesgrid_common.events.consumer import Subscription
from salesgrid_common.events.versions import claim_newer
from salesgrid_common.protos import from_timestamp

DIRECT, AGENT, DISTRIBUTOR = "direct", "agent", "distributor"
CHANNELS = (DIRECT, AGENT, DISTRIBUTOR)
PARTNER_CHANNELS = (AGENT, DISTRIBUTOR)
PARTNER_TIERS = ("gold", "silver", "bronze")  # a partner's own tier, beside its tier as a customer


@dataclass(frozen=True)
class Attribution:
    channel: str
    partner_id: str  # "" for a direct sale


def parse_channel(value: str, field: str = "channel") -> str:
    channel = (value or "").strip().lower() or DIRECT
    if channel not in CHANNELS:
        raise ValidationFailed(f"must be one of {', '.join(CHANNELS)}", field)
    return channel


def check_attribution(channel: str, partner_id: str, partner_channel: str | None, *, prefix: str = "") -> Attribution:
    """The attribution of a sale to ``channel`` and ``partner_id``; ``partner_channel`` is the
    named partner's channel as the replica knows it (None: no such active partner)."""
    channel = parse_channel(channel, f"{prefix}channel")
    partner = (partner_id or "").strip()
    field = f"{prefix}partner_id"
    if channel == DIRECT:
        if partner:
            raise ValidationFailed(
                "a direct sale has no channel partner; leave it empty or pick agent or distributor", field
            )
        return Attribution(DIRECT, "")
    if not partner:
        raise ValidationFailed(f"is required for a sale through the {channel} channel", field)
    if partner_channel is None:
        raise ValidationFailed(f"{partner!r} is not an active channel partner", field)
    if partner_channel != channel:
        raise ValidationFailed(f"{partner!r} is a partner of the {partner_channel} channel, not {channel}", field)
    return Attribution(channel, partner)


def precheck_attribution(channel: str, partner_id: str, *, prefix: str = "") -> None:
    """The checks that need no replica (a bad channel, a partner on a direct sale, a missing
    partner), for refusing bad input before any remote call."""
    partner = (partner_id or "").strip()
    check_attribution(channel, partner, parse_channel(channel, f"{prefix}channel") if partner else None, prefix=prefix)


# --- the replica of customers' channel partners, kept by each service that attributes sales ----

channel_partner_metadata = MetaData()

channel_partners = Table(
    "channel_partners",
    channel_partner_metadata,
    Column("partner_id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("channel", String(16), nullable=False),  # "" once the account is no longer a partner
    Column("tier", String(16), nullable=False),
    Column("owner_id", String(36), nullable=False),
    Column("org_path", String(1000), nullable=False),
    Column("active", Boolean, nullable=False),
    Column("version", Integer, nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)


async def partner_channel(session: AsyncSession, partner_id: str) -> str | None:
    """The channel of an active partner, None when the id names none."""
    if not partner_id.strip():
        return None
    row = (
        await session.execute(
            select(channel_partners.c.channel, channel_partners.c.active).where(
                channel_partners.c.partner_id == partner_id.strip()
            )
        )
    ).first()
    if row is None or not row.active or not row.channel:
        return None
    return str(row.channel)


async def attribution(session: AsyncSession, channel: str, partner_id: str, prefix: str = "") -> Attribution:
    """``check_attribution`` against this service's replica of the partners."""
    return check_attribution(channel, partner_id, await partner_channel(session, partner_id), prefix=prefix)


# Built once, bound at execution (every customer event of every import passes here).
_KNOWN_PARTNER = select(channel_partners.c.partner_id).where(channel_partners.c.partner_id == bindparam("partner_id"))
_KNOWN_PARTNERS = select(channel_partners.c.partner_id).where(
    channel_partners.c.partner_id.in_(bindparam("partner_ids", expanding=True))
)


def channel_partners_subscription(consumer: str) -> Subscription:
    """Keeps ``channel_partners`` from customers' customer events (newest state wins); an account
    that stops being a partner stays with an empty channel, and a deactivated (merged) one is
    inactive, so neither can be named any more."""
    sub = Subscription(name=f"{consumer}-channel-partners", producer="customers")

    async def keep(session: AsyncSession, envelope: Envelope, customer: CustomerRecordState) -> None:
        known = await session.scalar(_KNOWN_PARTNER, {"partner_id": customer.customer_id})
        if not customer.partner_channel and known is None:
            return  # an ordinary customer: nothing to keep
        if not await claim_newer(session, sub.name, customer.customer_id, envelope):
            return  # an older state redelivered late
        active = not envelope.type.endswith(".deactivated")  # merged away or deactivated
        values = {
            "name": customer.legal_name,
            "channel": customer.partner_channel,
            "tier": customer.partner_tier,
            "owner_id": customer.owner_id,
            "org_path": customer.org_path,
            "active": active,
            "version": customer.version,
            "updated_at": from_timestamp(envelope.occurred_at),
        }
        if known is None:
            await session.execute(channel_partners.insert().values(partner_id=customer.customer_id, **values))
        else:
            await session.execute(
                channel_partners.update().where(channel_partners.c.partner_id == customer.customer_id).values(**values)
            )

    async def keep_many(session: AsyncSession, items: list[Item]) -> None:
        """keep for a run, with one probe for all of it: only partners (named now, or known here,
        or touched by an earlier event of the run) go through keep; the rest is nothing to keep."""
        ids = sorted({customer.customer_id for _, customer in items})
        touched = set(await session.scalars(_KNOWN_PARTNERS, {"partner_ids": ids}))
        for envelope, customer in items:
            if customer.partner_channel or customer.customer_id in touched:
                await keep(session, envelope, customer)
                touched.add(customer.customer_id)

    for verb in ("created", "updated", "deactivated"):
        sub.on(f"salesgrid.customers.customer.{verb}", CustomerRecordState)(keep)
        sub.on_batch(f"salesgrid.customers.customer.{verb}")(keep_many)
    return sub
