"""Autogenerate a migration for one service against a scratch SQLite database at head:
`python tools/newmigration.py <service> "message"` (make migration SERVICE=… MSG=…)."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from alembic import command

from salesgrid_common.migrations import alembic_config

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    service, message = sys.argv[1], sys.argv[2]
    migrations = ROOT / "services" / service / "src" / f"salesgrid_{service}" / "migrations"
    with tempfile.TemporaryDirectory() as scratch:
        config = alembic_config(migrations, f"sqlite+aiosqlite:///{scratch}/scratch.db")
        command.upgrade(config, "head")
        command.revision(config, message=message, autogenerate=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
