"""`python -m salesgrid_analytics rebuild [DATABASE_URL]`: the read models from scratch.

Every producer's stream is replayed from its first message, through the same handlers the live
consumers run, into a fresh database (migrated here). Each replay reads through its own
throw-away consumer, so the live durable consumers keep their place; events are applied with the
live consumer's inbox name, so duplicates in a stream are absorbed exactly as they are live and
the rebuilt database can later be served by the live consumers without applying anything twice.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
from collections.abc import Sequence
from pathlib import Path

from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError
from salesgrid_common.db import SessionFactory, create_engine, session_factory
from salesgrid_common.directory import directory_subscription
from salesgrid_common.events.bus import connect
from salesgrid_common.events.consumer import Subscription, Topology, apply_once
from salesgrid_common.events.envelope import parse_envelope, unpack
from salesgrid_common.events.packs import events_of
from salesgrid_common.ids import new_id
from salesgrid_common.migrations import upgrade
from salesgrid_common.settings import ServiceSettings
from sqlalchemy import func, select

from salesgrid_analytics.handlers import all_subscriptions
from salesgrid_analytics.models import StoredFact, TargetRow

log = logging.getLogger(__name__)


class NotFresh(Exception):
    """The target database already holds facts: a rebuild only fills an empty one."""


async def replay(
    sub: Subscription, js: JetStreamContext, sessions: SessionFactory, topology: Topology, batch: int = 200
) -> int:
    """Apply every message of the producer's stream handled by `sub`, oldest first; the number applied."""
    stream = topology.stream(sub.producer)
    try:
        await js.stream_info(stream)
    except NotFoundError:
        return 0  # the producer never started: nothing to replay
    name = f"{sub.name}-rebuild-{new_id()[-12:]}"
    await js.add_consumer(
        stream,
        ConsumerConfig(
            durable_name=name,
            ack_policy=AckPolicy.NONE,
            deliver_policy=DeliverPolicy.ALL,
            inactive_threshold=300.0,
            filter_subjects=sorted(topology.filter_subject(t) for t in sub.handlers),
        ),
    )
    applied = 0
    try:
        if (await js.consumer_info(stream, name)).num_pending == 0:
            return 0  # nothing of this kind was ever published: no fetch to wait out
        psub = await js.pull_subscribe_bind(name, stream=stream)
        while True:
            try:
                messages = await psub.fetch(batch, timeout=0.5)
            except TimeoutError:  # nats' TimeoutError is the builtin's subclass
                if (await js.consumer_info(stream, name)).num_pending == 0:
                    return applied
                continue
            for msg in messages:
                try:  # a pack (events.packs) carries several events
                    envelopes = [parse_envelope(data) for data in events_of(msg.data)]
                except Exception:
                    log.warning("unreadable message skipped", extra={"stream": stream, "subject": msg.subject})
                    continue
                for envelope in envelopes:
                    route = sub.route(envelope.type)
                    if route is not None:
                        payload_type, handler = route
                        payload = unpack(envelope, payload_type) if payload_type else envelope.payload
                        applied += await apply_once(sessions, sub.name, envelope, handler, payload)
            if messages and messages[-1].metadata.num_pending == 0:
                return applied
    finally:
        await js.delete_consumer(stream, name)


def rebuild_subscriptions() -> list[Subscription]:
    """What the live service consumes: its facts and its replica of identity's directory."""
    return [*all_subscriptions(), directory_subscription("analytics")]


async def copy_targets(source_url: str, sessions: SessionFactory) -> int:
    """Targets are analytics' own input (set through its API), not projected from events: a rebuild
    carries them over from the database it replaces."""
    source = create_engine(source_url)
    try:
        async with session_factory(source)() as session:
            rows = list((await session.scalars(select(TargetRow))).all())
    finally:
        await source.dispose()
    columns = [c.key for c in TargetRow.__table__.columns]
    async with sessions() as session, session.begin():
        for row in rows:
            session.add(TargetRow(**{name: getattr(row, name) for name in columns}))
    return len(rows)


SINGLE_CELL = Topology()


async def rebuild(
    database_url: str,
    nats_url: str,
    topology: Topology = SINGLE_CELL,
    migrations: Path | None = None,
    targets_from: str = "",
) -> dict[str, int]:
    """Replay every stream into `database_url` (migrated first; must hold no facts), and copy the
    targets of `targets_from` when given; the number of events applied per consumer."""
    if migrations is not None:
        await asyncio.to_thread(upgrade, migrations, database_url)
    engine = create_engine(database_url)
    try:
        sessions = session_factory(engine)
        async with sessions() as session:
            if await session.scalar(select(func.count()).select_from(StoredFact)):
                raise NotFresh("the database already holds facts; rebuild into a fresh one")
        counts = {"targets": await copy_targets(targets_from, sessions)} if targets_from else {}
        nc = await connect(nats_url, f"analytics-rebuild-{new_id()[-12:]}")
        try:
            js = nc.jetstream()
            for sub in rebuild_subscriptions():
                counts[sub.name] = await replay(sub, js, sessions, topology)
        finally:
            await nc.drain()
        return counts
    finally:
        await engine.dispose()


class RebuildCommand:
    """The CLI entry: `rebuild NEW_DATABASE_URL` fills a new database (targets copied from
    SALESGRID_DATABASE_URL); `rebuild` alone fills SALESGRID_DATABASE_URL, which must be empty."""

    def __init__(self, migrations: Path) -> None:
        self.migrations = migrations

    def __call__(self, settings: ServiceSettings, options: argparse.Namespace) -> int:
        args: Sequence[str] = options.args
        target = args[0] if args else settings.database_url
        source = settings.database_url if target != settings.database_url else ""
        topology = Topology(settings.region, settings.source_region_list, settings.stream_replicas)
        try:
            counts = asyncio.run(rebuild(target, settings.nats_url, topology, self.migrations, source))
        except NotFresh as error:
            print(f"salesgrid-analytics rebuild: {error}")
            return 2
        for name, count in counts.items():
            print(f"{name}: {count} applied")
        return 0
