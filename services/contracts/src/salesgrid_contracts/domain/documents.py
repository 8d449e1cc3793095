"""Documents printed by the system (收据必须通过系统打印; 合同采用公司统一文本).

A receipt is issued as a numbered document "<BRANCH>-<YEAR>-R<SEQ>" (e.g. "SH-2026-R000042"): the
sequence runs per (branch, year) from 1 without gaps, the branch being the contract's and the
year the calendar year of the issuing day in the branch's time zone. The number is allocated at
the first print; documents are never deleted, so no number is lost.

A contract is printed from the company's standard template (the template version the contract was
made from) under the contract's own number; a contract made without the template, or one not yet
approved, is not printed.

The first print of a document (a receipt, or a contract at one revision) is the original, stored
as the record's attachment; every later print is a copy, marked COPY / 副本 with its copy number,
rendered from the same stored content so the figures never drift.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from ._validation import require_text
from .errors import FailedPrecondition, ValidationFailed
from .numbering import MAX_SEQUENCE, parse_contract_number

_RECEIPT_NUMBER = re.compile(r"^([A-Z][A-Z0-9]{1,9})-(\d{4})-R(\d{6})$")
MAX_PAYER_NAME = 200
# A contract is printed for signing once approved, and later for the file.
PRINTABLE_CONTRACT_STATUSES = frozenset({"approved", "signed", "active", "completed", "terminated"})


class DocumentKind(StrEnum):
    RECEIPT = "receipt"
    CONTRACT = "contract"


def format_receipt_number(branch_code: str, year: int, seq: int) -> str:
    """("SH", 2026, 42) -> "SH-2026-R000042"."""
    if not 1 <= seq <= MAX_SEQUENCE:
        raise ValidationFailed(f"the receipt sequence is exhausted at {MAX_SEQUENCE}", "seq")
    return f"{branch_code}-{year:04d}-R{seq:06d}"


def parse_receipt_number(text: str) -> tuple[str, int, int]:
    match = _RECEIPT_NUMBER.fullmatch(text or "")
    if not match:
        raise ValidationFailed(f"must look like SH-2026-R000042, got {text!r}", "number")
    return match.group(1), int(match.group(2)), int(match.group(3))


def receipt_branch(contract_number: str) -> str:
    """The branch a receipt is numbered in: its contract's."""
    return parse_contract_number(contract_number, "contract_number").branch_code


def check_payer_name(value: str, customer_name: str | None = None) -> str:
    """The payer (交款人) printed on a receipt: as given at the first print, else the customer's
    legal name; one of them is required."""
    if (value or "").strip() or not customer_name:
        return require_text(value, "payer_name", max_length=MAX_PAYER_NAME)
    return customer_name[:MAX_PAYER_NAME]


def check_contract_printable(status: str, template_id: str | None) -> None:
    if not template_id:
        raise FailedPrecondition(
            "the contract was not made from the company's standard template "
            "(合同采用公司统一文本): it cannot be printed",
            "template_id",
        )
    if status not in PRINTABLE_CONTRACT_STATUSES:
        raise FailedPrecondition(f"the contract is {status}: it is printed once approved", "status")


@dataclass(frozen=True)
class Letterhead:
    """The company's header on every printed document."""

    company_name: str
    address: str = ""
    phone: str = ""


@dataclass(frozen=True)
class Row:
    label: str
    value: str


@dataclass(frozen=True)
class Table:
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class Document:
    """What a printed page says: the renderer only lays it out."""

    kind: DocumentKind
    number: str
    title: str
    fields: tuple[Row, ...]
    table: Table | None = None
    body: str = ""
    footer: str = ""

    def to_json(self) -> dict[str, object]:
        return {
            "kind": self.kind.value,
            "number": self.number,
            "title": self.title,
            "fields": [[r.label, r.value] for r in self.fields],
            "table": None
            if self.table is None
            else {"header": list(self.table.header), "rows": [list(r) for r in self.table.rows]},
            "body": self.body,
            "footer": self.footer,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Document:  # Any: the stored JSON, as to_json wrote it
        table = data.get("table")
        return cls(
            DocumentKind(str(data["kind"])),
            str(data["number"]),
            str(data["title"]),
            tuple(Row(str(label), str(value)) for label, value in data["fields"]),
            None if not table else Table(tuple(table["header"]), tuple(tuple(r) for r in table["rows"])),
            str(data.get("body", "")),
            str(data.get("footer", "")),
        )


def amount_text(amount: Decimal, currency: str) -> str:
    return f"{currency} {amount:,.2f}"


def receipt_document(
    *,
    number: str,
    contract_number: str,
    payer_name: str,
    received_on: str,
    amount: Decimal,
    currency: str,
    method: str,
    reference: str,
    received_by: str,
    issued_on: str,
) -> Document:
    fields = [
        Row("收据编号 Receipt No.", number),
        Row("开具日期 Issued on", issued_on),
        Row("交款人 Received from", payer_name),
        Row("合同编号 Contract No.", contract_number),
        Row("收款日期 Received on", received_on),
        Row("金额 Amount", amount_text(amount, currency)),
        Row("付款方式 Method", method),
    ]
    if reference:
        fields.append(Row("参考号 Reference", reference))
    fields.append(Row("收款人 Received by", received_by))
    return Document(
        DocumentKind.RECEIPT,
        number,
        "收据 RECEIPT",
        tuple(fields),
        footer="本收据由系统打印,手写无效。 This receipt is printed by the system.",
    )


def contract_document(
    *,
    number: str,
    template_name: str,
    template_version: int,
    customer: str,
    owner: str,
    start_date: str,
    end_date: str,
    currency: str,
    lines: list[tuple[str, Decimal, Decimal, Decimal, Decimal]],
    total: Decimal,
    terms: str,
    revision: int,
) -> Document:
    """lines: (description, quantity, unit price, discount %, line total)."""
    rows = tuple(
        (d, f"{q.normalize():f}", f"{p:,.2f}", f"{disc.normalize():f}%", f"{t:,.2f}") for d, q, p, disc, t in lines
    )
    return Document(
        DocumentKind.CONTRACT,
        number,
        template_name,
        (
            Row("合同编号 Contract No.", number),
            Row("版本 Revision", str(revision)),
            Row("客户 Customer", customer),
            Row("销售代表 Sales rep", owner),
            Row("期限 Term", f"{start_date} – {end_date}"),
            Row("合同金额 Total", amount_text(total, currency)),
        ),
        Table(("品名 Item", "数量 Qty", "单价 Unit price", "折扣 Discount", "金额 Amount"), rows),
        terms,
        footer=f"公司统一文本 Standard template version {template_version}",
    )


@dataclass(frozen=True)
class PrintedOriginal:
    """The original of a printed document as kept (its PDF aside): what it says, under which
    letterhead, of which record (a receipt, or a contract at one revision), read in the scope of
    the record's owner, and how many copies followed."""

    document_id: str
    subject_id: str  # the receipt's or the contract's id
    revision: int  # the contract's revision (0 for receipts)
    contract_id: str
    owner_id: str
    org_path: str
    document: Document
    letterhead: Letterhead
    file_name: str
    size_bytes: int
    sha256: str
    copies: int
    printed_by: str
    printed_at: datetime

    @property
    def kind(self) -> DocumentKind:
        return self.document.kind

    @property
    def number(self) -> str:
        return self.document.number


def copy_mark(copy_number: int) -> str:
    """The stamp on a reprint: nothing on the original (copy 0)."""
    if copy_number < 0:
        raise ValidationFailed("must not be negative", "copy_number")
    return "" if copy_number == 0 else f"副本 COPY {copy_number}"
