"""Printed documents: receipt numbers, what may be printed, and the PDF itself read back with
pypdf (number, amounts, Chinese names, the letterhead, and the COPY mark only on copies)."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from pypdf import PdfReader

from salesgrid_contracts import pdf
from salesgrid_contracts.domain import documents
from salesgrid_contracts.domain.errors import FailedPrecondition, ValidationFailed

HEAD = documents.Letterhead("上海示范销售有限公司", "上海市浦东新区世纪大道100号", "021-5555-0100")


def text_of(content: bytes) -> str:
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def receipt(number: str = "SH-2026-R000007") -> documents.Document:
    return documents.receipt_document(
        number=number,
        contract_number="SH-2026-000042",
        payer_name="杭州星辰科技有限公司",
        received_on="2026-03-02",
        amount=Decimal("123456.70"),
        currency="CNY",
        method="bank_transfer",
        reference="TX-9",
        received_by="张伟",
        issued_on="2026-03-03",
    )


def test_receipt_numbers_are_per_branch_and_year_and_parse_back() -> None:
    assert documents.format_receipt_number("SH", 2026, 42) == "SH-2026-R000042"
    assert documents.parse_receipt_number("SH-2026-R000042") == ("SH", 2026, 42)
    assert documents.receipt_branch("BJ-2025-000001") == "BJ"
    with pytest.raises(ValidationFailed):
        documents.format_receipt_number("SH", 2026, 0)
    with pytest.raises(ValidationFailed):
        documents.parse_receipt_number("SH-2026-000042")  # a contract number is not a receipt number


def test_payer_is_required_and_bounded() -> None:
    assert documents.check_payer_name("  王芳 ") == "王芳"
    assert documents.check_payer_name("", "杭州星辰科技有限公司") == "杭州星辰科技有限公司"  # the customer pays
    assert documents.check_payer_name("王芳", "杭州星辰科技有限公司") == "王芳"  # as stated at the counter
    for bad in ("", "   ", "x" * 201):
        with pytest.raises(ValidationFailed) as caught:
            documents.check_payer_name(bad)
        assert caught.value.field == "payer_name"


def test_only_approved_contracts_from_the_standard_template_are_printed() -> None:
    with pytest.raises(FailedPrecondition) as caught:
        documents.check_contract_printable("approved", None)
    assert caught.value.field == "template_id"
    for status in ("draft", "pending_approval"):
        with pytest.raises(FailedPrecondition):
            documents.check_contract_printable(status, "standard")
    for status in ("approved", "signed", "active", "completed"):
        documents.check_contract_printable(status, "standard")


def test_copy_mark_only_on_copies() -> None:
    assert documents.copy_mark(0) == ""
    assert documents.copy_mark(3) == "副本 COPY 3"


def test_document_survives_its_stored_form() -> None:
    doc = documents.contract_document(
        number="SH-2026-000001",
        template_name="销售合同(标准文本)",
        template_version=2,
        customer="cust-1",
        owner="李娜",
        start_date="2026-04-01",
        end_date="2027-03-31",
        currency="CNY",
        lines=[("CRM 座席", Decimal("3"), Decimal("1000.00"), Decimal("10"), Decimal("2700.00"))],
        total=Decimal("2700.00"),
        terms="第一条 付款方式:验收后30日内付清。",
        revision=1,
    )
    assert documents.Document.from_json(doc.to_json()) == doc
    assert documents.Document.from_json(receipt().to_json()) == receipt()


def test_receipt_pdf_reads_back_with_number_amount_names_and_letterhead() -> None:
    content = pdf.render(receipt(), HEAD)
    assert content.startswith(b"%PDF-")
    text = text_of(content)
    for expected in (
        "SH-2026-R000007",
        "SH-2026-000042",
        "CNY 123,456.70",
        "杭州星辰科技有限公司",
        "张伟",
        "上海示范销售有限公司",
        "上海市浦东新区世纪大道100号",
        "收据",
    ):
        assert expected in text, expected
    assert "COPY" not in text and "副本" not in text  # the original carries no copy mark
    assert pdf.render(receipt(), HEAD) == content  # deterministic: same document, same bytes


def test_reprint_is_marked_as_a_copy_with_its_number() -> None:
    text = text_of(pdf.render(receipt(), HEAD, copy_number=2))
    assert "副本 COPY 2" in text
    assert "SH-2026-R000007" in text and "CNY 123,456.70" in text


def test_contract_pdf_carries_the_template_terms_and_lines() -> None:
    terms = "第一条 付款方式:验收后30日内付清。\n\n第二条 争议解决:提交上海仲裁委员会仲裁。"
    doc = documents.contract_document(
        number="SH-2026-000001",
        template_name="销售合同(标准文本)",
        template_version=2,
        customer="cust-1",
        owner="李娜",
        start_date="2026-04-01",
        end_date="2027-03-31",
        currency="CNY",
        lines=[("CRM 座席", Decimal("3"), Decimal("1000.00"), Decimal("10"), Decimal("2700.00"))],
        total=Decimal("2700.00"),
        terms=terms,
        revision=1,
    )
    text = text_of(pdf.render(doc, HEAD)).replace("\n", "")
    for expected in (
        "销售合同(标准文本)",
        "SH-2026-000001",
        "李娜",
        "CRM 座席",
        "2,700.00",
        "第二条 争议解决",
        "Standard template version 2",
    ):
        assert expected in text, expected
