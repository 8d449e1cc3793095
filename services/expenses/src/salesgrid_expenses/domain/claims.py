"""Expense claims (费用报销单): lines by category and day, each linked where it applies to the
visit, customer or opportunity it was spent on; draft → submitted → approved → paid, or rejected."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from salesgrid_common.currencies import parse_amount, validate_currency
from salesgrid_common.errors import FailedPrecondition, ValidationFailed

MAX_LINES = 100
MAX_LINK = 36  # ids are UUIDs


class Category(StrEnum):
    TRAVEL = "travel"  # 差旅费
    COMMUNICATION = "communication"  # 通讯费
    ENTERTAINMENT = "entertainment"  # 招待费
    OTHER = "other"


class ClaimStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    REJECTED = "rejected"
    PAID = "paid"


# Claims whose money counts against the daily limits: everything not rejected.
COUNTED = (ClaimStatus.SUBMITTED, ClaimStatus.APPROVED, ClaimStatus.PAID)


@dataclass(frozen=True)
class ExpenseLine:
    line_no: int
    category: Category
    spent_on: date
    amount: Decimal
    description: str = ""
    visit_id: str = ""
    customer_id: str = ""
    opportunity_id: str = ""


def parse_category(value: object, field: str = "category") -> Category:
    try:
        return Category(str(value).strip().lower())
    except ValueError:
        raise ValidationFailed(f"must be one of {', '.join(c.value for c in Category)}", field) from None


def new_line(
    line_no: int,
    *,
    category: str,
    spent_on: str,
    amount: str,
    currency: str,
    description: str = "",
    visit_id: str = "",
    customer_id: str = "",
    opportunity_id: str = "",
    today: date,
    field: str = "line",
) -> ExpenseLine:
    """A validated line; every bad field is named at once (``<field>.amount``…)."""
    problems: list[tuple[str, str]] = []

    def attempt(name: str, parse):  # type: ignore[no-untyped-def]
        try:
            return parse()
        except ValidationFailed as exc:
            problems.extend((f"{field}.{name}", message) for _f, message in (exc.violations or [(name, exc.message)]))
            return None

    kind = attempt("category", lambda: parse_category(category))
    day = attempt("spent_on", lambda: _day(spent_on, today))
    value = attempt("amount", lambda: parse_amount(amount, currency, positive=True))
    text = (description or "").strip()
    if len(text) > 500:
        problems.append((f"{field}.description", "must be at most 500 characters"))
    links = {"visit_id": visit_id, "customer_id": customer_id, "opportunity_id": opportunity_id}
    for name, link in links.items():
        if len((link or "").strip()) > MAX_LINK:
            problems.append((f"{field}.{name}", f"must be an id of at most {MAX_LINK} characters"))
    if kind is Category.ENTERTAINMENT and not ((customer_id or "").strip() or (opportunity_id or "").strip()):
        problems.append(
            (
                f"{field}.customer_id",
                "an entertainment expense names the customer entertained "
                "(or the opportunity, which brings its customer)",
            )
        )
    if problems:
        raise ValidationFailed.many(problems)
    return ExpenseLine(
        line_no,
        kind,
        day,
        value,
        text,
        (visit_id or "").strip(),
        (customer_id or "").strip(),
        (opportunity_id or "").strip(),
    )


def link_opportunity(line: ExpenseLine, opportunity_customer: str, field: str = "line") -> ExpenseLine:
    """A line linked to an opportunity is spent on that opportunity's customer: taken from it when
    the line names none, refused when the line names another."""
    if line.customer_id and opportunity_customer and line.customer_id != opportunity_customer:
        raise ValidationFailed(
            f"opportunity {line.opportunity_id} is with customer {opportunity_customer}, not {line.customer_id}",
            f"{field}.opportunity_id",
        )
    return replace(line, customer_id=line.customer_id or opportunity_customer)


def _day(text: str, today: date) -> date:
    try:
        day = date.fromisoformat((text or "").strip())
    except ValueError:
        raise ValidationFailed(f"must be a date such as 2026-04-01, got {text!r}", "spent_on") from None
    if day > today:
        raise ValidationFailed("cannot be in the future", "spent_on")
    return day


def new_claim_lines(lines: Sequence[dict[str, str]], currency: str, today: date) -> tuple[ExpenseLine, ...]:
    """The lines of a new claim, numbered from 1; at least one, all errors named by index."""
    validate_currency(currency)
    if not lines:
        raise ValidationFailed("a claim needs at least one line", "lines")
    if len(lines) > MAX_LINES:
        raise ValidationFailed(f"at most {MAX_LINES} lines", "lines")
    problems: list[tuple[str, str]] = []
    result: list[ExpenseLine] = []
    for index, line in enumerate(lines):
        try:
            result.append(new_line(index + 1, currency=currency, today=today, field=f"lines[{index}]", **line))
        except ValidationFailed as exc:
            problems.extend(exc.violations or [(exc.field or f"lines[{index}]", exc.message)])
    if problems:
        raise ValidationFailed.many(problems)
    return tuple(result)


def total(lines: Sequence[ExpenseLine]) -> Decimal:
    return sum((line.amount for line in lines), Decimal(0))


def require_status(status: ClaimStatus, *allowed: ClaimStatus, action: str) -> None:
    if status not in allowed:
        raise FailedPrecondition(f"the claim is {status.value}: it cannot be {action}", "status")


def check_submittable(status: ClaimStatus, lines: Sequence[ExpenseLine], receipts_per_line: dict[int, int]) -> None:
    """A draft whose every line has at least one receipt (如实填写…并附上相关凭证)."""
    require_status(status, ClaimStatus.DRAFT, action="submitted")
    missing = [
        (f"lines[{line.line_no - 1}].receipts", "attach at least one receipt")
        for line in lines
        if not receipts_per_line.get(line.line_no)
    ]
    if missing:
        raise ValidationFailed.many(missing)


def check_payable(status: ClaimStatus, paid_on: str, reference: str, approved_on: date) -> date:
    """An approved claim, paid on a day not before its approval, with a payment reference."""
    require_status(status, ClaimStatus.APPROVED, action="paid")
    problems: list[tuple[str, str]] = []
    day: date | None = None
    try:
        day = date.fromisoformat((paid_on or "").strip())
        if day < approved_on:
            problems.append(("paid_on", f"cannot be before the approval on {approved_on.isoformat()}"))
    except ValueError:
        problems.append(("paid_on", f"must be a date such as 2026-04-01, got {paid_on!r}"))
    if not (reference or "").strip() or len(reference.strip()) > 100:
        problems.append(("payment_reference", "is required (at most 100 characters)"))
    if problems:
        raise ValidationFailed.many(problems)
    assert day is not None
    return day


@dataclass(frozen=True)
class ExpenseClaim:
    """A claim and its lines, as stored (stores.claims maps every field to its rows and back)."""

    id: str
    owner_id: str
    org_unit_id: str
    org_path: str  # the owner's, at filing: the claim's scope
    title: str
    currency: str
    total: Decimal
    status: ClaimStatus
    created_at: datetime
    lines: tuple[ExpenseLine, ...] = ()
    submitted_at: datetime | None = None
    approval_started_at: datetime | None = None
    decided_at: datetime | None = None
    paid_on: date | None = None
    payment_reference: str | None = None
    version: int = 1

    def submitted(self, now: datetime) -> ExpenseClaim:
        """Sent for approval now (check_submittable has passed)."""
        return replace(self, status=ClaimStatus.SUBMITTED, submitted_at=now, approval_started_at=now)

    def decided(self, approved: bool, now: datetime) -> ExpenseClaim:
        """Settled by the last approval or any rejection."""
        return replace(self, status=ClaimStatus.APPROVED if approved else ClaimStatus.REJECTED, decided_at=now)

    def paid(self, paid_on: date, reference: str) -> ExpenseClaim:
        """Paid out (check_payable has passed)."""
        return replace(self, status=ClaimStatus.PAID, paid_on=paid_on, payment_reference=reference.strip())
