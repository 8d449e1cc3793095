"""Operator commands every service shares besides serve/migrate (wired in cli.py)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from salesgrid_common.backup import after_restore, backup, restore_database, rewind_consumers
from salesgrid_common.db import create_engine
from salesgrid_common.directory import directory_subscription, owned_tables
from salesgrid_common.events.bus import connect
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
        print(
            f"applied {result.applied}, already applied {result.duplicates}, still failing {result.failed}, "
            f"not handled here {result.skipped}"
        )
        return 1 if result.failed else 0

    return asyncio.run(run())


def backup_command(definition: ServiceDefinition, settings: ServiceSettings, options: argparse.Namespace) -> int:
    """`backup [directory] [--keep N]`: an online backup of the service's database, older ones
    beyond the newest N (default 7) deleted."""
    directory = Path(options.args[0] if options.args else "backups")
    target = backup(settings.database_url, directory, definition.name, keep=options.keep)
    print(target)
    return 0


def restore_command(definition: ServiceDefinition, settings: ServiceSettings, options: argparse.Namespace) -> int:
    """`restore <backup file>` with the service stopped: the database from the backup, aggregate
    versions moved past anything published, the service's durable consumers rewound (see
    backup.py); on its next start the service re-applies what it consumed after the backup."""
    if not options.args and not options.after_recovery:
        print(
            "restore: name the backup file (or --after-recovery once the database was restored "
            "by other means, e.g. CloudNativePG's bootstrap.recovery)",
            file=sys.stderr,
        )
        return 2
    if options.args:
        restore_database(settings.database_url, Path(options.args[0]))

    async def fix_up() -> list[str]:
        engine = create_engine(settings.database_url)
        try:
            await after_restore(engine)
        finally:
            await engine.dispose()
        nc = await connect(settings.nats_url, f"{definition.name}-restore")
        try:
            return await rewind_consumers(nc.jetstream(), definition.name)
        finally:
            await nc.close()

    rewound = asyncio.run(fix_up())
    source = options.args[0] if options.args else "the database as recovered"
    print(f"restored {source}; aggregate versions moved on; consumers rewound: {', '.join(rewound) or 'none'}")
    return 0
