"""Lead imports use cases: a file staged as a job (salesgrid_common.imports.jobs), each row then
created by the runner exactly like create_lead (validation, scope, assignment rules, custom
fields), the refused ones kept with the file column at fault."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cached_property
from typing import IO

from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid_common.auth.principal import Principal
from salesgrid_common.custom_fields.records import load_definitions
from salesgrid_common.errors import PermissionDenied, ValidationFailed
from salesgrid_common.imports.jobs import Importer, ImportJobs
from salesgrid_common.imports.model import CUSTOM_PREFIX, ImportJob, RowError, custom_keys
from salesgrid_pipeline.domain import lead_imports

from salesgrid_pipeline.usecases._support import LEAD_CREATE, LEAD_FIELDS
from salesgrid_pipeline.usecases.leads import LeadsMixin


class LeadImportsMixin(LeadsMixin):
    """PipelineUseCases: lead imports."""

    @cached_property
    def lead_imports(self) -> ImportJobs:
        importer = Importer(
            entity="leads",
            permission=LEAD_CREATE,
            columns=lead_imports.COLUMNS,
            required=lead_imports.REQUIRED,
            create=self._import_lead,
            column_of=lead_imports.column_of,
            check_header=self._check_lead_custom_columns,
        )
        return ImportJobs(self.sessions, self.clock, importer)

    async def start_lead_import(self, principal: Principal, fmt: str, spool: IO[bytes]) -> ImportJob:
        return await self.lead_imports.start(principal, fmt, spool)

    async def get_lead_import(
        self, principal: Principal, job_id: str, page_size: int = 0, cursor: str = ""
    ) -> tuple[ImportJob, list[RowError], str]:
        return await self.lead_imports.get(principal, job_id, page_size, cursor)

    async def run_lead_imports(self) -> int:
        """Every pending row of every unfinished lead import: leads created."""
        return await self.lead_imports.run_all()

    @staticmethod
    async def _check_lead_custom_columns(session: AsyncSession, header: Sequence[str]) -> None:
        """cf_<key> columns must name active custom fields of leads: a bad file writes nothing."""
        active = {d.key for d in await load_definitions(session, LEAD_FIELDS) if d.active}
        unknown = [f"{CUSTOM_PREFIX}{key}" for key in custom_keys(header) if key not in active]
        if unknown:
            raise ValidationFailed(f"columns {', '.join(unknown)} name no active custom field of leads", "header")

    async def _import_lead(self, session: AsyncSession, acting: Principal, values: Mapping[str, str]) -> str:
        """One row, as create_lead would create it, in the runner's session: the lead's id."""
        row = lead_imports.parse_row(values)
        try:
            lead = await self._create_lead(
                session, acting, row.fields, row.estimated_amount, row.assign_to, row.custom_fields
            )
        except PermissionDenied as exc:
            if exc.field or not row.assign_to:
                raise
            raise PermissionDenied(exc.message, "assign_to") from None  # the rep named is out of scope
        return lead.lead_id
