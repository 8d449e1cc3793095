"""The salesgrid.common.v1.Exports servicer every exporting service registers."""

from __future__ import annotations

from typing import Any

import grpc

from salesgrid.common.v1 import exports_pb2 as pb
from salesgrid.common.v1 import exports_pb2_grpc as pb_grpc
from salesgrid_common.auth.principal import caller
from salesgrid_common.exports import files
from salesgrid_common.exports.jobs import ExportJobs, filename
from salesgrid_common.protos import to_timestamp


def job_pb(job: Any) -> pb.ExportJob:
    return pb.ExportJob(
        id=job.id,
        entity=job.entity,
        format=job.format,
        status=job.status,
        rows_written=job.rows_written,
        bytes_written=job.bytes_written,
        filters=dict(job.filters),
        error=job.error,
        filename=filename(job),
        content_type=files.FORMATS[job.format],
        created_at=to_timestamp(job.created_at),
        finished_at=to_timestamp(job.finished_at),
        expires_at=to_timestamp(job.expires_at),
    )


class ExportsServicer(pb_grpc.ExportsServicer):
    def __init__(self, jobs: ExportJobs) -> None:
        self.jobs = jobs

    async def CreateExport(self, request: pb.CreateExportRequest, context: grpc.aio.ServicerContext) -> pb.ExportJob:
        return job_pb(await self.jobs.create(caller(), request.entity, request.format, dict(request.filters)))

    async def GetExport(self, request: pb.GetExportRequest, context: grpc.aio.ServicerContext) -> pb.ExportJob:
        return job_pb(await self.jobs.get(caller(), request.id))

    async def ListExports(
        self, request: pb.ListExportsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListExportsResponse:
        return pb.ListExportsResponse(items=[job_pb(j) for j in await self.jobs.list(caller())])

    async def DownloadExport(
        self, request: pb.DownloadExportRequest, context: grpc.aio.ServicerContext
    ) -> pb.ExportChunk:
        data, chunks = await self.jobs.chunk(caller(), request.id, request.seq)
        return pb.ExportChunk(data=data, seq=request.seq, chunks=chunks)


def register(server: grpc.aio.Server, jobs: ExportJobs) -> str:
    pb_grpc.add_ExportsServicer_to_server(ExportsServicer(jobs), server)  # type: ignore[no-untyped-call]
    return pb.DESCRIPTOR.services_by_name["Exports"].full_name
