"""Lead imports use cases."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from salesgrid_common.auth import Principal
from salesgrid_common.custom_fields.definitions import COLUMN_PREFIX
from salesgrid_common.errors import DomainError, PermissionDenied, ValidationFailed
from salesgrid_pipeline.domain.money import Money

from salesgrid_pipeline.usecases._support import LEAD_CREATE, PipelineUseCasesBase


MAX_IMPORT_ROWS = 5000


@dataclass(frozen=True)
class ImportRow:
    """One CSV row of a lead import, as text."""

    fields: Mapping[str, str]  # company_name, contact_name, phone, email, region, industry, source
    estimated_amount: str = ""
    currency: str = ""
    assign_to: str = ""
    custom_fields: Mapping[str, Any] | None = None  # the cf_<key> columns


@dataclass(frozen=True)
class ImportError:
    row: int
    column: str
    message: str


def _import_column(field: str) -> str:
    """A violation's field → the CSV column it came from."""
    if field == "estimated_amount.currency":
        return "currency"
    if field.startswith("estimated_amount"):
        return "estimated_amount"
    if field.startswith("custom_fields."):
        return COLUMN_PREFIX + field.removeprefix("custom_fields.").split(".", 1)[0]
    return field


class LeadImportsMixin(PipelineUseCasesBase):
    """PipelineUseCases: lead imports."""

    async def import_leads(
        self, principal: Principal, rows: Sequence[ImportRow], first_row: int = 1
    ) -> tuple[list[str], list[ImportError]]:
        """Each row created like create_lead (validation, scope, assignment rules), in its own
        transaction; a bad row is reported (row number, CSV column, message) and skipped."""
        principal.require(LEAD_CREATE)
        if len(rows) > MAX_IMPORT_ROWS:
            raise ValidationFailed(f"at most {MAX_IMPORT_ROWS} rows per import", "rows")
        created: list[str] = []
        errors: list[ImportError] = []
        for offset, item in enumerate(rows):
            number = first_row + offset
            try:
                amount = None
                if item.estimated_amount.strip() or item.currency.strip():
                    if not item.estimated_amount.strip():
                        raise ValidationFailed("is required with a currency", "estimated_amount.amount")
                    try:
                        value = Decimal(item.estimated_amount.strip())
                    except InvalidOperation:
                        raise ValidationFailed(
                            f"{item.estimated_amount!r} is not a decimal number", "estimated_amount.amount"
                        ) from None
                    if not value.is_finite():
                        raise ValidationFailed("must be a finite number", "estimated_amount.amount")
                    amount = Money(value, item.currency.strip())
                row = await self.create_lead(principal, item.fields, amount, item.assign_to.strip(), item.custom_fields)
                created.append(row.lead_id)
            except DomainError as error:
                violations = error.violations or [(error.field or "", error.message)]
                for field, message in violations:
                    column = _import_column(field)
                    if not column and isinstance(error, PermissionDenied) and item.assign_to.strip():
                        column = "assign_to"
                    errors.append(ImportError(number, column, message))
        return created, errors
