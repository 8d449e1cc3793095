"""Contract documents through the contracts service's gRPC API on SQLite and PostgreSQL: the
standard template's versions and default terms, and attachments changed on drafts and through
amendments."""

from __future__ import annotations

import grpc
from salesgrid.contracts.v1 import contracts_pb2 as pb

from contracts_service_fixtures import Platform, failure, new_contract
from contracts_service_fixtures import platform  # noqa: F401 - fixtures


def doc(document_id: str, digit: str = "a") -> pb.AttachmentRef:
    return pb.AttachmentRef(
        document_id=document_id,
        file_name=f"{document_id}.pdf",
        content_type="application/pdf",
        size_bytes=2048,
        sha256=digit * 64,
    )


async def test_standard_template_versions_and_default_terms(platform: Platform) -> None:
    p = platform
    code, fields = await failure(
        p.api.SetContractTemplate(
            pb.SetContractTemplateRequest(template_id="standard", name="Standard", terms="  "),
            metadata=p.tokens["admin"],
        )
    )
    assert (code, fields) == (grpc.StatusCode.INVALID_ARGUMENT, ["terms"])
    code, _ = await failure(
        p.api.SetContractTemplate(
            pb.SetContractTemplateRequest(template_id="standard", name="Standard", terms="Net 30"),
            metadata=p.tokens["rep-1"],
        )
    )
    assert code == grpc.StatusCode.PERMISSION_DENIED
    first = await p.api.SetContractTemplate(
        pb.SetContractTemplateRequest(template_id="standard", name="Standard", terms="Net 30"),
        metadata=p.tokens["admin"],
    )
    second = await p.api.SetContractTemplate(
        pb.SetContractTemplateRequest(template_id="standard", name="Standard 2026", terms="Net 45"),
        metadata=p.tokens["admin"],
    )
    assert (first.version, second.version) == (1, 2)
    old = await p.api.GetContractTemplate(
        pb.GetContractTemplateRequest(template_id="standard", version=1), metadata=p.tokens["rep-1"]
    )
    assert (old.version, old.terms) == (1, "Net 30")

    product = await p.api.CreateProduct(
        pb.CreateProductRequest(sku="TPL-1", name="Seat", prices=[pb.ProductPrice(currency="CNY", amount="10.00")]),
        metadata=p.tokens["admin"],
    )
    base = dict(
        customer_id="cust-1",
        branch_code="SH",
        currency="CNY",
        start_date="2026-04-01",
        end_date="2027-03-31",
        lines=[pb.ContractLineInput(product_id=product.id)],
    )
    # Terms default from the template's latest version, which the contract records.
    defaulted = await p.api.CreateContract(
        pb.CreateContractRequest(template_id="standard", **base), metadata=p.tokens["rep-1"]
    )
    assert (defaulted.terms, defaulted.template_id, defaulted.template_version) == ("Net 45", "standard", 2)
    own = await p.api.CreateContract(
        pb.CreateContractRequest(template_id="standard", terms="Net 10", **base), metadata=p.tokens["rep-1"]
    )
    assert (own.terms, own.template_version) == ("Net 10", 2)
    plain = await p.api.CreateContract(pb.CreateContractRequest(**base), metadata=p.tokens["rep-1"])
    assert (plain.terms, plain.template_id, plain.template_version) == ("", "", 0)
    # An unknown template is named and nothing is written.
    code, fields = await failure(
        p.api.CreateContract(pb.CreateContractRequest(template_id="nope", **base), metadata=p.tokens["rep-1"])
    )
    assert (code, fields) == (grpc.StatusCode.INVALID_ARGUMENT, ["template_id"])
    listed = await p.api.ListContracts(pb.ListContractsRequest(), metadata=p.tokens["rep-1"])
    assert len(listed.contracts) == 3
    code, _ = await failure(
        p.api.GetContractTemplate(pb.GetContractTemplateRequest(template_id="nope"), metadata=p.tokens["rep-1"])
    )
    assert code == grpc.StatusCode.NOT_FOUND


