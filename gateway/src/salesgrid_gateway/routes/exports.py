"""/v1/exports (jobs): POST an export of an entity (filters, CSV or XLSX) -> 202 with the job;
GET /v1/exports/{id} for progress; GET /v1/exports/{id}/file streams the file to its creator.
The service owning the entity runs the job (salesgrid.common.v1.Exports); a job id is
`<service>.<id>` so later calls find it. `GET /v1/exports?report=` (analytics, synchronous) is
the older report download in routes/analytics.py."""

from __future__ import annotations

from collections.abc import AsyncIterator

from salesgrid.common.v1 import exports_pb2 as pb
from salesgrid.common.v1 import exports_pb2_grpc as pb_grpc
from salesgrid_gateway.clients import call, stub, to_json
from salesgrid_gateway.problems import ApiProblem
from salesgrid_gateway.rest import inputs
from salesgrid_gateway.rest.table import view
from salesgrid_gateway.web import Response, json_response


# entity -> the service that owns it (its gateway address setting)
ENTITY_SERVICES = {
    "customers": "customers",
    "contacts": "customers",
    "leads": "pipeline",
    "opportunities": "pipeline",
    "follow_ups": "activities",
    "contracts": "contracts",
    "receivables": "contracts",
    "analytics_report": "analytics",
}


def _exports(service: str) -> pb_grpc.ExportsStub:
    return stub(pb_grpc.ExportsStub, f"{service}_addr")


def _job(service: str, job: pb.ExportJob) -> dict:  # type: ignore[type-arg]
    body = to_json(job)
    body["id"] = f"{service}.{job.id}"
    body["file"] = f"/v1/exports/{body['id']}/file" if job.status == "ready" else None
    return body


def _split(export_id: str) -> tuple[str, str]:
    service, _, job_id = export_id.partition(".")
    if service not in set(ENTITY_SERVICES.values()) or not job_id:
        raise ApiProblem(404, f"export {export_id!r} does not exist")
    return service, job_id


async def create_export() -> Response:
    body = inputs.json_body()
    inputs.require(("entity", "format"), body)
    entity = str(body["entity"])
    service = ENTITY_SERVICES.get(entity)
    if service is None:
        raise ApiProblem(
            400,
            f"entity must be one of {', '.join(sorted(ENTITY_SERVICES))}",
            errors=[{"field": "entity", "message": "unknown entity"}],
        )
    filters = body.get("filters") or {}
    if not isinstance(filters, dict):
        raise ApiProblem(400, "filters must be an object", errors=[{"field": "filters", "message": "an object"}])
    job = await call(
        _exports(service).CreateExport,
        pb.CreateExportRequest(
            entity=entity, format=str(body["format"]), filters={str(k): str(v) for k, v in filters.items()}
        ),
    )
    payload = _job(service, job)
    return json_response(payload, 202, {"Location": f"/v1/exports/{payload['id']}"})


async def get_export(export_id: str) -> Response:
    service, job_id = _split(export_id)
    return json_response(_job(service, await call(_exports(service).GetExport, pb.GetExportRequest(id=job_id))))


async def download_export(export_id: str) -> Response:
    service, job_id = _split(export_id)
    exports = _exports(service)
    job = await call(exports.GetExport, pb.GetExportRequest(id=job_id))
    first = await call(exports.DownloadExport, pb.DownloadExportRequest(id=job_id, seq=0))  # refusals before any byte

    async def chunks() -> AsyncIterator[bytes]:  # sent while the request is still being answered
        yield first.data
        for seq in range(1, first.chunks):
            yield (await call(exports.DownloadExport, pb.DownloadExportRequest(id=job_id, seq=seq))).data

    return Response(
        chunks(),
        mimetype=job.content_type,
        headers={
            "Content-Disposition": f'attachment; filename="{job.filename}"',
            "Content-Length": str(job.bytes_written),
        },
    )


STRING = {"type": "string"}
JOB = {
    "response_message": pb.ExportJob,
    "response_extra": {"file": {"type": ["string", "null"], "description": "the download's path once ready"}},
}
T = "exports"
ROUTES = [
    view(
        "POST",
        "/v1/exports",
        create_export,
        "Start an export job (202): the file holds exactly what you may read, "
        "is kept for a limited time (default 24 h) and only you can download it; audited",
        tag=T,
        status=202,
        headers=("Location",),
        **JOB,
        request_schema={
            "type": "object",
            "required": ["entity", "format"],
            "properties": {
                "entity": {"type": "string", "enum": sorted(ENTITY_SERVICES)},
                "format": {"type": "string", "enum": ["csv", "xlsx"]},
                "filters": {
                    "type": "object",
                    "additionalProperties": STRING,
                    "description": "customers: tier, owner_id, updated_since (ISO 8601); contacts: "
                    "customer_id; leads: "
                    "status, owner_id; opportunities: status, stage, owner_id, "
                    "customer_id; follow_ups: customer_id, lead_id, owner_id, kind; "
                    "contracts: status, customer_id, owner_id; receivables: customer_id, owner_id, "
                    "outstanding_only (true); "
                    "analytics_report: report (performance, leaderboard, funnel, "
                    "forecast, targets, trend) and the report query (period, subtree, "
                    "rep_id, currency, time_zone, group_depth, by, limit, from_period, "
                    "to_period, metric)",
                },
            },
        },
    ),
    view("GET", "/v1/exports/{export_id}", get_export, "An export job's status and progress", tag=T, **JOB),
    view(
        "GET",
        "/v1/exports/{export_id}/file",
        download_export,
        "Download a ready export (creator only; streamed)",
        tag=T,
        response_types=("text/csv", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        headers=("Content-Disposition",),
    ),
]
