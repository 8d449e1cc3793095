"""Contracts: the aggregate, its life cycle and termination (lines and totals: contract_lines.py;
the status machine: contract_status.py; amendments, the new versions: amendments.py).

Every change returns a new frozen ``Contract``; the persistence layer stores each version as its
own row, so an amendment keeps the version it amends untouched until it takes effect.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime

from ._validation import require_aware, require_date, require_text
from .currencies import validate_currency
from .errors import FailedPrecondition, ValidationFailed
from .money import Money, sum_money
from .contract_lines import ContractLine, line_total, new_line
from .contract_status import IN_FORCE, TRANSITIONS, ContractAction, ContractStatus, next_status

__all__ = [
    "IN_FORCE",
    "TRANSITIONS",
    "Contract",
    "ContractAction",
    "ContractLine",
    "ContractStatus",
    "TerminationRequest",
    "activate",
    "approve",
    "approve_termination",
    "complete",
    "line_total",
    "new_contract",
    "new_line",
    "next_status",
    "reject",
    "reject_termination",
    "request_termination",
    "revise_draft",
    "sign",
    "submit_for_approval",
]


@dataclass(frozen=True)
class TerminationRequest:
    reason: str
    requested_by: str
    requested_at: datetime


@dataclass(frozen=True)
class Contract:
    """One version of a contract; ``contract_id`` and ``number`` are shared by all its versions."""

    contract_id: str
    number: str
    version: int
    customer_id: str
    owner_id: str
    org_unit_id: str
    currency: str
    start_date: date
    end_date: date
    lines: tuple[ContractLine, ...]
    terms: str
    status: ContractStatus
    created_at: datetime
    previous_version: int | None = None
    superseded: bool = False
    signed_on: date | None = None
    termination: TerminationRequest | None = None
    terminated_at: datetime | None = None

    @property
    def total(self) -> Money:
        return sum_money((line.total for line in self.lines), self.currency)

    @property
    def is_amendment(self) -> bool:
        return self.previous_version is not None


def _check_body(
    currency: str, start_date: object, end_date: object, lines: Sequence[ContractLine]
) -> list[tuple[str, str]]:
    violations: list[tuple[str, str]] = []
    for name, value in (("start_date", start_date), ("end_date", end_date)):
        try:
            require_date(value, name)
        except ValidationFailed as exc:
            violations.append((name, exc.message))
    if not violations and start_date > end_date:  # type: ignore[operator]
        violations.append(("end_date", "must not be before start_date"))
    for index, line in enumerate(lines):
        if not isinstance(line, ContractLine):
            violations.append((f"lines[{index}]", "must be a ContractLine"))
        elif line.unit_price.currency != currency:
            violations.append(
                (f"lines[{index}].unit_price", f"is in {line.unit_price.currency}, the contract is in {currency}")
            )
    return violations


def new_contract(
    *,
    contract_id: str,
    number: str,
    customer_id: str,
    owner_id: str,
    org_unit_id: str,
    currency: str,
    start_date: date,
    end_date: date,
    lines: Sequence[ContractLine],
    terms: str = "",
    now: datetime,
) -> Contract:
    """A draft, version 1. Lines may be empty while drafting; submission needs at least one."""
    violations: list[tuple[str, str]] = []
    ids: dict[str, str] = {}
    for name, value in (
        ("contract_id", contract_id),
        ("number", number),
        ("customer_id", customer_id),
        ("owner_id", owner_id),
        ("org_unit_id", org_unit_id),
    ):
        try:
            ids[name] = require_text(value, name, max_length=64)
        except ValidationFailed as exc:
            violations.append((name, exc.message))
    try:
        validate_currency(currency)
    except ValidationFailed as exc:
        violations.append(("currency", exc.message))
    else:
        violations.extend(_check_body(currency, start_date, end_date, lines))
    try:
        require_aware(now, "now")
    except ValidationFailed as exc:
        violations.append(("now", exc.message))
    if not isinstance(terms, str):
        violations.append(("terms", "must be text"))
    if violations:
        raise ValidationFailed.many(violations)
    return Contract(
        contract_id=ids["contract_id"],
        number=ids["number"],
        version=1,
        customer_id=ids["customer_id"],
        owner_id=ids["owner_id"],
        org_unit_id=ids["org_unit_id"],
        currency=currency,
        start_date=start_date,
        end_date=end_date,
        lines=tuple(lines),
        terms=terms,
        status=ContractStatus.DRAFT,
        created_at=now,
    )


def _ensure_current(contract: Contract) -> None:
    if contract.superseded:
        raise FailedPrecondition(
            f"version {contract.version} of {contract.number} has been superseded by an amendment", "version"
        )


def _transition(contract: Contract, action: ContractAction) -> ContractStatus:
    _ensure_current(contract)
    return next_status(contract.status, action)


def revise_draft(
    contract: Contract,
    *,
    lines: Sequence[ContractLine] | None = None,
    start_date: date | None = None,
    end_date: date | None = None,
    terms: str | None = None,
) -> Contract:
    """Change a draft (including a rejected one or a draft amendment); other statuses are frozen."""
    if contract.status is not ContractStatus.DRAFT:
        raise FailedPrecondition(f"only a draft can be edited, this contract is {contract.status.value}", "status")
    revised = replace(
        contract,
        lines=contract.lines if lines is None else tuple(lines),
        start_date=contract.start_date if start_date is None else start_date,
        end_date=contract.end_date if end_date is None else end_date,
        terms=contract.terms if terms is None else terms,
    )
    violations = _check_body(revised.currency, revised.start_date, revised.end_date, revised.lines)
    if violations:
        raise ValidationFailed.many(violations)
    return revised


def submit_for_approval(contract: Contract) -> Contract:
    """draft -> pending_approval; needs at least one line and a positive total."""
    status = _transition(contract, ContractAction.SUBMIT)
    if not contract.lines:
        raise ValidationFailed("a contract needs at least one line", "lines")
    if not contract.total.is_positive:
        raise ValidationFailed("the contract total must be greater than 0", "lines")
    return replace(contract, status=status)


def approve(contract: Contract) -> Contract:
    """pending_approval -> approved, once its approval flow has been approved."""
    return replace(contract, status=_transition(contract, ContractAction.APPROVE))


def reject(contract: Contract) -> Contract:
    """pending_approval -> draft, so the owner can revise and resubmit."""
    return replace(contract, status=_transition(contract, ContractAction.REJECT))


def sign(contract: Contract, signed_on: date, created_on: date | None = None) -> Contract:
    """approved -> signed. Amendments do not go through here: see ``apply_amendment``.
    ``created_on`` is the local date (the branch's calendar) the contract was created on."""
    require_date(signed_on, "signed_on")
    if contract.is_amendment:
        raise FailedPrecondition("an amendment takes effect through apply_amendment", "version")
    status = _transition(contract, ContractAction.SIGN)
    if signed_on < (created_on or contract.created_at.date()):
        raise ValidationFailed("must not be before the contract was created", "signed_on")
    return replace(contract, status=status, signed_on=signed_on)


def activate(contract: Contract, today: date) -> Contract:
    """signed -> active, from the start date on."""
    status = _transition(contract, ContractAction.ACTIVATE)
    if require_date(today, "today") < contract.start_date:
        raise FailedPrecondition(f"the contract starts on {contract.start_date.isoformat()}", "start_date")
    return replace(contract, status=status)


def complete(contract: Contract) -> Contract:
    """active -> completed."""
    return replace(contract, status=_transition(contract, ContractAction.COMPLETE))


def request_termination(contract: Contract, *, reason: str, requested_by: str, now: datetime) -> Contract:
    """Ask to terminate a signed or active contract; the request goes through approval."""
    _transition(contract, ContractAction.TERMINATE)  # fails early for drafts, completed, superseded
    if contract.termination is not None:
        raise FailedPrecondition("a termination request is already pending", "termination")
    request = TerminationRequest(
        require_text(reason, "reason", max_length=2000),
        require_text(requested_by, "requested_by", max_length=64),
        require_aware(now, "now"),
    )
    return replace(contract, termination=request)


def _pending_termination(contract: Contract) -> TerminationRequest:
    if contract.termination is None:
        raise FailedPrecondition("there is no pending termination request", "termination")
    return contract.termination


def approve_termination(contract: Contract, now: datetime) -> Contract:
    """signed|active -> terminated, once the termination request's approval flow is approved."""
    _pending_termination(contract)
    status = _transition(contract, ContractAction.TERMINATE)
    return replace(contract, status=status, terminated_at=require_aware(now, "now"))


def reject_termination(contract: Contract) -> Contract:
    """The contract stays in force; the request is dropped."""
    _pending_termination(contract)
    return replace(contract, termination=None)
