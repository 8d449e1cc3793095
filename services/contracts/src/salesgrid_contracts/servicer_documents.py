"""Thin gRPC servicer of printed documents: proto ↔ use case translation, nothing else."""

from __future__ import annotations

import grpc

from salesgrid.contracts.v1 import documents_pb2 as pb
from salesgrid.contracts.v1 import documents_pb2_grpc as pb_grpc
from salesgrid_common.auth.principal import caller
from salesgrid_contracts.translate.documents import info_pb, printed_pb
from salesgrid_contracts.usecases.documents import DocumentsUseCases

Ctx = grpc.aio.ServicerContext


class DocumentsServicer(pb_grpc.DocumentsServicer):
    def __init__(self, uc: DocumentsUseCases) -> None:
        self.uc = uc

    async def PrintReceipt(self, request: pb.PrintReceiptRequest, context: Ctx) -> pb.PrintedDocument:
        return printed_pb(await self.uc.print_receipt(caller(), request.receipt_id, request.payer_name))

    async def PrintContract(self, request: pb.PrintContractRequest, context: Ctx) -> pb.PrintedDocument:
        return printed_pb(await self.uc.print_contract(caller(), request.contract_id))

    async def ListDocuments(self, request: pb.ListDocumentsRequest, context: Ctx) -> pb.ListDocumentsResponse:
        return pb.ListDocumentsResponse(
            documents=[info_pb(r) for r in await self.uc.list_documents(caller(), request.subject_id)]
        )
