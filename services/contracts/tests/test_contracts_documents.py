"""Printed documents through gRPC on SQLite and PostgreSQL: receipts numbered per branch and
(local) year without gaps, concurrent first prints included; reprints marked as copies of the
stored original; contracts printed only from the standard template once approved; scope, the
payer required, and an audited event for every print. Each PDF is read back with pypdf."""

from __future__ import annotations

import asyncio
import hashlib
import io
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

import grpc
import pytest
from pypdf import PdfReader
from salesgrid.contracts.v1 import contracts_pb2 as pb
from salesgrid.contracts.v1 import contracts_pb2_grpc as pb_grpc
from salesgrid.contracts.v1 import documents_pb2 as dpb
from salesgrid.contracts.v1 import documents_pb2_grpc as dpb_grpc
from salesgrid.events.v1.contracts_events_pb2 import ContractsDocumentPrinted
from salesgrid.events.v1.envelope_pb2 import Envelope
from salesgrid.events.v1.customers_events_pb2 import CustomerRecordState
from salesgrid_common.clock import FakeClock
from salesgrid_common.events.consumer import apply_once
from salesgrid_common.events.envelope import EventMeta, build_envelope, unpack
from salesgrid_contracts.customer_names import customer_names_subscription
from salesgrid_common.events.tables import outbox
from salesgrid_contracts.app import DEFINITION, MIGRATIONS, documents_for
from salesgrid_contracts.domain.documents import Letterhead
from salesgrid_contracts.settings import ContractsSettings
from salesgrid_dev.testing import TestKeys, bearer, principal, run_service
from sqlalchemy import select

from contracts_fixtures import BOSS_PERMS, REP_PERMS
from contracts_service_fixtures import failure
from salesgrid_dev.directory_seed import add_unit, add_user, caller, replica

TEAM, BRANCH = "/c/r1/b1/t1/", "/c/r1/b1/"
# user id, org path, display name, manager
PEOPLE = [("rep-1", TEAM, "张伟", "mgr-1"), ("rep-2", TEAM, "王芳", "mgr-1"), ("mgr-1", BRANCH, "李娜", None)]


@dataclass
class World:
    api: pb_grpc.ContractsStub
    docs: dpb_grpc.DocumentsStub
    tokens: dict[str, tuple[tuple[str, str], ...]]
    clock: FakeClock
    running: object


@pytest.fixture
async def world(database_url: str, nats_url: str, test_keys: TestKeys) -> AsyncIterator[World]:
    clock = FakeClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    async with run_service(
        DEFINITION,
        MIGRATIONS,
        database_url,
        nats_url,
        test_keys,
        clock=clock,
        settings_cls=ContractsSettings,
        company_name="上海示范销售有限公司",
        company_address="上海市浦东新区世纪大道100号",
    ) as running:
        async with replica(running) as session:
            for path in (BRANCH, TEAM):
                await add_unit(session, path, path, at=clock())
            for user_id, path, name, manager in PEOPLE:
                role = "rep" if manager else "manager"
                await add_user(
                    session, user_id, path, unit_id=path, manager_id=manager, roles=role, name=name, at=clock()
                )
        tokens = {
            user_id: caller(test_keys, user_id, path, REP_PERMS if manager else BOSS_PERMS, unit_id=path)
            for user_id, path, _name, manager in PEOPLE
        }
        tokens["admin"] = bearer(
            test_keys.token(
                principal(user_id="admin", permissions={"products:create": "all", "products:update": "all"})
            )
        )
        yield World(
            pb_grpc.ContractsStub(running.channel), dpb_grpc.DocumentsStub(running.channel), tokens, clock, running
        )


def text_of(content: bytes) -> str:
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


