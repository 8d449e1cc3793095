"""The record API of the contract store: a contract's rows map to the ContractRecord use cases
hold, contract and approval-step events are built from domain values, `load` is scoped and
`save_record` writes the domain's changes as the next version and refuses a stale record; an
approval round's start and end travel on the record (SQLite and PostgreSQL)."""

from __future__ import annotations

from dataclasses import replace
import pytest

from salesgrid_common.db import session_factory
from salesgrid_common.errors import Conflict, NotFound
from salesgrid_contracts.domain import approval, contracts
from salesgrid_contracts.domain.attachments import Attachment
from salesgrid_contracts.domain.contract_records import RoundStep
from salesgrid_contracts.domain.money import Money
from salesgrid_contracts.payloads import approval_step, contract_state
from salesgrid_contracts.stores import approvals as approval_store
from salesgrid_contracts.stores import contracts as store
from salesgrid_dev.testing import principal

from contracts_fixtures import NOW, add_products, draft, migrated, placement, rows


def test_a_contracts_rows_map_to_its_record_and_its_events() -> None:
    view = rows(draft())
    view.row.attachments = [store.attachment_json(Attachment("doc-1", "terms.pdf", "application/pdf", 1234, "a" * 64))]
    record = store.record_of(view)
    assert record.contract == draft()
    assert (record.org_path, record.total, record.version, record.approval_kind) == (
        "/c/sz/",
        Money(draft().total.amount, "CNY"),
        1,
        None,
    )
    assert (record.channel, record.partner_id, dict(record.custom_fields)) == (
        "agent",
        "pa-1",
        {"region_code": "SZ-01"},
    )
    assert [a.document_id for a in record.attachments] == ["doc-1"]
    state = contract_state(replace(record, approval_kind="termination", version=4), "why")
    assert (state.number, state.org_path, state.status, state.approval_kind, state.version, state.revision) == (
        "SZ-2026-0001",
        "/c/sz/",
        "draft",
        "termination",
        4,
        1,
    )
    assert state.custom_fields["region_code"] == "SZ-01" and state.partner_id == "pa-1"
    step = approval.ApprovalStep(order=2, role="manager", approver_id="mgr", status=approval.StepStatus.REJECTED)
    event = approval_step(RoundStep("k-1", "SZ-2026-0001", "/c/sz/", "contract", 3, replace(step, comment="no")))
    assert (event.contract_id, event.approval_kind, event.round, event.step_order, event.status, event.comment) == (
        "k-1",
        "contract",
        3,
        2,
        "rejected",
        "no",
    )


async def test_records_load_in_scope_and_save_as_the_next_version(database_url: str) -> None:
    async with migrated(database_url) as engine:
        sessions = session_factory(engine)
        rep = principal("rep-a", "/c/sz/", permissions={"contracts:read": "own", "contracts:update": "own"})
        stranger = principal("rep-b", "/c/bj/", permissions={"contracts:read": "own"})
        async with sessions() as session, session.begin():
            await add_products(session, "p-1", "p-2")
            added = await store.add(session, draft(), **placement())
            assert added.contract == draft() and added.version == 1
        async with sessions() as session, session.begin():
            record = await store.load(session, rep, "k-1", "contracts:update", lock=True, expected_version=1)
            assert record.contract == draft()
            with pytest.raises(NotFound):
                await store.load(session, stranger, "k-1", "contracts:read")
            submitted = contracts.submit_for_approval(record.contract)
            saved = await store.save_record(session, replace(record.with_contract(submitted), custom_fields={"x": "1"}))
            assert saved.version == 2
            with pytest.raises(Conflict):  # the record read before the save is stale
                await store.save_record(session, record)
            flow = approval.start_approval((approval.ApprovalStep(order=1, role="manager", approver_id="mgr"),), NOW)
            started, steps = await approval_store.start_round(session, saved, "termination", flow, NOW)
            assert started.approval_kind == "termination"
            assert [(s.contract_id, s.kind, s.round, s.step.approver_id) for s in steps] == [
                ("k-1", "termination", 1, "mgr")
            ]
        async with sessions() as session, session.begin():
            again = store.record_of(await store.locked_view(session, "k-1"))
            assert (again.version, again.contract) == (2, submitted)
            assert (again.approval_kind, dict(again.custom_fields)) == ("termination", {"x": "1"})
            ended = await approval_store.end_round(session, again)
            assert ended.approval_kind is None
        async with sessions() as session:
            assert (await store.load(session, rep, "k-1", "contracts:read")).approval_kind is None
