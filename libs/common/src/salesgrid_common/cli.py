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
    parser.add_argument("command", choices=["serve", "migrate", "replay-dead-letters", *sorted(extra_commands or {})])
    parser.add_argument("args", nargs="*")
    parser.add_argument("--id", action="append", help="replay-dead-letters: only these dead letter ids")
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
    if options.command == "replay-dead-letters":
        from salesgrid_common.operations import replay_command
        return replay_command(definition, settings, options)
    if options.command == "serve":
        setup_tracing(definition.name, settings.otlp_endpoint)
        serve_metrics(settings.metrics_port)
        asyncio.run(ServiceApp(definition, settings).serve_until_signalled())
        return 0
    return (extra_commands or {})[options.command](settings, options)
