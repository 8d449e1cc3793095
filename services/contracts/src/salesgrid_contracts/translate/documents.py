"""Printed documents -> proto."""

from __future__ import annotations

from salesgrid.contracts.v1 import documents_pb2 as pb
from salesgrid_common.protos import to_timestamp
from salesgrid_contracts.domain.documents import PrintedOriginal
from salesgrid_contracts.usecases.documents import Printed


def info_pb(original: PrintedOriginal) -> pb.DocumentInfo:
    return pb.DocumentInfo(
        id=original.document_id,
        kind=original.kind.value,
        subject_id=original.subject_id,
        revision=original.revision,
        contract_id=original.contract_id,
        number=original.number,
        file_name=original.file_name,
        content_type="application/pdf",
        size_bytes=original.size_bytes,
        sha256=original.sha256,
        copies=original.copies,
        printed_by=original.printed_by,
        printed_at=to_timestamp(original.printed_at),
    )


def printed_pb(printed: Printed) -> pb.PrintedDocument:
    return pb.PrintedDocument(
        document=info_pb(printed.original), copy_number=printed.copy_number, content=printed.content
    )
