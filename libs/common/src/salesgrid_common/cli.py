"""The command line every service shares: `python -m salesgrid_<svc> serve|migrate`."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from salesgrid_common.logs import setup_logging
from salesgrid_common.metrics import serve_metrics
from salesgrid_common.migrations import upgrade
from salesgrid_common.service import ServiceApp, ServiceDefinition
from salesgrid_common.settings import ServiceSettings, SettingsError, load_settings
from salesgrid_common.tracing import setup_tracing

Command = Callable[[ServiceSettings, argparse.Namespace], int]


def run_service_cli(
    definition: ServiceDefinition,
    migrations_dir: Path,
    argv: Sequence[str] | None = None,
    *,
    settings_cls: type[ServiceSettings] = ServiceSettings,
    extra_commands: dict[str, Command] | None = None,
) -> int:
    parser = argparse.ArgumentParser(prog=f"salesgrid-{definition.name}")
    parser.add_argument(
        "command",
        choices=["serve", "migrate", "replay-dead-letters", "backup", "restore", *sorted(extra_commands or {})],
    )
    parser.add_argument("args", nargs="*")
    parser.add_argument("--id", action="append", help="replay-dead-letters: only these dead letter ids")
    parser.add_argument("--keep", type=int, default=7, help="backup: how many backups to keep")
    parser.add_argument(
        "--after-recovery",
        action="store_true",
        help="restore: only the event-pipeline steps, the database was restored otherwise",
    )
    options = parser.parse_args(argv)
    try:
        settings = load_settings(settings_cls, service_name=definition.name)
    except SettingsError as exc:
        print(f"salesgrid-{definition.name}: {exc}", file=sys.stderr)
        return 2
    setup_logging(definition.name, settings.log_level)
    if options.command == "migrate":
        upgrade(migrations_dir, settings.database_url)
        return 0
    if options.command in ("replay-dead-letters", "backup", "restore"):
        from salesgrid_common import operations

        command = {
            "replay-dead-letters": operations.replay_command,
            "backup": operations.backup_command,
            "restore": operations.restore_command,
        }[options.command]
        return command(definition, settings, options)
    if options.command == "serve":
        setup_tracing(definition.name, settings.otlp_endpoint, settings.trace_sample_ratio)
        serve_metrics(settings.metrics_port)
        serve = ServiceApp(definition, settings).serve_until_signalled()
        if settings.event_loop == "uvloop":
            import uvloop

            uvloop.run(serve)
        else:
            asyncio.run(serve)
        return 0
    return (extra_commands or {})[options.command](settings, options)