async def approved_contract(w: World, branch: str = "SH", template: bool = True, sign: bool = True) -> pb.Contract:
    if template:
        await w.api.SetContractTemplate(
            pb.SetContractTemplateRequest(
                template_id="standard", name="销售合同(标准文本)", terms="第一条 验收后30日内付清。"
            ),
            metadata=w.tokens["admin"],
        )
    product = await w.api.CreateProduct(
        pb.CreateProductRequest(
            sku=f"SKU-{branch}-{template}-{sign}",
            name="CRM 座席",
            prices=[pb.ProductPrice(currency="CNY", amount="1000.00")],
        ),
        metadata=w.tokens["admin"],
    )
    contract = await w.api.CreateContract(
        pb.CreateContractRequest(
            customer_id="cust-1",
            branch_code=branch,
            currency="CNY",
            start_date="2026-04-01",
            end_date="2027-03-31",
            template_id="standard" if template else "",
            lines=[pb.ContractLineInput(product_id=product.id, quantity="3")],
        ),
        metadata=w.tokens["rep-1"],
    )
    await w.api.SubmitContract(pb.ContractActionRequest(id=contract.id), metadata=w.tokens["rep-1"])
    approved = await w.api.ApproveContract(pb.ContractDecisionRequest(id=contract.id), metadata=w.tokens["mgr-1"])
    if not sign:
        return approved
    return await w.api.SignContract(pb.SignContractRequest(id=contract.id), metadata=w.tokens["rep-1"])


async def receipt(w: World, contract: pb.Contract, amount: str = "1200.50") -> pb.Receipt:
    return await w.api.RecordReceipt(
        pb.RecordReceiptRequest(contract_id=contract.id, amount=amount, method="bank_transfer", reference="TX-1"),
        metadata=w.tokens["rep-1"],
    )


async def printed_events(w: World) -> list[ContractsDocumentPrinted]:
    async with w.running.app.ctx.sessions() as session:  # type: ignore[attr-defined]
        rows = (await session.execute(select(outbox.c.envelope).order_by(outbox.c.event_id))).all()
    envelopes = [Envelope.FromString(r.envelope) for r in rows]
    return [
        ContractsDocumentPrinted.FromString(e.payload)
        for e in envelopes
        if e.type == "salesgrid.contracts.document.printed"
    ]


async def test_receipts_are_numbered_documents_and_reprints_are_copies(world: World) -> None:
    w = world
    contract = await approved_contract(w)
    first, second = await receipt(w, contract, "1200.50"), await receipt(w, contract, "800.00")

    code, fields = await failure(
        w.docs.PrintReceipt(dpb.PrintReceiptRequest(receipt_id=first.id), metadata=w.tokens["rep-1"])
    )
    assert (code, fields) == (grpc.StatusCode.INVALID_ARGUMENT, ["payer_name"])
    # another rep's receipt is not there for him; a manager who may read it may not issue it
    code, _ = await failure(
        w.docs.PrintReceipt(dpb.PrintReceiptRequest(receipt_id=first.id, payer_name="x"), metadata=w.tokens["rep-2"])
    )
    assert code == grpc.StatusCode.NOT_FOUND
    code, _ = await failure(
        w.docs.PrintReceipt(dpb.PrintReceiptRequest(receipt_id=first.id, payer_name="x"), metadata=w.tokens["mgr-1"])
    )
    assert code == grpc.StatusCode.PERMISSION_DENIED
    assert await printed_events(w) == []  # refused prints allocate nothing and print nothing

    original = await w.docs.PrintReceipt(
        dpb.PrintReceiptRequest(receipt_id=first.id, payer_name="杭州星辰科技有限公司"), metadata=w.tokens["rep-1"]
    )
    assert (original.document.number, original.copy_number) == ("SH-2026-R000001", 0)
    text = text_of(original.content)
    for expected in (
        "SH-2026-R000001",
        contract.number,
        "CNY 1,200.50",
        "杭州星辰科技有限公司",
        "张伟",
        "上海示范销售有限公司",
        "上海市浦东新区世纪大道100号",
    ):
        assert expected in text, expected
    assert "COPY" not in text

    other = await w.docs.PrintReceipt(
        dpb.PrintReceiptRequest(receipt_id=second.id, payer_name="杭州星辰"), metadata=w.tokens["rep-1"]
    )
    assert other.document.number == "SH-2026-R000002"
    copy = await w.docs.PrintReceipt(
        dpb.PrintReceiptRequest(receipt_id=first.id, payer_name="someone else"), metadata=w.tokens["rep-1"]
    )
    assert (copy.document.number, copy.copy_number, copy.document.id) == ("SH-2026-R000001", 1, original.document.id)
    copy_text = text_of(copy.content)
    assert "副本 COPY 1" in copy_text and "杭州星辰科技有限公司" in copy_text and "someone else" not in copy_text
    assert "CNY 1,200.50" in copy_text

    listed = await w.docs.ListDocuments(dpb.ListDocumentsRequest(subject_id=first.id), metadata=w.tokens["mgr-1"])
    assert [(d.number, d.copies, d.sha256) for d in listed.documents] == [
        ("SH-2026-R000001", 1, hashlib.sha256(original.content).hexdigest())
    ]
    hidden = await w.docs.ListDocuments(dpb.ListDocumentsRequest(subject_id=first.id), metadata=w.tokens["rep-2"])
    assert list(hidden.documents) == []

    events = await printed_events(w)
    assert [(e.number, e.copy_number, e.printed_by, e.kind) for e in events] == [
        ("SH-2026-R000001", 0, "rep-1", "receipt"),
        ("SH-2026-R000002", 0, "rep-1", "receipt"),
        ("SH-2026-R000001", 1, "rep-1", "receipt"),
    ]


