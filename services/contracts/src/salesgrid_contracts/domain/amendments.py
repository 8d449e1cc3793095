"""Amendments: the next version of a contract in force, drafted and approved while the version it
amends stays in force, then put in its place."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime

from ._validation import require_aware
from .attachments import Attachment
from .contract_lines import ContractLine
from .contract_status import IN_FORCE, ContractStatus
from .contracts import Contract, _ensure_current, revise_draft
from .errors import FailedPrecondition
from .money import Money


@dataclass(frozen=True)
class ContractVersion:
    """One version of a contract as kept beside it: in force, superseded by an amendment, an
    amendment proposed (under approval) or rejected."""

    revision: int
    status: str  # in_force | superseded | proposed | rejected
    start_date: date
    end_date: date
    terms: str
    lines: tuple[ContractLine, ...]
    total: Money
    created_by: str
    created_at: datetime
    attachments: tuple[Attachment, ...] = ()


def amend(
    current: Contract,
    *,
    lines: Sequence[ContractLine] | None = None,
    start_date: date | None = None,
    end_date: date | None = None,
    terms: str | None = None,
    now: datetime,
) -> Contract:
    """A draft amendment: version + 1 of a signed or active contract, which stays in force
    (and unchanged) until the amendment is approved and applied."""
    require_aware(now, "now")
    _ensure_current(current)
    if current.status not in IN_FORCE:
        raise FailedPrecondition(
            f"only a signed or active contract can be amended, this one is {current.status.value}", "status"
        )
    if current.termination is not None:
        raise FailedPrecondition("a termination request is pending", "termination")
    draft = replace(
        current,
        version=current.version + 1,
        previous_version=current.version,
        status=ContractStatus.DRAFT,
        created_at=now,
        signed_on=None,
    )
    return revise_draft(draft, lines=lines, start_date=start_date, end_date=end_date, terms=terms)


def apply_amendment(current: Contract, amendment: Contract) -> tuple[Contract, Contract]:
    """Put an approved amendment in force: returns (the old version marked superseded, the new
    version carrying the old one's signed/active status)."""
    if amendment.contract_id != current.contract_id or amendment.previous_version != current.version:
        raise FailedPrecondition(
            f"version {amendment.version} does not amend version {current.version} of {current.number}", "version"
        )
    if current.superseded or current.status not in IN_FORCE:
        raise FailedPrecondition("the amended version is no longer in force", "status")
    if amendment.status is not ContractStatus.APPROVED:
        raise FailedPrecondition(f"the amendment must be approved first, it is {amendment.status.value}", "status")
    return (
        replace(current, superseded=True),
        replace(amendment, status=current.status, signed_on=current.signed_on),
    )
