"""Duplicate check (查重): the customer being created or renamed against stored candidates: the
same credit code or normalised name blocks, a similar name warns (names.py: normalisation, keys
and similarity)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from enum import StrEnum

from .errors import Conflict, ValidationFailed
from .names import (
    MAX_CANDIDATE_KEYS,
    candidate_keys,
    core_name,
    gram_key,
    name_grams,
    name_keys,
    name_runs,
    normalise_name,
    run_grams,
    similarity,
)

__all__ = [
    "DEFAULT_THRESHOLD",
    "MAX_CANDIDATE_KEYS",
    "MAX_WARNINGS",
    "CandidateCustomer",
    "DuplicateMatch",
    "DuplicateProbe",
    "DuplicateReport",
    "MatchReason",
    "OwnerInfo",
    "candidate_keys",
    "classify_matches",
    "core_name",
    "gram_key",
    "name_grams",
    "name_keys",
    "name_runs",
    "normalise_name",
    "run_grams",
    "similarity",
]

DEFAULT_THRESHOLD = 0.8
MAX_WARNINGS = 20


class MatchReason(StrEnum):
    SAME_CREDIT_CODE = "same_credit_code"
    SAME_NORMALISED_NAME = "same_normalised_name"
    SIMILAR_NAME = "similar_name"


@dataclass(frozen=True)
class DuplicateProbe:
    """The customer being created or renamed. customer_id is set on updates to skip itself."""

    normalised_name: str
    credit_code: str | None = None
    customer_id: str | None = None


@dataclass(frozen=True)
class CandidateCustomer:
    customer_id: str
    legal_name: str
    normalised_name: str
    credit_code: str | None
    owner_id: str | None  # None: in the public pool


@dataclass(frozen=True)
class OwnerInfo:
    """Who holds an existing record, as a rep needs it to ask for sharing (from the directory)."""

    display_name: str
    unit_id: str
    unit_name: str

    def describe(self) -> str:
        return f"{self.display_name} ({self.unit_name})" if self.unit_name else self.display_name


@dataclass(frozen=True)
class DuplicateMatch:
    customer_id: str
    legal_name: str
    owner_id: str | None
    reason: MatchReason
    score: float
    owner: OwnerInfo | None = None  # filled by the use case from the directory replica


@dataclass(frozen=True)
class DuplicateReport:
    blocking: tuple[DuplicateMatch, ...]
    warnings: tuple[DuplicateMatch, ...]

    @property
    def is_blocked(self) -> bool:
        return bool(self.blocking)

    def owner_ids(self) -> set[str]:
        return {m.owner_id for m in (*self.blocking, *self.warnings) if m.owner_id}

    def with_owners(self, owners: Mapping[str, OwnerInfo]) -> DuplicateReport:
        def named(matches: tuple[DuplicateMatch, ...]) -> tuple[DuplicateMatch, ...]:
            return tuple(replace(m, owner=owners.get(m.owner_id)) if m.owner_id else m for m in matches)

        return DuplicateReport(named(self.blocking), named(self.warnings))

    def raise_if_blocked(self) -> None:
        """Conflict naming the existing record and its owner (name and unit, so the rep can ask
        for sharing); the same facts travel as structured `info`."""
        if not self.blocking:
            return
        first = self.blocking[0]
        if first.owner_id:
            holder = f"owned by {first.owner.describe() if first.owner else first.owner_id}"
        else:
            holder = "in the public pool"
        field = "credit_code" if first.reason is MatchReason.SAME_CREDIT_CODE else "legal_name"
        info = {"existing_customer_id": first.customer_id, "existing_owner_id": first.owner_id or ""}
        if first.owner:
            info |= {
                "existing_owner_name": first.owner.display_name,
                "existing_owner_unit_id": first.owner.unit_id,
                "existing_owner_unit": first.owner.unit_name,
            }
        raise Conflict(
            f"customer already exists: '{first.legal_name}' ({first.customer_id}), {holder}", field, info=info
        )


def classify_matches(
    new: DuplicateProbe,
    candidates: Iterable[CandidateCustomer],
    threshold: float = DEFAULT_THRESHOLD,
) -> DuplicateReport:
    """Same credit code or same normalised name blocks; similarity >= threshold warns."""
    if not 0.0 < threshold <= 1.0:
        raise ValidationFailed("threshold must be in (0, 1]", "threshold")
    blocking: list[DuplicateMatch] = []
    warnings: list[DuplicateMatch] = []
    seen: set[str] = set()
    for cand in candidates:
        if cand.customer_id == new.customer_id or cand.customer_id in seen:
            continue
        seen.add(cand.customer_id)
        if new.credit_code and cand.credit_code == new.credit_code:
            reason, score = MatchReason.SAME_CREDIT_CODE, 1.0
        elif cand.normalised_name == new.normalised_name:
            reason, score = MatchReason.SAME_NORMALISED_NAME, 1.0
        else:
            score = similarity(new.normalised_name, cand.normalised_name)
            if score < threshold:
                continue
            reason = MatchReason.SIMILAR_NAME
        match = DuplicateMatch(cand.customer_id, cand.legal_name, cand.owner_id, reason, round(score, 4))
        (warnings if reason is MatchReason.SIMILAR_NAME else blocking).append(match)
    warnings.sort(key=lambda m: (-m.score, m.customer_id))
    blocking.sort(key=lambda m: (m.reason is not MatchReason.SAME_CREDIT_CODE, m.customer_id))
    return DuplicateReport(tuple(blocking), tuple(warnings[:MAX_WARNINGS]))