async def test_receipt_numbers_have_no_gaps_per_branch_and_local_year(world: World) -> None:
    w = world
    sh, bj = await approved_contract(w, "SH"), await approved_contract(w, "BJ", template=False)
    receipts = [await receipt(w, sh, "10.00") for _ in range(5)]
    printed = await asyncio.gather(
        *(
            w.docs.PrintReceipt(
                dpb.PrintReceiptRequest(receipt_id=r.id, payer_name="付款人"), metadata=w.tokens["rep-1"]
            )
            for r in receipts
        )
    )
    assert sorted(p.document.number for p in printed) == [f"SH-2026-R00000{i}" for i in range(1, 6)]
    in_bj = await w.docs.PrintReceipt(
        dpb.PrintReceiptRequest(receipt_id=(await receipt(w, bj)).id, payer_name="甲"), metadata=w.tokens["rep-1"]
    )
    assert in_bj.document.number == "BJ-2026-R000001"
    # 16:30 UTC on 31 December is already 1 January in Shanghai: the branch's new year starts at 1
    w.clock.advance(datetime(2026, 12, 31, 16, 30, tzinfo=UTC) - w.clock())
    late = await w.docs.PrintReceipt(
        dpb.PrintReceiptRequest(receipt_id=(await receipt(w, sh)).id, payer_name="乙"), metadata=w.tokens["rep-1"]
    )
    assert late.document.number == "SH-2027-R000001"


async def test_contracts_print_from_the_standard_template_once_approved(world: World) -> None:
    w = world
    plain = await approved_contract(w, template=False)
    code, fields = await failure(
        w.docs.PrintContract(dpb.PrintContractRequest(contract_id=plain.id), metadata=w.tokens["rep-1"])
    )
    assert (code, fields) == (grpc.StatusCode.FAILED_PRECONDITION, ["template_id"])

    await w.api.SetContractTemplate(
        pb.SetContractTemplateRequest(
            template_id="standard", name="销售合同(标准文本)", terms="第一条 验收后30日内付清。"
        ),
        metadata=w.tokens["admin"],
    )
    product = await w.api.CreateProduct(
        pb.CreateProductRequest(
            sku="DRAFT-1", name="CRM 座席", prices=[pb.ProductPrice(currency="CNY", amount="1000.00")]
        ),
        metadata=w.tokens["admin"],
    )
    draft = await w.api.CreateContract(
        pb.CreateContractRequest(
            customer_id="cust-1",
            branch_code="SH",
            currency="CNY",
            start_date="2026-04-01",
            end_date="2027-03-31",
            template_id="standard",
            lines=[pb.ContractLineInput(product_id=product.id)],
        ),
        metadata=w.tokens["rep-1"],
    )
    code, fields = await failure(
        w.docs.PrintContract(dpb.PrintContractRequest(contract_id=draft.id), metadata=w.tokens["rep-1"])
    )
    assert (code, fields) == (grpc.StatusCode.FAILED_PRECONDITION, ["status"])

    contract = await approved_contract(w, sign=False)
    original = await w.docs.PrintContract(
        dpb.PrintContractRequest(contract_id=contract.id), metadata=w.tokens["mgr-1"]
    )  # a manager over the rep prints it
    assert (original.document.number, original.copy_number, original.document.revision) == (contract.number, 0, 1)
    text = text_of(original.content)
    for expected in (
        "销售合同(标准文本)",
        contract.number,
        "第一条 验收后30日内付清。",
        "CRM 座席",
        "3,000.00",
        "张伟",
        "上海示范销售有限公司",
    ):
        assert expected in text, expected
    assert "COPY" not in text
    again = await w.docs.PrintContract(dpb.PrintContractRequest(contract_id=contract.id), metadata=w.tokens["rep-1"])
    assert again.copy_number == 1 and "副本 COPY 1" in text_of(again.content)
    code, _ = await failure(
        w.docs.PrintContract(dpb.PrintContractRequest(contract_id=contract.id), metadata=w.tokens["rep-2"])
    )
    assert code == grpc.StatusCode.NOT_FOUND
    assert [(e.kind, e.subject_id, e.copy_number) for e in await printed_events(w)] == [
        ("contract", contract.id, 0),
        ("contract", contract.id, 1),
    ]


