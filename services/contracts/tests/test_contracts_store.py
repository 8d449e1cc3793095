"""The contract, product and approval-rule stores: a new contract's rows read back as the same domain Contract, the rules'
changes (signature, termination request and its withdrawal) go onto the row with the next version,
and loading is scoped and checks the version the caller read -- on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import event, select

from salesgrid_common.db import session_factory
from salesgrid_common.errors import AlreadyExists, Conflict, NotFound, PermissionDenied, ValidationFailed
from salesgrid_contracts import models
from salesgrid_contracts.domain import approval, contracts, payments
from salesgrid_contracts.domain.money import Money
from salesgrid_contracts.payloads import contract_state
from salesgrid_contracts.domain.attachments import ContractTemplate
from salesgrid_contracts.domain.products import Product
from salesgrid_contracts.stores import approvals as approval_store
from salesgrid_contracts.stores import contracts as store
from salesgrid_contracts.stores import receipts as receipt_store
from salesgrid_contracts.stores import products as product_store
from salesgrid_contracts.stores import templates as template_store
from salesgrid_dev.testing import principal

from contracts_fixtures import NOW, add_products, draft, migrated, rows


def test_a_new_contracts_rows_read_back_as_the_same_contract() -> None:
    view = rows(draft())
    assert store.domain_of(view) == draft()
    assert (view.row.total, view.row.version, view.row.opportunity_id) == (draft().total.amount, 1, "o-1")
    state = contract_state(store.record_of(view), "ok")
    assert (state.contract_id, state.total, state.channel, state.comment) == ("k-1", "2100.90", "agent", "ok")


def test_the_rules_changes_go_onto_the_row_with_the_next_version() -> None:
    view = rows(draft())
    requested = replace(
        draft(),
        status=contracts.ContractStatus.SIGNED,
        signed_on=date(2026, 3, 3),
        termination=contracts.TerminationRequest("moved away", "rep-a", NOW),
    )
    store.save(view.row, requested)
    assert view.row.version == 2 and store.domain_of(view) == requested
    store.save(view.row, contracts.reject_termination(requested))
    assert view.row.version == 3
    assert (view.row.termination_reason, view.row.termination_requested_by, view.row.termination_requested_at) == (
        None,
        None,
        None,
    )


async def test_loads_are_scoped_and_check_the_version(database_url: str) -> None:
    async with migrated(database_url) as engine:
        sessions = session_factory(engine)
        rep = principal("rep-a", "/c/sz/", permissions={"contracts:read": "own", "contracts:update": "own"})
        reader = principal("mgr", "/c/", permissions={"contracts:read": "subtree"})
        stranger = principal("rep-b", "/c/bj/", permissions={"contracts:read": "own"})
        async with sessions() as session, session.begin():
            await add_products(session, "p-1", "p-2")
            view = rows(draft())
            session.add(view.row)
            await session.flush()
            session.add_all(view.lines)
        async with sessions() as session, session.begin():
            row = await store.load_in_scope(session, rep, "k-1", "contracts:update", lock=True, expected_version=1)
            assert store.domain_of(await store.view(session, row)) == draft()
            with pytest.raises(Conflict):
                await store.load_in_scope(session, rep, "k-1", "contracts:update", expected_version=2)
            with pytest.raises(NotFound):  # out of scope reads as absent
                await store.load_in_scope(session, stranger, "k-1", "contracts:read")
            with pytest.raises(PermissionDenied):  # seen, but not his to change
                await store.load_in_scope(session, reader, "k-1", "contracts:update")
            [listed] = await store.views(session, [row])
            assert store.domain_of(listed) == draft()


def test_the_product_mapper_writes_every_column_and_reads_back_every_field() -> None:
    product = Product("p-1", "PUMP-1", "Pump", False, {"CNY": Decimal("1000.50"), "JPY": Decimal("21000")}, 3, NOW)
    row = models.Product()
    product_store.to_row(product, row)
    assert [c for c in models.Product.__table__.columns.keys() if getattr(row, c) is None] == []
    assert row.prices == {"CNY": "1000.50", "JPY": "21000"}
    assert product_store.from_row(row) == product


async def test_products_are_saved_versioned_and_loaded_in_one_query(database_url: str) -> None:
    async with migrated(database_url) as engine:
        sessions = session_factory(engine)
        pump = Product("p-1", "PUMP-1", "Pump", True, {"CNY": Decimal("1000.50")}, 1, NOW)
        valve = Product("p-2", "VALVE-1", "Valve", False, {}, 1, NOW)
        async with sessions() as session, session.begin():
            await product_store.insert(session, pump)
            await product_store.insert(session, valve)
        async with sessions() as session, session.begin():
            with pytest.raises(AlreadyExists):
                await product_store.insert(session, replace(pump, product_id="p-3"))
        async with sessions() as session, session.begin():
            assert await product_store.by_ids(session, ["p-2", "p-1", "p-9", ""]) == {"p-1": pump, "p-2": valve}
            assert await product_store.listed(session, include_inactive=False) == [pump]
            saved = await product_store.save(session, replace(pump, name="Big pump"), expected_version=1)
            assert saved.version == 2
            with pytest.raises(Conflict):
                await product_store.save(session, saved, expected_version=1)
        async with sessions() as session:
            assert await product_store.load(session, "p-1") == saved
            with pytest.raises(NotFound):
                await product_store.load(session, "p-9")


async def test_a_page_of_receipts_loads_its_allocations_in_one_query(database_url: str) -> None:
    async with migrated(database_url) as engine:
        sessions = session_factory(engine)
        selects: list[str] = []

        def count(conn, cursor, statement: str, *args: object) -> None:  # type: ignore[no-untyped-def]
            if statement.lstrip().upper().startswith("SELECT") and "receipt_allocations" in statement:
                selects.append(statement)

        async with sessions() as session, session.begin():
            await add_products(session, "p-1", "p-2")
            view = rows(draft())
            session.add(view.row)
            await session.flush()
            receipts = [
                receipt_store.new_row(
                    payments.Receipt(
                        f"r-{i}", date(2026, 4, i), Money(Decimal(100 * i), "CNY"), payments.PaymentMethod.CASH, ""
                    ),
                    store.record_of(view),
                    "rep-a",
                    NOW,
                )
                for i in (1, 2, 3)
            ]
            session.add_all(receipts)
            await session.flush()
            session.add_all(
                [
                    models.ReceiptAllocationRow(receipt_id="r-1", instalment_seq=1, amount=Decimal(100)),
                    models.ReceiptAllocationRow(receipt_id="r-2", instalment_seq=1, amount=Decimal(50)),
                    models.ReceiptAllocationRow(receipt_id="r-2", instalment_seq=0, amount=Decimal(150)),
                ]
            )
        async with sessions() as session:
            stored = list(await session.scalars(select(models.ReceiptRow)))
            event.listen(engine.sync_engine, "before_cursor_execute", count)
            try:
                records = await receipt_store.records(session, sorted(stored, key=lambda r: r.id))
            finally:
                event.remove(engine.sync_engine, "before_cursor_execute", count)
            assert len(selects) == 1  # one query for the page, not one per receipt
            shares = {r.receipt_id: [(a.instalment_seq, a.amount.amount) for a in r.allocations] for r in records}
            assert shares == {"r-1": [(1, Decimal(100))], "r-2": [(0, Decimal(150)), (1, Decimal(50))], "r-3": []}
            assert [r.receipt.amount for r in records] == [
                Money(Decimal(100), "CNY"),
                Money(Decimal(200), "CNY"),
                Money(Decimal(300), "CNY"),
            ]


async def test_template_versions_map_both_ways_and_load_by_version(database_url: str) -> None:
    first = ContractTemplate("std", 1, "Standard", "Net 30", "admin", NOW)
    row = template_store.to_row(first)
    assert [c for c in models.ContractTemplateRow.__table__.columns.keys() if getattr(row, c) is None] == []
    assert template_store.from_row(row) == first
    async with migrated(database_url) as engine:
        sessions = session_factory(engine)
        async with sessions() as session, session.begin():
            assert await template_store.latest(session, "std", lock=True) is None
            template_store.add(session, first)
            template_store.add(session, replace(first, version=2, terms="Net 60"))
        async with sessions() as session:
            assert (await template_store.load(session, "std")).terms == "Net 60"
            assert await template_store.load(session, "std", 1) == first
            assert (await template_store.latest(session, "std")) == replace(first, version=2, terms="Net 60")
            with pytest.raises(ValidationFailed):
                await template_store.load(session, "std", 3)


def test_approval_rules_are_stored_as_thresholds_and_read_back() -> None:
    rules = approval.ApprovalRules(
        "sz",
        (
            approval.ApprovalRule(Money(Decimal("50000"), "CNY"), "manager"),
            approval.ApprovalRule(None, "director"),
        ),
    )
    row = models.ApprovalRuleSet()
    approval_store.rules_to_row(rules, "CNY", "adm-1", NOW, row)
    assert row.thresholds == [{"up_to": "50000.00", "role": "manager"}, {"up_to": None, "role": "director"}]
    assert (row.org_unit_id, row.currency, row.updated_by, row.updated_at) == ("sz", "CNY", "adm-1", NOW)
    assert approval_store.rules_from_row(row) == rules
