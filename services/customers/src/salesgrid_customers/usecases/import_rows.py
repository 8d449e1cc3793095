"""The import worker's rows: the outcome of each claimed staged row (bulk where the create rules
simply accept it, else the single-create rules in a savepoint) and the job's counters."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid_common.auth.principal import Principal
from salesgrid_customers.domain import imports
from salesgrid_customers.domain.customer import make_customer
from salesgrid_customers.domain.errors import (
    AlreadyExists,
    DomainError,
    FailedPrecondition,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from salesgrid_customers.stores.import_jobs import count_processed, mark_created, mark_row, row_of_customer
from salesgrid_customers.usecases._support import AddressInput
from salesgrid_customers.usecases.bulk_create import BulkCreateMixin, StagedRow


class ImportRowsMixin(BulkCreateMixin):
    """CustomersUseCases: the import worker's rows."""

    async def _import_pending(
        self, session: AsyncSession, job_id: str, acting: Principal, pending: Sequence[StagedRow]
    ) -> int:
        """The claimed rows' outcomes and the job's counters, in the caller's transaction: the
        customers created."""
        bulk = await self._create_batch(session, acting, pending)  # the rows the rules simply accept
        # written first: a later row's "duplicate of row N" finds them
        await mark_created(session, {row_id: outcome["customer_id"] for row_id, outcome in bulk.items()})
        created = len(bulk)
        for staged in pending:
            if staged.id in bulk:
                continue
            outcome = await self._import_row(session, job_id, acting, staged)  # refused or name taken
            created += isinstance(outcome, str)
            await mark_row(session, staged.id, outcome)
            await asyncio.sleep(0)  # SQLite runs on the loop: let reads in between rows
        await count_processed(session, job_id, len(pending), created)
        return created

    async def _import_row(
        self, session: AsyncSession, job_id: str, acting: Principal, staged: StagedRow
    ) -> str | imports.RowError:
        """One row under the single-create rules, in a savepoint: its outcome (the customer id,
        or the error naming the column)."""
        try:
            async with session.begin_nested():
                fields_ = imports.parse_row(staged.data)
                address = (
                    AddressInput(fields_.address, fields_.latitude, fields_.longitude) if fields_.address else None
                )
                row, _ = await self._create(
                    session,
                    acting,
                    legal_name=fields_.legal_name,
                    credit_code=fields_.credit_code,
                    industry=fields_.industry,
                    address=address,
                    tier=fields_.tier,
                    tags=fields_.tags,
                    source=fields_.source,
                    owner_id=fields_.owner_id,
                    cap_held=True,
                    custom_fields=fields_.custom_fields,
                )
            return row.id
        except (ValidationFailed, AlreadyExists, PermissionDenied, FailedPrecondition, NotFound) as exc:
            return await self._row_error(session, job_id, staged, exc)

    async def _row_error(
        self, session: AsyncSession, job_id: str, staged: StagedRow, exc: DomainError
    ) -> imports.RowError:
        data = staged.data
        message, owner = exc.message, ""
        if isinstance(exc, AlreadyExists):
            probe = make_customer(
                id="probe",
                legal_name=data.get("legal_name", ""),
                created_at=self.clock(),
                owner_id=None,
                credit_code=data.get("credit_code") or None,
            )
            report = await self._duplicates(session, probe.normalised_name, probe.credit_code, None)
            if report.blocking:
                first = report.blocking[0]
                owner = first.owner_id or ""
                earlier = await row_of_customer(session, job_id, first.customer_id)
                if earlier is not None:
                    message = f"duplicate of row {earlier} of this file: {message}"
        return imports.RowError(staged.row_number, imports.column_of(exc.field), message, owner)
