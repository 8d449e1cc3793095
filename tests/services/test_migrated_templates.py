"""The tests' migrated databases (salesgrid_dev.migrated): a fresh database is given a copy of a
template migrated once, and that copy is what alembic itself makes -- every table, column,
index, constraint and row, and the alembic version -- on SQLite and on PostgreSQL. A database
that is not fresh still goes through alembic."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy.engine import make_url

from salesgrid_common.ids import new_id
from salesgrid_common.migrations import alembic_config, upgrade
from salesgrid_customers.app import MIGRATIONS
from salesgrid_dev.migrated import migrate
from salesgrid_dev.processes import ThrowawayPostgres, postgres_sql

_PG_SCHEMA = """
SELECT string_agg(line, E'\\n' ORDER BY line) FROM (
  SELECT format('column %s.%s %s %s %s', table_name, column_name, data_type, is_nullable, column_default) AS line
    FROM information_schema.columns WHERE table_schema = 'public'
  UNION ALL SELECT 'index ' || indexdef FROM pg_indexes WHERE schemaname = 'public'
  UNION ALL SELECT format('constraint %s %s', conname, pg_get_constraintdef(oid))
    FROM pg_constraint WHERE connamespace = 'public'::regnamespace
  UNION ALL SELECT format('rows %s %s', table_name,
    (xpath('/row/c/text()', query_to_xml(format('SELECT count(*) AS c FROM %I', table_name), false, true, '')))[1])
    FROM information_schema.tables WHERE table_schema = 'public'
  UNION ALL SELECT 'version ' || version_num FROM alembic_version
) AS lines
"""


def _schema(url: str) -> str:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        with sqlite3.connect(str(parsed.database)) as db:
            lines = [
                f"{kind} {name} {sql}" for kind, name, sql in db.execute("SELECT type, name, sql FROM sqlite_master")
            ]
            tables = [name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
            counts = {t: db.execute('SELECT count(*) FROM "%s"' % t).fetchone()[0] for t in tables}
            lines += [f"rows {t} {n}" for t, n in counts.items()]
            lines += [f"version {v}" for (v,) in db.execute("SELECT version_num FROM alembic_version")]
            lines.append(f"journal {db.execute('PRAGMA journal_mode').fetchone()[0]}")
        return "\n".join(sorted(lines))
    connect = {"host": parsed.host, "port": parsed.port, "user": parsed.username, "database": parsed.database}
    return str(postgres_sql(connect, _PG_SCHEMA))


def _another_database(database_url: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if make_url(database_url).get_backend_name() == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / f'{new_id()}.db'}"
    cluster: ThrowawayPostgres = request.getfixturevalue("postgres")
    return cluster.create_database("o_" + re.sub(r"[^a-z0-9]", "", new_id().lower())[-20:])


def test_a_fresh_database_gets_what_alembic_makes(
    database_url: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    by_alembic = _another_database(database_url, request, tmp_path)
    upgrade(MIGRATIONS, by_alembic)
    migrate(MIGRATIONS, database_url)  # the template is made (or was made by an earlier test)
    again = _another_database(database_url, request, tmp_path)
    migrate(MIGRATIONS, again)  # copied from the template
    expected = _schema(by_alembic)
    assert "version " in expected and "customers" in expected
    assert _schema(database_url) == expected
    assert _schema(again) == expected


def test_a_database_migrated_part_way_goes_through_alembic(
    database_url: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    scripts = ScriptDirectory.from_config(alembic_config(MIGRATIONS, database_url))
    first = scripts.get_base()
    assert first is not None and first != scripts.get_current_head()
    upgrade(MIGRATIONS, database_url, first)
    _sql(database_url, "CREATE TABLE kept_by_the_test (n INTEGER)")
    migrate(MIGRATIONS, database_url)  # not fresh: upgraded from `first`, not replaced by a copy
    by_alembic = _another_database(database_url, request, tmp_path)
    upgrade(MIGRATIONS, by_alembic, first)
    _sql(by_alembic, "CREATE TABLE kept_by_the_test (n INTEGER)")
    upgrade(MIGRATIONS, by_alembic)
    assert _schema(database_url) == _schema(by_alembic)
    assert f"version {scripts.get_current_head()}" in _schema(database_url)
    assert "kept_by_the_test" in _schema(database_url)


def _sql(url: str, statement: str) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        with sqlite3.connect(str(parsed.database)) as db:
            db.execute(statement)
        return
    postgres_sql(
        {"host": parsed.host, "port": parsed.port, "user": parsed.username, "database": parsed.database}, statement
    )
