"""Wiring of the identity service into the common bootstrap."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import grpc
from salesgrid.events.v1.envelope_pb2 import Envelope
from salesgrid.events.v1.gateway_events_pb2 import SensitiveRead, SensitiveReads
from salesgrid.identity.v1 import identity_pb2, identity_pb2_grpc
from salesgrid_common.actors import system_actor
from salesgrid_common.events.batches import Item
from salesgrid_common.events.consumer import Subscription
from salesgrid_common.service import ServiceDefinition
from salesgrid_common.service_context import ServiceContext
from salesgrid_common.protos import from_timestamp
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid_identity.keys import SigningKeys
from salesgrid_identity.servicer import AuthServicer, IdentityServicer
from salesgrid_identity.settings import IdentitySettings
from salesgrid_identity.usecases import IdentityUseCases

MIGRATIONS = Path(__file__).resolve().parent / "migrations"  # shipped inside the package
AUDITED_PRODUCERS = ("customers", "pipeline", "activities", "contracts", "analytics", "expenses", "webhooks")
_AUTH = identity_pb2.DESCRIPTOR.services_by_name["Auth"].full_name
_IDENTITY = identity_pb2.DESCRIPTOR.services_by_name["Identity"].full_name
PASSWORD_CHANGE_METHODS = frozenset(f"/{_IDENTITY}/{m}" for m in ("GetMe", "ChangePassword"))
PUBLIC_METHODS = frozenset(f"/{_AUTH}/{m}" for m in ("Login", "Refresh", "Logout", "GetJwks", "AuthenticateApiKey"))


def usecases_for(ctx: ServiceContext) -> IdentityUseCases:
    settings = ctx.settings
    assert isinstance(settings, IdentitySettings)
    keys = ctx.component(
        SigningKeys,
        lambda: SigningKeys(settings.private_key_pem(), settings.signing_key_id, settings.retired_public_keys),
    )
    return ctx.component(
        IdentityUseCases, lambda: IdentityUseCases(ctx.sessions, ctx.outbox, settings, keys, ctx.clock, ctx.reader)
    )


def register(server: grpc.aio.Server, ctx: ServiceContext) -> Sequence[str]:
    usecases = usecases_for(ctx)
    identity_pb2_grpc.add_AuthServicer_to_server(AuthServicer(usecases, ctx.component(SigningKeys)), server)
    identity_pb2_grpc.add_IdentityServicer_to_server(IdentityServicer(usecases), server)
    return [service.full_name for service in identity_pb2.DESCRIPTOR.services_by_name.values()]


def audit_subscriptions(ctx: ServiceContext) -> Sequence[Subscription]:
    """Every write in every other service lands in the audit trail, from its events."""
    usecases = usecases_for(ctx)

    async def record(session: AsyncSession, envelope: Envelope, _payload: bytes) -> None:
        await usecases.audit(session, **_event_entry(envelope))

    async def record_many(session: AsyncSession, items: list[Item]) -> None:
        """record, set-based: a run of events (an import's customers) in one insert."""
        await usecases.audit_many(session, [_event_entry(envelope) for envelope, _ in items])

    async def sensitive_read(session: AsyncSession, envelope: Envelope, read: SensitiveRead) -> None:
        # An older gateway's one-record event: who, from where, when and its id are the envelope's.
        record = SensitiveRead(
            action=read.action,
            target_type=read.target_type,
            detail=read.detail,
            record_id=envelope.event_id,
            actor_id=envelope.actor_id,
            actor_ip=envelope.actor_ip,
            occurred_at=envelope.occurred_at,
        )
        await usecases.audit(session, **_read_entry(record))

    async def sensitive_reads(session: AsyncSession, envelope: Envelope, reads: SensitiveReads) -> None:
        # A gateway worker's group-committed records: one audit entry each, keyed by its record id.
        await usecases.audit_many(session, [_read_entry(read) for read in reads.reads])

    reads = Subscription(name="identity-audit-gateway", producer="gateway")
    reads.on("salesgrid.gateway.sensitive_read.recorded", SensitiveRead)(sensitive_read)  # older gateways
    reads.on("salesgrid.gateway.sensitive_reads.recorded", SensitiveReads)(sensitive_reads)
    subs = [reads]
    for producer in AUDITED_PRODUCERS:
        sub = Subscription(name=f"identity-audit-{producer}", producer=producer)
        sub.on_any(record)
        sub.on_any_batch(record_many)
        subs.append(sub)
    return subs


def _read_entry(read: SensitiveRead) -> dict[str, Any]:
    """The audit entry of one record of the gateway's reads of sensitive lists and exports (see its
    audit_reads) (`audit`'s arguments)."""
    return {
        "action": read.action[:200] or "sensitive_read",
        "actor_id": read.actor_id,
        "actor_ip": read.actor_ip,
        "target_type": read.target_type,
        "detail": read.detail,
        "source": "gateway",
        "event_id": read.record_id,
        "occurred_at": from_timestamp(read.occurred_at),
    }


def _event_entry(envelope: Envelope) -> dict[str, Any]:
    """The audit entry of another service's event (`audit`'s arguments)."""
    return {
        "action": envelope.type.removeprefix("salesgrid."),
        # an event without an actor was raised by its service's own automation (one rule: system_actor)
        "actor_id": envelope.actor_id or system_actor(envelope.producer),
        "actor_ip": envelope.actor_ip,
        "target_type": envelope.type.split(".")[2],
        "target_id": envelope.aggregate_id,
        "source": envelope.producer,
        "event_id": envelope.event_id,
        "occurred_at": from_timestamp(envelope.occurred_at),
    }


def jwks(ctx: ServiceContext):  # type: ignore[no-untyped-def]
    usecases_for(ctx)
    keys = ctx.component(SigningKeys)

    async def own_keys() -> str:
        return keys.jwks()

    return own_keys


def background(ctx: ServiceContext):  # type: ignore[no-untyped-def]
    return [usecases_for(ctx).ensure_builtin_roles()]


DEFINITION = ServiceDefinition(
    name="identity",
    register=register,
    subscriptions=audit_subscriptions,
    background=background,
    public_methods=PUBLIC_METHODS,
    password_change_methods=PASSWORD_CHANGE_METHODS,
    jwks=jwks,
    with_directory=False,
)
