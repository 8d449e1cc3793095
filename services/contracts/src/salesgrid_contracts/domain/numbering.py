"""Contract numbers: "<BRANCH>-<YEAR>-<SEQ>", e.g. "SH-2026-000042".

The sequence runs per (branch, year) from 1 with no gaps; the year is the calendar year in the
branch's own time zone, so a contract created at 00:30 on 1 January in Shanghai is numbered in the
new year even though it is still 31 December in UTC. Allocating the next number atomically is the
persistence layer's job; contracts are never deleted (only terminated), so no number is lost.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from salesgrid_common import zones


from ._validation import require_aware
from .errors import ValidationFailed

MAX_SEQUENCE = 999_999
_BRANCH = re.compile(r"^[A-Z][A-Z0-9]{1,9}$")
_NUMBER = re.compile(r"^([A-Z][A-Z0-9]{1,9})-(\d{4})-(\d{6})$")


@dataclass(frozen=True)
class SequenceKey:
    """The scope a sequence number is allocated in."""

    branch_code: str
    year: int


@dataclass(frozen=True)
class ContractNumber:
    branch_code: str
    year: int
    seq: int

    def __str__(self) -> str:
        return format_contract_number(self.branch_code, self.year, self.seq)


def _check(branch_code: object, year: object, seq: object) -> None:
    violations: list[tuple[str, str]] = []
    if not isinstance(branch_code, str) or not _BRANCH.fullmatch(branch_code):
        violations.append(("branch_code", "must be 2-10 upper-case letters or digits starting with a letter"))
    if isinstance(year, bool) or not isinstance(year, int) or not 1000 <= year <= 9999:
        violations.append(("year", "must be a four-digit year"))
    if isinstance(seq, bool) or not isinstance(seq, int) or not 1 <= seq <= MAX_SEQUENCE:
        violations.append(("seq", f"must be between 1 and {MAX_SEQUENCE}"))
    if violations:
        raise ValidationFailed.many(violations)


def format_contract_number(branch_code: str, year: int, seq: int) -> str:
    """("SH", 2026, 42) -> "SH-2026-000042"."""
    _check(branch_code, year, seq)
    return f"{branch_code}-{year:04d}-{seq:06d}"


def parse_contract_number(text: object, field: str = "number") -> ContractNumber:
    if not isinstance(text, str) or not (match := _NUMBER.fullmatch(text.strip())):
        raise ValidationFailed(f"must look like SH-2026-000042, got {text!r}", field)
    number = ContractNumber(match.group(1), int(match.group(2)), int(match.group(3)))
    try:
        _check(number.branch_code, number.year, number.seq)
    except ValidationFailed as exc:
        raise ValidationFailed(exc.message, field) from exc
    return number


def sequence_key(branch_code: str, created_at: datetime, branch_zone: str) -> SequenceKey:
    """The (branch, year) a contract created at ``created_at`` draws its number from."""
    require_aware(created_at, "created_at")
    zone = zones.zone(branch_zone, "branch_zone")  # the branch's calendar year
    year = created_at.astimezone(zone).year
    _check(branch_code, year, 1)
    return SequenceKey(branch_code, year)


def next_sequence(last_allocated: int | None) -> int:
    """The number after the last one allocated in the key (1 for the first)."""
    following = 1 if last_allocated is None else last_allocated + 1
    if following > MAX_SEQUENCE:
        raise ValidationFailed(f"the sequence is exhausted at {MAX_SEQUENCE}", "seq")
    return following


def missing_sequences(allocated: Iterable[int]) -> list[int]:
    """Gaps in 1..max(allocated): an audit check for the no-gaps rule (duplicates are ignored)."""
    present = set(allocated)
    return [seq for seq in range(1, max(present, default=0) + 1) if seq not in present]
