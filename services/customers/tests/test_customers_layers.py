"""Use cases and servicers do not touch the ORM: queries and the row mapping live in the stores
(issue 18 item 3). Each use-case module and servicer is read as source, so an import of `models`
or of SQLAlchemy's statement builders anywhere in it (even inside a function) fails here."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import salesgrid_customers

PACKAGE = Path(salesgrid_customers.__file__).parent
USE_CASES = sorted((PACKAGE / "usecases").glob("*.py"))
SERVICERS = sorted(PACKAGE.glob("servicer*.py"))
# What a use case may take from SQLAlchemy: the session it is handed and the error of a lost race.
ALLOWED_SQLALCHEMY = {"sqlalchemy.ext.asyncio", "sqlalchemy.exc"}


def imported(path: Path) -> set[str]:
    """Every module and module.name the file imports, relative imports resolved."""
    package = ["salesgrid_customers", *path.relative_to(PACKAGE).parent.parts]
    return imports_of(path.read_text(encoding="utf-8"), package)


def imports_of(source: str, package: list[str]) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package[: len(package) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def test_there_are_modules_to_check() -> None:
    assert len(USE_CASES) >= 10 and len(SERVICERS) >= 3


@pytest.mark.parametrize("path", USE_CASES + SERVICERS, ids=lambda p: p.name)
def test_no_use_case_or_servicer_imports_the_orm_models(path: Path) -> None:
    names = imported(path)
    assert "salesgrid_customers.models" not in names, f"{path.name} imports models: use a store"


@pytest.mark.parametrize("path", USE_CASES, ids=lambda p: p.name)
def test_no_use_case_builds_a_statement(path: Path) -> None:
    sqlalchemy = {n for n in imported(path) if n == "sqlalchemy" or n.startswith("sqlalchemy.")}
    stray = {n for n in sqlalchemy if not any(n == a or n.startswith(a + ".") for a in ALLOWED_SQLALCHEMY)}
    assert not stray, f"{path.name} builds queries ({', '.join(sorted(stray))}): use a store"


def test_the_check_sees_every_spelling_of_the_import() -> None:
    spellings = [
        "from salesgrid_customers import models",
        "import salesgrid_customers.models",
        "from salesgrid_customers.models import Customer",
        "from .. import models",
        "def f():\n    from salesgrid_customers import models",
    ]
    for source in spellings:
        assert "salesgrid_customers.models" in imports_of(source, ["salesgrid_customers", "usecases"]), source
    assert "sqlalchemy.select" in imports_of("from sqlalchemy import select", ["salesgrid_customers"])
