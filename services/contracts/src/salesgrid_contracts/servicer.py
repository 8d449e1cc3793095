"""Thin gRPC servicer: proto ↔ use case translation, nothing else."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

import grpc

from salesgrid.contracts.v1 import contracts_pb2 as pb
from salesgrid.contracts.v1 import contracts_pb2_grpc as pb_grpc
from salesgrid_common.auth import caller
from salesgrid_common.custom_fields.structs import struct_of, values_from
from salesgrid_common.protos import to_timestamp
from salesgrid_contracts import models
from salesgrid_contracts.domain.approval import ApprovalRules
from salesgrid_contracts.domain.contracts import line_total
from salesgrid_contracts.domain.money import Money
from salesgrid_contracts.domain.receivables import AgeingBucket
from salesgrid_contracts.usecases import (
    AttachmentInput,
    ContractsUseCases,
    ContractView,
    LineInput,
    PlanView,
    ReceiptView,
)

Context = grpc.aio.ServicerContext


def product_pb(row: models.Product) -> pb.Product:
    return pb.Product(
        id=row.id,
        sku=row.sku,
        name=row.name,
        active=row.active,
        version=row.version,
        prices=[pb.ProductPrice(currency=c, amount=a) for c, a in sorted(row.prices.items())],
    )


def _line_pb(line: dict[str, str], currency: str) -> pb.ContractLine:
    price, quantity, discount = (
        Money(Decimal(line["unit_price"]), currency),
        Decimal(line["quantity"]),
        Decimal(line["discount_percent"]),
    )
    return pb.ContractLine(
        product_id=line["product_id"],
        description=line["description"],
        quantity=str(quantity),
        unit_price=str(price.amount),
        discount_percent=str(discount),
        total=str(line_total(quantity, price, discount).amount),
    )


def attachments_pb(stored: list[dict[str, str | int]]) -> list[pb.AttachmentRef]:
    return [
        pb.AttachmentRef(
            document_id=str(a["document_id"]),
            file_name=str(a["file_name"]),
            content_type=str(a["content_type"]),
            size_bytes=int(a["size_bytes"]),
            sha256=str(a["sha256"]),
        )
        for a in stored
    ]


def attachment_inputs(refs: Iterable[pb.AttachmentRef]) -> list[AttachmentInput]:
    return [(a.document_id, a.file_name, a.content_type, a.size_bytes, a.sha256) for a in refs]


def template_pb(row: models.ContractTemplateRow) -> pb.ContractTemplate:
    return pb.ContractTemplate(
        template_id=row.template_id,
        version=row.version,
        name=row.name,
        terms=row.terms,
        updated_by=row.created_by,
        created_at=to_timestamp(row.created_at),
    )


def version_pb(row: models.ContractRevision, currency: str) -> pb.ContractVersion:
    return pb.ContractVersion(
        revision=row.revision,
        status=row.status,
        start_date=row.start_date.isoformat(),
        end_date=row.end_date.isoformat(),
        terms=row.terms,
        lines=[_line_pb(line, currency) for line in row.lines],
        total=str(Money(row.total, currency).amount),
        created_by=row.created_by,
        created_at=to_timestamp(row.created_at),
        attachments=attachments_pb(row.attachments),
    )


def refund_pb(row: models.RefundRow) -> pb.Refund:
    return pb.Refund(
        id=row.id,
        contract_id=row.contract_id,
        refunded_on=row.refunded_on.isoformat(),
        amount=str(Money(row.amount, row.currency).amount),
        currency=row.currency,
        reason=row.reason,
    )


def invoice_pb(row: models.InvoiceRow) -> pb.Invoice:
    return pb.Invoice(
        id=row.id,
        contract_id=row.contract_id,
        number=row.number,
        amount=str(Money(row.amount, row.currency).amount),
        currency=row.currency,
        issued_on=row.issued_on.isoformat(),
        status=row.status,
    )


def contract_pb(view: ContractView) -> pb.Contract:
    row = view.row
    lines = [
        pb.ContractLine(
            product_id=line.product_id,
            description=line.description,
            quantity=str(line.quantity),
            unit_price=str(Money(line.unit_price, row.currency).amount),
            discount_percent=str(line.discount_percent),
            total=str(line_total(line.quantity, Money(line.unit_price, row.currency), line.discount_percent).amount),
        )
        for line in view.lines
    ]
    steps = [
        pb.ApprovalStep(
            order=s.step_order,
            role=s.role,
            approver_id=s.approver_id,
            status=s.status,
            comment=s.comment or "",
            decided_at=to_timestamp(s.decided_at),
        )
        for s in view.steps
    ]
    return pb.Contract(
        id=row.id,
        number=row.number,
        customer_id=row.customer_id,
        owner_id=row.owner_id,
        org_path=row.org_path,
        currency=row.currency,
        start_date=row.start_date.isoformat(),
        end_date=row.end_date.isoformat(),
        terms=row.terms,
        status=row.status,
        lines=lines,
        total=str(Money(row.total, row.currency).amount),
        signed_on=row.signed_on.isoformat() if row.signed_on else "",
        approval_kind=row.approval_kind or "",
        approval_steps=steps,
        termination_reason=row.termination_reason or "",
        credit=str(Money(row.credit, row.currency).amount),
        version=row.version,
        created_at=to_timestamp(row.created_at),
        revision=row.revision,
        opportunity_id=row.opportunity_id or "",
        attachments=attachments_pb(row.attachments),
        template_id=row.template_id or "",
        template_version=row.template_version or 0,
        channel=row.channel or "direct",
        partner_id=row.partner_id or "",
        proposed=version_pb(view.proposed, row.currency) if view.proposed else None,
        custom_fields=struct_of(row.custom_fields),
    )


def plan_pb(view: PlanView) -> pb.PaymentPlan:
    currency = view.contract.currency
    items = []
    for i in view.instalments:
        status = "unpaid" if i.paid == 0 else ("paid" if i.paid == i.amount else "partially_paid")
        items.append(
            pb.Instalment(
                seq=i.seq,
                due_date=i.due_date.isoformat(),
                amount=str(Money(i.amount, currency).amount),
                paid=str(Money(i.paid, currency).amount),
                status=status,
            )
        )
    return pb.PaymentPlan(
        contract_id=view.contract.id,
        currency=currency,
        instalments=items,
        credit=str(Money(view.contract.credit, currency).amount),
    )


def receipt_pb(view: ReceiptView) -> pb.Receipt:
    row = view.row
    return pb.Receipt(
        id=row.id,
        contract_id=row.contract_id,
        received_on=row.received_on.isoformat(),
        amount=str(Money(row.amount, row.currency).amount),
        currency=row.currency,
        method=row.method,
        reference=row.reference,
        allocations=[
            pb.ReceiptAllocation(instalment_seq=a.instalment_seq, amount=str(Money(a.amount, row.currency).amount))
            for a in sorted(view.allocations, key=lambda a: a.instalment_seq)
        ],
    )


def rules_pb(rules: ApprovalRules) -> pb.ApprovalRules:
    return pb.ApprovalRules(
        org_unit_id=rules.org_unit_id,
        currency=rules.currency or "",
        thresholds=[
            pb.ApprovalThreshold(up_to=str(r.up_to.amount) if r.up_to else "", role=r.role) for r in rules.rules
        ],
    )


class ContractsServicer(pb_grpc.ContractsServicer):
    def __init__(self, usecases: ContractsUseCases) -> None:
        self.uc = usecases

    async def CreateProduct(self, request: pb.CreateProductRequest, context: Context) -> pb.Product:
        return product_pb(
            await self.uc.create_product(
                caller(), request.sku, request.name, [(p.currency, p.amount) for p in request.prices]
            )
        )

    async def UpdateProduct(self, request: pb.UpdateProductRequest, context: Context) -> pb.Product:
        return product_pb(
            await self.uc.update_product(
                caller(),
                request.id,
                request.expected_version,
                name=request.name if request.HasField("name") else None,
                prices=[(p.currency, p.amount) for p in request.prices] if request.set_prices else None,
                active=request.active if request.HasField("active") else None,
            )
        )

    async def ListProducts(self, request: pb.ListProductsRequest, context: Context) -> pb.ListProductsResponse:
        rows = await self.uc.list_products(caller(), request.include_inactive)
        return pb.ListProductsResponse(products=[product_pb(r) for r in rows])

    async def CreateContract(self, request: pb.CreateContractRequest, context: Context) -> pb.Contract:
        lines = [
            LineInput(line.product_id, line.quantity, line.unit_price, line.discount_percent, line.description)
            for line in request.lines
        ]
        return contract_pb(
            await self.uc.create_contract(
                caller(),
                customer_id=request.customer_id,
                branch_code=request.branch_code,
                currency=request.currency,
                start_date=request.start_date,
                end_date=request.end_date,
                terms=request.terms,
                lines=lines,
                opportunity_id=request.opportunity_id,
                template_id=request.template_id,
                attachment_refs=attachment_inputs(request.attachments),
                custom_fields=values_from(request),
                channel=request.channel,
                partner_id=request.partner_id,
            )
        )

    async def GetContract(self, request: pb.GetContractRequest, context: Context) -> pb.Contract:
        return contract_pb(await self.uc.get_contract(caller(), request.id))

    async def ListContracts(self, request: pb.ListContractsRequest, context: Context) -> pb.ListContractsResponse:
        page = await self.uc.list_contracts(
            caller(),
            request.customer_id,
            request.status,
            request.page_size,
            request.cursor,
            dict(request.custom_fields),
        )
        return pb.ListContractsResponse(contracts=[contract_pb(v) for v in page.items], next_cursor=page.next_token)

    async def UpdateContractCustomFields(
        self, request: pb.UpdateContractCustomFieldsRequest, context: Context
    ) -> pb.Contract:
        return contract_pb(
            await self.uc.update_custom_fields(caller(), request.id, request.expected_version, values_from(request))
        )

    async def SubmitContract(self, request: pb.ContractActionRequest, context: Context) -> pb.Contract:
        return contract_pb(await self.uc.submit(caller(), request.id, request.expected_version))

    async def ApproveContract(self, request: pb.ContractDecisionRequest, context: Context) -> pb.Contract:
        return contract_pb(
            await self.uc.decide(
                caller(), request.id, approve=True, comment=request.comment, expected_version=request.expected_version
            )
        )

    async def RejectContract(self, request: pb.ContractDecisionRequest, context: Context) -> pb.Contract:
        return contract_pb(
            await self.uc.decide(
                caller(), request.id, approve=False, comment=request.comment, expected_version=request.expected_version
            )
        )

    async def SignContract(self, request: pb.SignContractRequest, context: Context) -> pb.Contract:
        return contract_pb(await self.uc.sign(caller(), request.id, request.signed_on, request.expected_version))

    async def TerminateContract(self, request: pb.TerminateContractRequest, context: Context) -> pb.Contract:
        return contract_pb(
            await self.uc.request_termination(caller(), request.id, request.reason, request.expected_version)
        )

    async def AmendContract(self, request: pb.AmendContractRequest, context: Context) -> pb.Contract:
        lines = [
            LineInput(line.product_id, line.quantity, line.unit_price, line.discount_percent, line.description)
            for line in request.lines
        ]
        return contract_pb(
            await self.uc.amend(
                caller(),
                request.id,
                lines=lines,
                start_date=request.start_date,
                end_date=request.end_date,
                terms=request.terms if request.HasField("terms") else None,
                expected_version=request.expected_version,
                attachment_refs=attachment_inputs(request.attachments) if request.set_attachments else None,
            )
        )

    async def ListContractVersions(self, request: pb.GetContractRequest, context: Context) -> pb.ContractVersions:
        rows = await self.uc.list_versions(caller(), request.id)
        contract = await self.uc.get_contract(caller(), request.id)
        return pb.ContractVersions(
            contract_id=request.id, versions=[version_pb(r, contract.row.currency) for r in rows]
        )

    async def ActivateContract(self, request: pb.ContractActionRequest, context: Context) -> pb.Contract:
        return contract_pb(await self.uc.activate(caller(), request.id, request.expected_version))

    async def CompleteContract(self, request: pb.ContractActionRequest, context: Context) -> pb.Contract:
        return contract_pb(await self.uc.complete(caller(), request.id, request.expected_version))

    async def SetPaymentPlan(self, request: pb.SetPaymentPlanRequest, context: Context) -> pb.PaymentPlan:
        return plan_pb(
            await self.uc.set_payment_plan(
                caller(), request.contract_id, [(i.due_date, i.amount) for i in request.instalments]
            )
        )

    async def GetPaymentPlan(self, request: pb.GetPaymentPlanRequest, context: Context) -> pb.PaymentPlan:
        return plan_pb(await self.uc.get_payment_plan(caller(), request.contract_id))

    async def RecordReceipt(self, request: pb.RecordReceiptRequest, context: Context) -> pb.Receipt:
        return receipt_pb(
            await self.uc.record_receipt(
                caller(),
                contract_id=request.contract_id,
                received_on=request.received_on,
                amount=request.amount,
                method=request.method,
                reference=request.reference,
            )
        )

    async def ListReceipts(self, request: pb.ListReceiptsRequest, context: Context) -> pb.ListReceiptsResponse:
        page = await self.uc.list_receipts(caller(), request.contract_id, request.page_size, request.cursor)
        return pb.ListReceiptsResponse(receipts=[receipt_pb(v) for v in page.items], next_cursor=page.next_token)

    async def RecordRefund(self, request: pb.RecordRefundRequest, context: Context) -> pb.Refund:
        return refund_pb(
            await self.uc.record_refund(
                caller(),
                contract_id=request.contract_id,
                refunded_on=request.refunded_on,
                amount=request.amount,
                reason=request.reason,
            )
        )

    async def ListRefunds(self, request: pb.ListRefundsRequest, context: Context) -> pb.ListRefundsResponse:
        page = await self.uc.list_refunds(caller(), request.contract_id, request.page_size, request.cursor)
        return pb.ListRefundsResponse(refunds=[refund_pb(r) for r in page.items], next_cursor=page.next_token)

    async def IssueInvoice(self, request: pb.IssueInvoiceRequest, context: Context) -> pb.Invoice:
        return invoice_pb(
            await self.uc.issue_invoice(
                caller(),
                contract_id=request.contract_id,
                number=request.number,
                amount=request.amount,
                issued_on=request.issued_on,
            )
        )

    async def ListInvoices(self, request: pb.ListInvoicesRequest, context: Context) -> pb.ListInvoicesResponse:
        page = await self.uc.list_invoices(caller(), request.contract_id, request.page_size, request.cursor)
        return pb.ListInvoicesResponse(invoices=[invoice_pb(r) for r in page.items], next_cursor=page.next_token)

    async def GetReceivables(self, request: pb.GetReceivablesRequest, context: Context) -> pb.Receivables:
        totals = await self.uc.outstanding(caller(), request.group_by)
        return pb.Receivables(
            groups=[
                pb.ReceivablesGroup(
                    key=key,
                    outstanding=[pb.CurrencyAmount(currency=c, amount=str(m.amount)) for c, m in sorted(per.items())],
                )
                for key, per in sorted(totals.items())
            ]
        )

    async def GetAgeing(self, request: pb.GetAgeingRequest, context: Context) -> pb.Ageing:
        as_of, lines = await self.uc.ageing(caller(), request.as_of, request.group_by)
        return pb.Ageing(
            as_of=as_of.isoformat(),
            lines=[
                pb.AgeingLine(
                    key=line.key or "",
                    currency=line.currency,
                    not_due=str(line.buckets[AgeingBucket.NOT_DUE].amount),
                    days_1_30=str(line.buckets[AgeingBucket.DAYS_1_30].amount),
                    days_31_60=str(line.buckets[AgeingBucket.DAYS_31_60].amount),
                    days_61_90=str(line.buckets[AgeingBucket.DAYS_61_90].amount),
                    over_90=str(line.buckets[AgeingBucket.OVER_90].amount),
                    total=str(line.total.amount),
                )
                for line in lines
            ],
        )

    async def SetApprovalRules(self, request: pb.SetApprovalRulesRequest, context: Context) -> pb.ApprovalRules:
        return rules_pb(
            await self.uc.set_approval_rules(
                caller(), request.org_unit_id, request.currency, [(t.up_to, t.role) for t in request.thresholds]
            )
        )

    async def GetApprovalRules(self, request: pb.GetApprovalRulesRequest, context: Context) -> pb.ApprovalRules:
        return rules_pb(await self.uc.get_approval_rules(caller(), request.org_unit_id))

    async def AddAttachment(self, request: pb.AddAttachmentRequest, context: Context) -> pb.Contract:
        ref = attachment_inputs([request.attachment])[0]
        return contract_pb(await self.uc.add_attachment(caller(), request.contract_id, ref, request.expected_version))

    async def RemoveAttachment(self, request: pb.RemoveAttachmentRequest, context: Context) -> pb.Contract:
        return contract_pb(
            await self.uc.remove_attachment(
                caller(), request.contract_id, request.document_id, request.expected_version
            )
        )

    async def SetContractTemplate(
        self, request: pb.SetContractTemplateRequest, context: Context
    ) -> pb.ContractTemplate:
        return template_pb(await self.uc.set_template(caller(), request.template_id, request.name, request.terms))

    async def GetContractTemplate(
        self, request: pb.GetContractTemplateRequest, context: Context
    ) -> pb.ContractTemplate:
        return template_pb(await self.uc.get_template(caller(), request.template_id, request.version))
