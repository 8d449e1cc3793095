"""Customer imports: the columns of a file, the header check and a row's fields (each row then
goes through exactly the rules of a single create)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from salesgrid_common.custom_fields.definitions import COLUMN_PREFIX as CUSTOM_PREFIX
from salesgrid_common.custom_fields.definitions import KEY

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
MAX_ROWS = 500_000
MAX_FILE_BYTES = 50 << 20  # 50 MiB: MAX_ROWS rows of a typical CSV line (~100 bytes)
MAX_CELL = 2000  # longer cells are refused as a row error by the create rules, but never stored whole
TAG_SEPARATORS = (";", "|", "，", "；")
FORMATS = ("csv", "xlsx")


class ImportStatus:
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"


class RowStatus:
    PENDING = "pending"
    CREATED = "created"
    ERROR = "error"


@dataclass(frozen=True)
class ImportJob:
    """An import's progress as its importer sees it (the worker's state stays in its rows)."""

    id: str
    status: str  # ImportStatus
    format: str
    created_by: str
    total: int
    processed: int
    created: int
    failed: int
    created_at: datetime
    finished_at: datetime | None = None


@dataclass(frozen=True)
class RowError:
    """Why a row of an import was refused; the owner of the existing customer it duplicates."""

    row_number: int
    column: str
    message: str
    existing_owner_id: str


def check_format(value: str) -> str:
    fmt = (value or "").strip().lower()
    if fmt not in FORMATS:
        raise ValidationFailed(f"format must be one of {', '.join(FORMATS)}", "format")
    return fmt


def check_size(size: int) -> None:
    """An upload's size so far: checked as its chunks arrive, so an oversized file is refused
    before the rest of it is received."""
    if size > MAX_FILE_BYTES:
        raise ValidationFailed(f"the file is larger than {MAX_FILE_BYTES / (1 << 20):g} MiB: split it", "file")


def check_header(cells: Sequence[object]) -> tuple[str, ...]:
    """Column names of the header row (case and spaces ignored); unknown, repeated or missing
    required columns refuse the whole file before anything is written."""
    names = tuple(str(c or "").strip().lower().replace(" ", "_") for c in cells)
    while names and not names[-1]:  # spreadsheets pad rows with empty cells
        names = names[:-1]
    violations: list[tuple[str, str]] = []
    unknown = [n or "(empty)" for n in names if n not in COLUMNS and not is_custom_column(n)]
    if unknown:
        violations.append(
            (
                "header",
                f"unknown columns {', '.join(unknown)}; expected {', '.join(COLUMNS)} "
                f"or {CUSTOM_PREFIX}<custom field key>",
            )
        )
    repeated = sorted({n for n in names if n and names.count(n) > 1})
    if repeated:
        violations.append(("header", f"repeated columns {', '.join(repeated)}"))
    missing = [n for n in REQUIRED if n not in names]
    if missing:
        violations.append(("header", f"missing required columns {', '.join(missing)}"))
    if violations:
        raise ValidationFailed.many(violations)
    return names


def is_custom_column(name: str) -> bool:
    return name.startswith(CUSTOM_PREFIX) and bool(KEY.match(name.removeprefix(CUSTOM_PREFIX)))


def custom_keys(header: Sequence[str]) -> list[str]:
    return [name.removeprefix(CUSTOM_PREFIX) for name in header if is_custom_column(name)]


def row_values(header: Sequence[str], cells: Sequence[object]) -> dict[str, str] | None:
    """The row as column → text (cells past the header are ignored); None for a blank row."""
    values = {name: ("" if cell is None else str(cell)).strip()[:MAX_CELL] for name, cell in zip(header, cells)}
    return values if any(values.values()) else None


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
        custom_fields={
            name.removeprefix(CUSTOM_PREFIX): text for name, text in values.items() if is_custom_column(name) and text
        },
    )


def column_of(field_name: str | None) -> str:
    """The file column a create rule's field comes from (address.latitude → latitude)."""
    if not field_name:
        return ""
    if field_name.startswith("address."):
        rest = field_name.removeprefix("address.")
        return rest if rest in ("latitude", "longitude") else "address"
    if field_name.startswith("custom_fields."):
        return CUSTOM_PREFIX + field_name.removeprefix("custom_fields.").split(".", 1)[0]
    base = field_name.split("[", 1)[0]
    return base if base in COLUMNS else field_name
