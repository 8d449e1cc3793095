"""Customer imports: the columns of a file, the header check and a row's fields (each row then
goes through exactly the rules of a single create)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from salesgrid_common.imports.model import RowError as SharedRowError
from salesgrid_common.imports.model import check_header as shared_check_header
from salesgrid_common.custom_fields.definitions import COLUMN_PREFIX as CUSTOM_PREFIX
from salesgrid_common.imports.model import (  # the rules every import shares
    FORMATS,
    MAX_CELL,
    MAX_FILE_BYTES,
    MAX_ROWS,
    ImportJob,
    ImportStatus,
    RowStatus,
    check_format,
    check_size,
    custom_column,
    custom_keys,
    custom_values,
    is_custom_column,
    row_values,
)

from .errors import ValidationFailed

COLUMNS = (
    "legal_name",
    "credit_code",
    "industry",
    "address",
    "latitude",
    "longitude",
    "tier",
    "tags",
    "source",
    "owner_id",
)
REQUIRED = ("legal_name",)
TAG_SEPARATORS = (";", "|", "，", "；")


@dataclass(frozen=True)
class RowError(SharedRowError):
    """Why a row of an import was refused; the owner of the existing customer it duplicates."""

    existing_owner_id: str = ""


def check_header(cells: Sequence[object]) -> tuple[str, ...]:
    """The header row's column names (salesgrid_common.imports.model.check_header)."""
    return shared_check_header(cells, COLUMNS, REQUIRED)


@dataclass(frozen=True)
class ImportedCustomer:
    """A row's arguments to the create rules."""

    legal_name: str
    credit_code: str = ""
    industry: str = ""
    address: str = ""
    latitude: float | None = None
    longitude: float | None = None
    tier: str = ""
    tags: tuple[str, ...] = field(default_factory=tuple)
    source: str = ""
    owner_id: str = ""
    custom_fields: Mapping[str, str] = field(default_factory=dict)  # key -> cell text (empty cells left out)


def _coordinate(values: Mapping[str, str], name: str, violations: list[tuple[str, str]]) -> float | None:
    text = values.get(name, "")
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        violations.append((name, f"'{text}' is not a number"))
        return None


def parse_row(values: Mapping[str, str]) -> ImportedCustomer:
    """Types of the cells; the create rules check everything else. Raises ValidationFailed whose
    fields are column names."""
    violations: list[tuple[str, str]] = []
    latitude = _coordinate(values, "latitude", violations)
    longitude = _coordinate(values, "longitude", violations)
    if (latitude is not None or longitude is not None) and not values.get("address"):
        violations.append(("address", "coordinates need an address"))
    if violations:
        raise ValidationFailed.many(violations)
    raw_tags = values.get("tags", "")
    for separator in TAG_SEPARATORS[1:]:
        raw_tags = raw_tags.replace(separator, TAG_SEPARATORS[0])
    tags = tuple(t.strip() for t in raw_tags.split(TAG_SEPARATORS[0]) if t.strip())
    return ImportedCustomer(
        legal_name=values.get("legal_name", ""),
        credit_code=values.get("credit_code", ""),
        industry=values.get("industry", ""),
        address=values.get("address", ""),
        latitude=latitude,
        longitude=longitude,
        tier=values.get("tier", ""),
        tags=tags,
        source=values.get("source", ""),
        owner_id=values.get("owner_id", ""),
        custom_fields=custom_values(values),
    )


def column_of(field_name: str | None) -> str:
    """The file column a create rule's field comes from (address.latitude → latitude)."""
    if not field_name:
        return ""
    if field_name.startswith("address."):
        rest = field_name.removeprefix("address.")
        return rest if rest in ("latitude", "longitude") else "address"
    if field_name.startswith("custom_fields."):
        return custom_column(field_name)
    base = field_name.split("[", 1)[0]
    return base if base in COLUMNS else field_name


__all__ = [  # this module's own and the shared rules it re-exports
    "COLUMNS",
    "CUSTOM_PREFIX",
    "FORMATS",
    "MAX_CELL",
    "MAX_FILE_BYTES",
    "MAX_ROWS",
    "REQUIRED",
    "TAG_SEPARATORS",
    "ImportJob",
    "ImportStatus",
    "ImportedCustomer",
    "RowError",
    "RowStatus",
    "check_format",
    "check_header",
    "check_size",
    "column_of",
    "custom_keys",
    "is_custom_column",
    "parse_row",
    "row_values",
]
