"""The contract template store: rows of `contract_templates` (versions are only ever added) <->
the domain's ContractTemplate."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid_common.errors import ValidationFailed
from salesgrid_contracts.domain.attachments import ContractTemplate
from salesgrid_contracts.models import ContractTemplateRow as Row


def from_row(row: Row) -> ContractTemplate:
    return ContractTemplate(row.template_id, row.version, row.name, row.terms, row.created_by, row.created_at)


def to_row(template: ContractTemplate) -> Row:
    return Row(
        template_id=template.template_id,
        version=template.version,
        name=template.name,
        terms=template.terms,
        created_by=template.created_by,
        created_at=template.created_at,
    )


async def latest(session: AsyncSession, template_id: str, *, lock: bool = False) -> ContractTemplate | None:
    """The newest version (locked while a next one is added), None for a new template."""
    stmt = select(Row).where(Row.template_id == template_id).order_by(Row.version.desc()).limit(1)
    row = await session.scalar(stmt.with_for_update() if lock else stmt)
    return from_row(row) if row is not None else None


async def load(
    session: AsyncSession, template_id: str, version: int = 0, field: str = "template_id"
) -> ContractTemplate:
    """The given version of a template (0: the latest)."""
    stmt = select(Row).where(Row.template_id == template_id)
    stmt = stmt.where(Row.version == version) if version else stmt.order_by(Row.version.desc()).limit(1)
    row = await session.scalar(stmt)
    if row is None:
        raise ValidationFailed(f"unknown contract template {template_id!r}", field)
    return from_row(row)


def add(session: AsyncSession, template: ContractTemplate) -> None:
    """A new version (the (id, version) key refuses a concurrent duplicate at commit)."""
    session.add(to_row(template))
