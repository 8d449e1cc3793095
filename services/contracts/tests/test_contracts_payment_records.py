"""The receipt, payment-plan, printed-document and revision stores map their rows to domain values
and back: a receipt's row carries every column and reads back with its allocations by instalment;
a plan reads back what each instalment has been paid and the contract's credit; a printed
original reads back what it says and counts its copies; a contract's versions read back as domain
values, the one in force synthesised from its record (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from salesgrid_common.db import session_factory
from salesgrid_contracts import models
from salesgrid_contracts.domain import payments, settlement
from salesgrid_contracts.domain.documents import Letterhead, receipt_document
from salesgrid_contracts.domain.payment_records import ReceiptAllocation
from salesgrid_contracts.stores import contracts as store
from salesgrid_contracts.stores import documents as document_store
from salesgrid_contracts.stores import payments as payment_store
from salesgrid_contracts.stores import receipts as receipt_store
from salesgrid_contracts.stores import revisions as revision_store
from salesgrid_contracts.translate.contracts import contract_pb

from contracts_fixtures import NOW, add_products, cny, migrated, placement, rows, signed


def proposed_revision(total: Decimal, attachments: list[dict[str, str | int]]) -> models.ContractRevision:
    """Revision 2 of the signed contract, proposed: its lines on Net 60."""
    return models.ContractRevision(
        contract_id="k-1",
        revision=2,
        status="proposed",
        start_date=date(2026, 4, 1),
        end_date=date(2027, 3, 31),
        terms="Net 60",
        total=total,
        attachments=attachments,
        lines=[store.line_json(line) for line in signed().lines],
        created_by="rep-a",
        created_at=NOW,
    )


def test_a_receipts_row_carries_every_column_and_reads_back() -> None:
    receipt = payments.Receipt("r-1", date(2026, 4, 2), cny("300"), payments.PaymentMethod.CHEQUE, "CHQ-7")
    row, _ = store.new_row(signed(), **placement())
    record = store.record_of(store.ContractView(row, [], []))
    stored = receipt_store.new_row(receipt, record, "fin-1", NOW)
    assert [c for c in models.ReceiptRow.__table__.columns.keys() if getattr(stored, c) is None] == []
    shares = [
        models.ReceiptAllocationRow(receipt_id="r-1", instalment_seq=2, amount=Decimal("100")),
        models.ReceiptAllocationRow(receipt_id="r-1", instalment_seq=0, amount=Decimal("200")),
    ]
    read = receipt_store.record_of(stored, shares)
    assert (read.receipt, read.contract_id, read.owner_id, read.org_path, read.recorded_by) == (
        receipt,
        "k-1",
        "rep-a",
        "/c/sz/",
        "fin-1",
    )
    assert read.allocations == (ReceiptAllocation(0, cny("200")), ReceiptAllocation(2, cny("100")))


async def test_plans_originals_and_versions_read_back_as_domain_values(database_url: str) -> None:
    async with migrated(database_url) as engine:
        sessions = session_factory(engine)
        async with sessions() as session, session.begin():
            await add_products(session, "p-1")
            record = await store.add(session, signed(), **placement())
            plan = payments.build_payment_plan(
                record.total, date(2026, 4, 1), [(date(2026, 4, 30), cny("400")), (date(2026, 5, 31), cny("500"))]
            )
            await payment_store.replace_plan(session, "k-1", plan)
            receipt = payments.Receipt("r-1", date(2026, 4, 2), cny("1000"), payments.PaymentMethod.CASH, "")
            receipt_store.add(session, receipt, record, "fin-1", NOW)
            await session.flush()
            settled = settlement.settle(plan, [receipt], [], "CNY")
            await payment_store.store_settlement(session, "k-1", settled)
            await receipt_store.store_allocations(session, ["r-1"], settled)
        async with sessions() as session, session.begin():
            record = await store.load_unscoped(session, "k-1")
            stored = await payment_store.plan(session, record)
            assert [(i.seq, i.paid, i.status.value) for i in stored.instalments] == [
                (1, cny("400"), "paid"),
                (2, cny("500"), "paid"),
            ]
            assert stored.credit == cny("100") and stored.currency == "CNY"
            loaded = await receipt_store.load(session, "r-1", lock=True)
            assert loaded is not None and loaded.allocations == (
                ReceiptAllocation(0, cny("100")),
                ReceiptAllocation(1, cny("400")),
                ReceiptAllocation(2, cny("500")),
            )

            document = receipt_document(
                number="SZ-2026-R000001",
                contract_number="SZ-2026-0001",
                payer_name="Acme",
                received_on="2026-04-02",
                amount=Decimal("1000"),
                currency="CNY",
                method="cash",
                reference="",
                received_by="Fin One",
                issued_on="2026-04-02",
            )
            letterhead = Letterhead("Salesgrid Ltd", "1 Road", "123")
            added = document_store.add_original(
                session,
                document,
                letterhead,
                b"%PDF-1.4",
                subject_id="r-1",
                revision=0,
                contract_id="k-1",
                owner_id="rep-a",
                org_path="/c/sz/",
                printed_by="fin-1",
                now=NOW,
            )
            assert (added.document, added.letterhead, added.copies, added.size_bytes) == (document, letterhead, 0, 8)
        async with sessions() as session, session.begin():
            original = await document_store.original(session, document.kind, "r-1", 0)
            assert original == added
            assert (await document_store.count_copy(session, original, NOW)).copies == 1
        async with sessions() as session:
            [listed] = await document_store.of_subject(session, "r-1")
            assert (listed.copies, listed.number, listed.kind) == (1, "SZ-2026-R000001", document.kind)

            [in_force] = await revision_store.versions(session, record)
            assert (in_force.revision, in_force.status, in_force.lines, in_force.total) == (
                1,
                "in_force",
                signed().lines,
                signed().total,
            )
            proposed = proposed_revision(Decimal("1000"), [store.attachment_json(a) for a in record.attachments])
            version = revision_store.version_of(proposed, "CNY")
            assert (version.revision, version.terms, version.lines, version.total) == (
                2,
                "Net 60",
                signed().lines,
                cny("1000"),
            )


def test_what_a_reader_sees_is_mapped_once_and_answered_from_domain_values() -> None:
    agents = rows(signed())
    row, lines = agents.row, agents.lines
    row.credit, row.approval_kind = Decimal("12.5"), "amendment"
    step = models.ApprovalStepRow(
        contract_id="k-1",
        round=1,
        step_order=1,
        kind="amendment",
        role="manager",
        approver_id="mgr",
        status="approved",
        activated_at=NOW,
        decided_at=NOW,
        reminded_at=None,
        comment=None,
    )
    proposed = proposed_revision(Decimal("900"), [])
    detail = store.detail_of(store.ContractView(row, lines, [step], proposed))
    assert (detail.credit, detail.opportunity_id, detail.record.approval_kind) == (cny("12.50"), "o-1", "amendment")
    assert [(s.order, s.role, s.status.value, s.comment) for s in detail.steps] == [(1, "manager", "approved", None)]
    assert detail.proposed is not None and (detail.proposed.revision, detail.proposed.terms) == (2, "Net 60")
    answer = contract_pb(detail)
    assert (answer.credit, answer.opportunity_id, answer.channel, answer.revision, answer.proposed.terms) == (
        "12.50",
        "o-1",
        "agent",
        1,
        "Net 60",
    )
    assert [(line.total, line.unit_price) for line in answer.lines] == [("900.00", "500.00")]
    assert [(s.role, s.status, s.comment) for s in answer.approval_steps] == [("manager", "approved", "")]
    assert answer.custom_fields["region_code"] == "SZ-01" and answer.status == "signed"