async def test_documents_name_the_customer_from_customers_events(world: World) -> None:
    w = world
    sub = customer_names_subscription()
    for version, name in ((2, "杭州星辰科技有限公司"), (1, "旧名称有限公司")):  # the older state arrives late
        envelope = build_envelope(
            "salesgrid.customers.customer.updated",
            "customers",
            CustomerRecordState(customer_id="cust-1", legal_name=name, version=version),
            EventMeta(aggregate_id="cust-1", org_path=TEAM),
            w.clock(),
            aggregate_version=version,
        )
        route = sub.route(envelope.type)
        assert route is not None and route[0] is not None
        await apply_once(
            w.running.app.ctx.sessions,
            sub.name,
            envelope,
            route[1],  # type: ignore[attr-defined]
            unpack(envelope, route[0]),
        )
    contract = await approved_contract(w)
    printed = await w.docs.PrintContract(dpb.PrintContractRequest(contract_id=contract.id), metadata=w.tokens["rep-1"])
    assert "杭州星辰科技有限公司" in text_of(printed.content)
    paid = await w.docs.PrintReceipt(
        dpb.PrintReceiptRequest(receipt_id=(await receipt(w, contract)).id), metadata=w.tokens["rep-1"]
    )  # no payer stated: the customer paid
    text = text_of(paid.content)
    assert "杭州星辰科技有限公司" in text and "旧名称有限公司" not in text


async def test_copies_keep_the_originals_letterhead_and_each_revision_has_its_original(world: World) -> None:
    w = world
    contract = await approved_contract(w)
    paid = await receipt(w, contract)
    await w.docs.PrintReceipt(dpb.PrintReceiptRequest(receipt_id=paid.id, payer_name="甲"), metadata=w.tokens["rep-1"])
    first = await w.docs.PrintContract(dpb.PrintContractRequest(contract_id=contract.id), metadata=w.tokens["rep-1"])
    # the company renames itself: new originals carry the new name, copies the one they copy
    documents_for(w.running.app.ctx).letterhead = Letterhead("新名称集团有限公司")  # type: ignore[attr-defined]
    copy = await w.docs.PrintReceipt(dpb.PrintReceiptRequest(receipt_id=paid.id), metadata=w.tokens["rep-1"])
    assert copy.copy_number == 1 and "上海示范销售有限公司" in text_of(copy.content)
    assert "新名称集团有限公司" not in text_of(copy.content)

    amended = await w.api.AmendContract(
        pb.AmendContractRequest(
            id=contract.id, lines=[pb.ContractLineInput(product_id=contract.lines[0].product_id, quantity="5")]
        ),
        metadata=w.tokens["rep-1"],
    )
    assert amended.proposed.revision == 2
    # while the amendment waits, the version in force is what prints (a copy of its original)
    waiting = await w.docs.PrintContract(dpb.PrintContractRequest(contract_id=contract.id), metadata=w.tokens["rep-1"])
    assert (waiting.document.revision, waiting.copy_number) == (1, 1)
    await w.api.ApproveContract(pb.ContractDecisionRequest(id=contract.id), metadata=w.tokens["mgr-1"])
    second = await w.docs.PrintContract(dpb.PrintContractRequest(contract_id=contract.id), metadata=w.tokens["rep-1"])
    assert (second.document.revision, second.copy_number, second.document.number) == (2, 0, contract.number)
    assert second.document.id != first.document.id
    text = text_of(second.content)
    assert "5,000.00" in text and "新名称集团有限公司" in text and "COPY" not in text
    listed = await w.docs.ListDocuments(dpb.ListDocumentsRequest(subject_id=contract.id), metadata=w.tokens["rep-1"])
    assert [(d.revision, d.copies) for d in listed.documents] == [(1, 1), (2, 0)]
