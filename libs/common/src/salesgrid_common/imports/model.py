"""What every import shares, as plain values: the accepted formats and limits, the header check,
a row as column → text, and a job's progress as its importer reads it. Pure (the shared kernel):
services' domain code builds its own columns and row rules on these."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from salesgrid_common.custom_fields.definitions import COLUMN_PREFIX as CUSTOM_PREFIX
from salesgrid_common.custom_fields.definitions import KEY
from salesgrid_common.errors import ValidationFailed

FORMATS = ("csv", "xlsx")
MAX_ROWS = 500_000
MAX_FILE_BYTES = 50 << 20  # 50 MiB: MAX_ROWS rows of a typical CSV line (~100 bytes)
MAX_CELL = 2000  # longer cells are refused as a row error by the create rules, but never stored whole


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
    """Why a row of an import was refused: its 1-based data row number and the file column at
    fault (empty when the row as a whole was refused)."""

    row_number: int
    column: str
    message: str


def check_format(value: str) -> str:
    fmt = (value or "").strip().lower()
    if fmt not in FORMATS:
        raise ValidationFailed(f"format must be one of {', '.join(FORMATS)}", "format")
    return fmt


def check_size(size: int, limit: int = MAX_FILE_BYTES) -> None:
    """An upload's size so far: checked as its chunks arrive, so an oversized file is refused
    before the rest of it is received."""
    if size > limit:
        raise ValidationFailed(f"the file is larger than {limit / (1 << 20):g} MiB: split it", "file")


def check_rows(total: int, limit: int = MAX_ROWS) -> None:
    if total > limit:
        raise ValidationFailed(f"at most {limit} rows per import", "file")


def is_custom_column(name: str) -> bool:
    """cf_<key>: a custom field's column (its definition is checked against the service's own)."""
    return name.startswith(CUSTOM_PREFIX) and bool(KEY.match(name.removeprefix(CUSTOM_PREFIX)))


def custom_keys(header: Sequence[str]) -> list[str]:
    return [name.removeprefix(CUSTOM_PREFIX) for name in header if is_custom_column(name)]


def check_header(cells: Sequence[object], columns: Sequence[str], required: Sequence[str]) -> tuple[str, ...]:
    """Column names of the header row (case and spaces ignored); unknown, repeated or missing
    required columns refuse the whole file before anything is written."""
    names = tuple(str(c or "").strip().lower().replace(" ", "_") for c in cells)
    while names and not names[-1]:  # spreadsheets pad rows with empty cells
        names = names[:-1]
    violations: list[tuple[str, str]] = []
    unknown = [n or "(empty)" for n in names if n not in columns and not is_custom_column(n)]
    if unknown:
        violations.append(
            (
                "header",
                f"unknown columns {', '.join(unknown)}; expected {', '.join(columns)} "
                f"or {CUSTOM_PREFIX}<custom field key>",
            )
        )
    repeated = sorted({n for n in names if n and names.count(n) > 1})
    if repeated:
        violations.append(("header", f"repeated columns {', '.join(repeated)}"))
    missing = [n for n in required if n not in names]
    if missing:
        violations.append(("header", f"missing required columns {', '.join(missing)}"))
    if violations:
        raise ValidationFailed.many(violations)
    return names


def row_values(header: Sequence[str], cells: Sequence[object]) -> dict[str, str] | None:
    """The row as column → text (cells past the header are ignored, missing ones are empty); None
    for a blank row."""
    values = {name: ("" if cell is None else str(cell)).strip()[:MAX_CELL] for name, cell in zip(header, cells)}
    return values if any(values.values()) else None


def custom_values(values: Mapping[str, str]) -> dict[str, str]:
    """The row's non-empty cf_<key> cells as key → text (an empty cell sets no value)."""
    return {name.removeprefix(CUSTOM_PREFIX): text for name, text in values.items() if is_custom_column(name) and text}


def custom_column(field_name: str) -> str:
    """custom_fields.<key>[...] (a create rule's field) → the file column cf_<key>."""
    return CUSTOM_PREFIX + field_name.removeprefix("custom_fields.").split(".", 1)[0]
