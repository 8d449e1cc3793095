"""Printed documents -> proto (the documents use cases still hand over their stored rows)."""

from __future__ import annotations

from salesgrid.contracts.v1 import documents_pb2 as pb
from salesgrid_common.protos import to_timestamp
from salesgrid_contracts.models import PrintedDocument
from salesgrid_contracts.usecases.documents import Printed


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
