"""Thin gRPC servicer of printed documents: proto ↔ use case translation, nothing else."""

from __future__ import annotations

import grpc

from salesgrid.contracts.v1 import documents_pb2 as pb
from salesgrid.contracts.v1 import documents_pb2_grpc as pb_grpc
from salesgrid_common.auth import caller
from salesgrid_common.protos import to_timestamp
from salesgrid_contracts.models import PrintedDocument
from salesgrid_contracts.usecases.documents import DocumentsUseCases, Printed

Ctx = grpc.aio.ServicerContext


def info_pb(row: PrintedDocument) -> pb.DocumentInfo:
    return pb.DocumentInfo(
        id=row.id,
        kind=row.kind,
        subject_id=row.subject_id,
        revision=row.revision,
        contract_id=row.contract_id,
        number=row.number,
        file_name=row.file_name,
        content_type="application/pdf",
        size_bytes=row.size_bytes,
        sha256=row.sha256,
        copies=row.copies,
        printed_by=row.printed_by,
        printed_at=to_timestamp(row.printed_at),
    )


def printed_pb(printed: Printed) -> pb.PrintedDocument:
    return pb.PrintedDocument(document=info_pb(printed.row), copy_number=printed.copy_number, content=printed.content)


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
