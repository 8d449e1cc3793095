"""Wiring of the analytics service into the common bootstrap."""
from __future__ import annotations

from pathlib import Path

from salesgrid_common.service import ServiceDefinition

MIGRATIONS = Path(__file__).resolve().parent / "migrations"  # shipped inside the package

DEFINITION = ServiceDefinition(name="analytics", register=lambda server, ctx: [])