async def test_attachments_change_on_drafts_and_through_amendments(platform: Platform) -> None:
    p = platform
    contract = await new_contract(p, price="20000.00")
    rep = p.tokens["rep-1"]

    def add(ref: pb.AttachmentRef, version: int = 0):  # type: ignore[no-untyped-def]
        return p.api.AddAttachment(
            pb.AddAttachmentRequest(contract_id=contract.id, attachment=ref, expected_version=version), metadata=rep
        )

    bad = doc("quote")
    bad.size_bytes, bad.sha256, bad.content_type = 0, "xyz", "pdf"
    code, fields = await failure(add(bad))
    assert (code, fields) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        ["attachment.content_type", "attachment.size_bytes", "attachment.sha256"],
    )
    first = await add(doc("quote"), contract.version)
    assert [(a.document_id, a.size_bytes, a.sha256) for a in first.attachments] == [("quote", 2048, "a" * 64)]
    code, _ = await failure(add(doc("quote", "b")))
    assert code == grpc.StatusCode.ALREADY_EXISTS
    code, _ = await failure(add(doc("drawing"), contract.version))
    assert code == grpc.StatusCode.ABORTED  # stale version
    await add(doc("drawing"))
    code, fields = await failure(
        p.api.RemoveAttachment(pb.RemoveAttachmentRequest(contract_id=contract.id, document_id="nope"), metadata=rep)
    )
    assert (code, fields) == (grpc.StatusCode.NOT_FOUND, ["document_id"])
    removed = await p.api.RemoveAttachment(
        pb.RemoveAttachmentRequest(contract_id=contract.id, document_id="drawing"), metadata=rep
    )
    assert [a.document_id for a in removed.attachments] == ["quote"]
    code, _ = await failure(
        p.api.AddAttachment(
            pb.AddAttachmentRequest(contract_id=contract.id, attachment=doc("x")), metadata=p.tokens["rep-2"]
        )
    )
    assert code == grpc.StatusCode.NOT_FOUND  # another rep's contract

    # Past the draft, attachments change only through an (approved) amendment.
    await p.api.SubmitContract(pb.ContractActionRequest(id=contract.id), metadata=rep)
    await p.api.ApproveContract(pb.ContractDecisionRequest(id=contract.id), metadata=p.tokens["mgr-1"])
    await p.api.SignContract(pb.SignContractRequest(id=contract.id), metadata=rep)
    code, fields = await failure(add(doc("late")))
    assert (code, fields) == (grpc.StatusCode.FAILED_PRECONDITION, ["status"])
    code, fields = await failure(
        p.api.AmendContract(
            pb.AmendContractRequest(
                id=contract.id, set_attachments=True, attachments=[doc("signed"), doc("signed", "c")]
            ),
            metadata=rep,
        )
    )
    assert (code, fields) == (grpc.StatusCode.INVALID_ARGUMENT, ["attachments[1].document_id"])
    proposed = await p.api.AmendContract(
        pb.AmendContractRequest(id=contract.id, set_attachments=True, attachments=[doc("quote"), doc("signed", "c")]),
        metadata=rep,
    )
    assert [a.document_id for a in proposed.proposed.attachments] == ["quote", "signed"]
    assert [a.document_id for a in proposed.attachments] == ["quote"]  # in force until approved
    amended = await p.api.ApproveContract(pb.ContractDecisionRequest(id=contract.id), metadata=p.tokens["mgr-1"])
    assert [a.document_id for a in amended.attachments] == ["quote", "signed"]
    versions = await p.api.ListContractVersions(pb.GetContractRequest(id=contract.id), metadata=rep)
    assert [(v.status, [a.document_id for a in v.attachments]) for v in versions.versions] == [
        ("superseded", ["quote"]),
        ("in_force", ["quote", "signed"]),
    ]
