"""Operator commands every service shares besides serve/migrate (wired in cli.py)."""
from __future__ import annotations

import argparse
import asyncio

from salesgrid_common.directory import directory_subscription, owned_tables
from salesgrid_common.events.dead_letters import replay_dead_letters
from salesgrid_common.service import ServiceApp, ServiceDefinition
from salesgrid_common.settings import ServiceSettings


def replay_command(definition: ServiceDefinition, settings: ServiceSettings, options: argparse.Namespace) -> int:
    """`replay-dead-letters [consumer] [--id ID ...]`: apply dead letters again through the
    service's own handlers; prints what happened, exits 1 while some still fail."""

    async def run() -> int:
        app = ServiceApp(definition, settings)  # not started: no gRPC server, no NATS
        try:
            subs = list(definition.subscriptions(app.ctx))
            if definition.with_directory:
                subs.append(directory_subscription(definition.name, owned_tables(definition.metadata)))
            consumer = options.args[0] if options.args else ""
            result = await replay_dead_letters(app.ctx.sessions, subs, consumer=consumer, ids=tuple(options.id or ()))
        finally:
            await app.engine.dispose()
            if app.read_engine is not app.engine:
                await app.read_engine.dispose()
        print(f"applied {result.applied}, already applied {result.duplicates}, still failing {result.failed}, "
              f"not handled here {result.skipped}")
        return 1 if result.failed else 0

    return asyncio.run(run())
