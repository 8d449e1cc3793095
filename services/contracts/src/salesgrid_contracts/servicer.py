"""Thin gRPC servicer: requests go to the use cases, answers through translate/ (records -> proto)."""

from __future__ import annotations

import grpc

from salesgrid.contracts.v1 import contracts_pb2 as pb
from salesgrid.contracts.v1 import contracts_pb2_grpc as pb_grpc
from salesgrid_common.auth.principal import caller
from salesgrid_common.custom_fields.structs import values_from
from salesgrid_contracts.translate.catalogue import product_pb, rules_pb, template_pb
from salesgrid_contracts.translate.contracts import attachment_inputs, contract_pb, version_pb
from salesgrid_contracts.translate.payments import ageing_pb, invoice_pb, plan_pb, receipt_pb, receivables_pb, refund_pb
from salesgrid_contracts.usecases import ContractsUseCases, LineInput

Context = grpc.aio.ServicerContext


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
        versions = await self.uc.list_versions(caller(), request.id)
        return pb.ContractVersions(contract_id=request.id, versions=[version_pb(v) for v in versions])

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
        return receivables_pb(totals)

    async def GetAgeing(self, request: pb.GetAgeingRequest, context: Context) -> pb.Ageing:
        as_of, lines = await self.uc.ageing(caller(), request.as_of, request.group_by)
        return ageing_pb(as_of, lines)

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
