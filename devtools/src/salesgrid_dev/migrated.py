"""A service's database migrated to head for a test, cheaply: alembic runs once per process and
service on each backend (into a template), and every fresh test database is a copy of it.

Running every migration for every test was a fifth of the service tests' time (~0.4 s a test on
SQLite, where batch-mode ALTERs rebuild tables). A copy is the same schema and data the
migrations leave: a file copy on SQLite, `CREATE DATABASE ... TEMPLATE` on PostgreSQL (which
copies the whole catalogue: tables, indexes, sequences, rows, the alembic version). A database
that is not fresh (a test upgrading from an older revision, a second start on the same data) is
upgraded by alembic as before, and so is any revision other than head.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Any

from salesgrid_common.migrations import upgrade
from sqlalchemy.engine import make_url

from salesgrid_dev.processes import postgres_sql

_lock = threading.Lock()
_templates: dict[tuple[str, str], str] = {}  # (migrations dir, server or "sqlite") -> template
_scratch: Path | None = None
_ANY_RELATION = (
    "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
    " WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')"
)


def migrate(migrations_dir: Any, database_url: str, revision: str = "head") -> None:
    """`salesgrid_common.migrations.upgrade`, served from a migrated template when the database
    is fresh (an absent or empty SQLite file, a PostgreSQL database without tables)."""
    url = make_url(database_url)
    backend = url.get_backend_name()
    if revision != "head" or backend not in ("sqlite", "postgresql"):
        upgrade(migrations_dir, database_url, revision)
        return
    copied = (
        _copy_sqlite(migrations_dir, url.database or "")
        if backend == "sqlite"
        else _copy_postgres(migrations_dir, database_url)
    )
    if not copied:
        upgrade(migrations_dir, database_url, revision)


def _scratch_dir() -> Path:
    global _scratch
    if _scratch is None:
        _scratch = Path(tempfile.mkdtemp(prefix="salesgrid-templates-"))
        atexit.register(shutil.rmtree, _scratch, True)
    return _scratch


def _copy_sqlite(migrations_dir: Any, target: str) -> bool:
    if not target or target == ":memory:":
        return False
    path = Path(target)
    if path.exists() and path.stat().st_size > 0:
        return False
    key = (str(Path(migrations_dir).resolve()), "sqlite")
    with _lock:
        template = _templates.get(key)
        if template is None:
            made = _scratch_dir() / f"{len(_templates)}.db"
            upgrade(migrations_dir, f"sqlite+aiosqlite:///{made}")
            template = _templates[key] = str(made)
    # The template's connections are closed: its WAL was checkpointed into the file and removed.
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template, path)
    return True


def _copy_postgres(migrations_dir: Any, database_url: str) -> bool:
    url = make_url(database_url)
    name = url.database or ""
    server = url.set(database="postgres")
    if not name or _sql(url, _ANY_RELATION):
        return False
    key = (str(Path(migrations_dir).resolve()), server.render_as_string(hide_password=False))
    with _lock:
        template = _templates.get(key)
        if template is None:
            template = f"template_{len(_templates)}_{abs(hash(key)) % 10**8}"
            _sql(server, f'DROP DATABASE IF EXISTS "{template}"', f'CREATE DATABASE "{template}"')
            upgrade(migrations_dir, url.set(database=template).render_as_string(hide_password=False))
            _templates[key] = template
    try:
        _sql(server, f'DROP DATABASE "{name}"')
    except Exception:  # someone else holds a connection to it: alembic it is
        return False
    _sql(server, f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    return True


def _sql(url: Any, *statements: str) -> Any:
    return postgres_sql(
        {"host": url.host, "port": url.port, "user": url.username, "password": url.password, "database": url.database},
        *statements,
    )
