"""Contracts: lines and totals, the status machine, amendments (new versions) and termination.

Every change returns a new frozen ``Contract``; the persistence layer stores each version as its
own row, so an amendment keeps the version it amends untouched until it takes effect.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType

from ._validation import require_aware, require_date, require_text
from .currencies import validate_currency
from .errors import FailedPrecondition, ValidationFailed
from .money import Money, sum_money, to_decimal
from .products import Product, ensure_sellable

HUNDRED = Decimal(100)


class ContractStatus(StrEnum):
    DRAFT = "draft"
    PENDING_APPROVAL = "pending_approval"
    APPROVED = "approved"
    SIGNED = "signed"
    ACTIVE = "active"
    COMPLETED = "completed"
    TERMINATED = "terminated"


class ContractAction(StrEnum):
    SUBMIT = "submit"
    APPROVE = "approve"
    REJECT = "reject"
    SIGN = "sign"
    ACTIVATE = "activate"
    COMPLETE = "complete"
    TERMINATE = "terminate"


S, A = ContractStatus, ContractAction
TRANSITIONS: Mapping[tuple[ContractStatus, ContractAction], ContractStatus] = MappingProxyType(
    {
        (S.DRAFT, A.SUBMIT): S.PENDING_APPROVAL,
        (S.PENDING_APPROVAL, A.APPROVE): S.APPROVED,
        (S.PENDING_APPROVAL, A.REJECT): S.DRAFT,
        (S.APPROVED, A.SIGN): S.SIGNED,
        (S.SIGNED, A.ACTIVATE): S.ACTIVE,
        (S.ACTIVE, A.COMPLETE): S.COMPLETED,
        # Reached only through an approved termination request (see approve_termination).
        (S.SIGNED, A.TERMINATE): S.TERMINATED,
        (S.ACTIVE, A.TERMINATE): S.TERMINATED,
    }
)
del S, A

# Statuses in which the contract binds both parties: receipts, invoices, amendments, termination.
IN_FORCE: frozenset[ContractStatus] = frozenset({ContractStatus.SIGNED, ContractStatus.ACTIVE})


def next_status(status: ContractStatus, action: ContractAction) -> ContractStatus:
    """The status ``action`` leads to from ``status``, or FailedPrecondition naming both."""
    target = TRANSITIONS.get((status, action))
    if target is None:
        allowed = sorted(a.value for (s, a) in TRANSITIONS if s is status) or ["none"]
        raise FailedPrecondition(
            f"cannot {action.value} a contract that is {status.value} (allowed: {', '.join(allowed)})", "status"
        )
    return target


def line_total(quantity: Decimal, unit_price: Money, discount_percent: Decimal) -> Money:
    """quantity x unit price x (1 - discount/100), rounded once ROUND_HALF_UP to minor units."""
    return Money.rounded(quantity * unit_price.amount * (HUNDRED - discount_percent) / HUNDRED, unit_price.currency)


@dataclass(frozen=True)
class ContractLine:
    product_id: str
    description: str
    quantity: Decimal
    unit_price: Money
    discount_percent: Decimal = Decimal(0)

    @property
    def total(self) -> Money:
        return line_total(self.quantity, self.unit_price, self.discount_percent)


def new_line(
    product: Product,
    unit_price: Money,
    quantity: Decimal | int,
    discount_percent: Decimal | int = 0,
    *,
    description: str | None = None,
    field: str = "line",
) -> ContractLine:
    """A line for a new contract or a new line of an amendment; the product must be active.

    Errors name ``field`` + the attribute, e.g. "lines[2].quantity".
    """
    ensure_sellable(product, f"{field}.product_id")
    violations: list[tuple[str, str]] = []
    qty = disc = Decimal(0)
    try:
        qty = to_decimal(quantity, f"{field}.quantity")
        if qty <= 0:
            violations.append((f"{field}.quantity", "must be greater than 0"))
    except ValidationFailed as exc:
        violations.append((f"{field}.quantity", exc.message))
    try:
        disc = to_decimal(discount_percent, f"{field}.discount_percent")
        if not 0 <= disc <= 100:
            violations.append((f"{field}.discount_percent", "must be between 0 and 100"))
    except ValidationFailed as exc:
        violations.append((f"{field}.discount_percent", exc.message))
    if not isinstance(unit_price, Money):
        violations.append((f"{field}.unit_price", "must be Money"))
    elif unit_price.is_negative:
        violations.append((f"{field}.unit_price", "must not be negative"))
    if violations:
        raise ValidationFailed.many(violations)
    text = product.name if description is None else require_text(description, f"{field}.description", max_length=500)
    return ContractLine(product.product_id, text, qty, unit_price, disc)


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
