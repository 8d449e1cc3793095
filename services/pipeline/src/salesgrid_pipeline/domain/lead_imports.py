"""Lead imports: the columns of a file and a row's arguments to the create rules (each row then
goes through exactly the rules of a single create). The file itself (formats, header check, blank
rows, limits) follows the rules every import shares (salesgrid_common.imports.model)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from salesgrid_common.imports.model import custom_column, custom_values

from .errors import ValidationFailed
from .money import Money

TEXT_COLUMNS = ("company_name", "contact_name", "phone", "email", "region", "industry", "source")
COLUMNS = (*TEXT_COLUMNS, "estimated_amount", "currency", "assign_to")
REQUIRED = ("company_name",)


@dataclass(frozen=True)
class ImportedLead:
    """A row's arguments to the create rules."""

    fields: Mapping[str, str]  # the TEXT_COLUMNS
    estimated_amount: Money | None = None
    assign_to: str = ""
    custom_fields: Mapping[str, str] = field(default_factory=dict)  # key -> cell text (empty cells left out)


def _amount(values: Mapping[str, str]) -> Money | None:
    """The estimated amount as a single create receives it (its rules check sign and currency)."""
    text, currency = values.get("estimated_amount", ""), values.get("currency", "")
    if not text and not currency:
        return None
    if not text:
        raise ValidationFailed("is required with a currency", "estimated_amount.amount")
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise ValidationFailed(f"{text!r} is not a decimal number", "estimated_amount.amount") from None
    if not amount.is_finite():
        raise ValidationFailed("must be a finite number", "estimated_amount.amount")
    return Money(amount, currency)


def parse_row(values: Mapping[str, str]) -> ImportedLead:
    """Types of the cells; the create rules check everything else."""
    return ImportedLead(
        fields={name: values.get(name, "") for name in TEXT_COLUMNS},
        estimated_amount=_amount(values),
        assign_to=values.get("assign_to", ""),
        custom_fields=custom_values(values),
    )


def column_of(field_name: str) -> str:
    """The file column a create rule's field comes from (estimated_amount.currency → currency)."""
    if field_name == "estimated_amount.currency":
        return "currency"
    if field_name.startswith("estimated_amount"):
        return "estimated_amount"
    if field_name.startswith("custom_fields."):
        return custom_column(field_name)
    return field_name
