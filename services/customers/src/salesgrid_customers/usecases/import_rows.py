"""The import worker's rows: the outcome of each claimed staged row (bulk where the create rules
simply accept it, else the single-create rules in a savepoint) and the job's counters."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid_common.auth import Principal
from salesgrid_customers import models
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
from salesgrid_customers.stores.import_jobs import mark_created
from salesgrid_customers.usecases._support import AddressInput
from salesgrid_customers.usecases.bulk_create import BulkCreateMixin, StagedRow


class ImportRowsMixin(BulkCreateMixin):
    """CustomersUseCases: the import worker's rows."""

    async def _import_pending(
        self, session: AsyncSession, job: models.ImportJob, acting: Principal, pending: Sequence[StagedRow]
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
            outcome = await self._import_row(session, job.id, acting, staged)  # refused or name taken
            created += "customer_id" in outcome
            await session.execute(
                update(models.ImportRow)
                .where(models.ImportRow.id == staged.id)
                .values(**{"status": imports.RowStatus.CREATED, **outcome})
            )
            await asyncio.sleep(0)  # SQLite runs on the loop: let reads in between rows
        await session.execute(
            update(models.ImportJob)
            .where(models.ImportJob.id == job.id)
            .values(
                status=imports.ImportStatus.RUNNING,
                processed=models.ImportJob.processed + len(pending),
                created=models.ImportJob.created + created,
                failed=models.ImportJob.failed + len(pending) - created,
            )
        )
        return created

    async def _import_row(
        self, session: AsyncSession, job_id: str, acting: Principal, staged: StagedRow
    ) -> dict[str, Any]:
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
            return {"customer_id": row.id}
        except (ValidationFailed, AlreadyExists, PermissionDenied, FailedPrecondition, NotFound) as exc:
            return await self._row_error(session, job_id, staged.data, exc)

    async def _row_error(
        self, session: AsyncSession, job_id: str, data: Mapping[str, str], exc: DomainError
    ) -> dict[str, Any]:
        message, owner = exc.message, None
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
                owner = first.owner_id
                earlier = await session.scalar(
                    select(models.ImportRow.row_number).where(
                        models.ImportRow.job_id == job_id, models.ImportRow.customer_id == first.customer_id
                    )
                )
                if earlier is not None:
                    message = f"duplicate of row {earlier} of this file: {message}"
        return {
            "status": imports.RowStatus.ERROR,
            "error_column": imports.column_of(exc.field),
            "error_message": message[:1000],
            "existing_owner_id": owner,
        }
