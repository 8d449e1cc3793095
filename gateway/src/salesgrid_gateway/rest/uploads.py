"""Import uploads: the file is the request body (CSV or XLSX), streamed to the service's
client-streaming RPC in chunks (never whole in memory); the service stages it as a job and the
view answers 202 with the job and its Location. Every import route is one `import_route(...)`."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass

from salesgrid_gateway.clients import call_stream, stub, to_json
from salesgrid_gateway.problems import ApiProblem
from salesgrid_gateway.rest.table import Route, Service, view
from salesgrid_gateway.web import Response, json_response, request

IMPORT_FORMATS = {"text/csv": "csv", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx"}
IMPORT_CHUNK_BYTES = 1 << 20  # the body streams through in pieces of this size


def _start(service: Service, rpc: str, chunk: type[Message], location: str) -> Callable[[], Awaitable[Response]]:
    async def start_import() -> Response:
        file_format = IMPORT_FORMATS.get(request.mimetype)
        if file_format is None:
            raise ApiProblem(415, f"send the file as {' or '.join(IMPORT_FORMATS)}")
        body = request.stream(IMPORT_CHUNK_BYTES)

        async def chunks() -> AsyncIterator[Message]:
            first = True
            async for data in body:
                yield chunk(format=file_format, data=data) if first else chunk(data=data)
                first = False
            if first:  # an empty file: one chunk naming its format (the service refuses it)
                yield chunk(format=file_format, data=b"")

        job = await call_stream(getattr(stub(service.stub_class, service.address_setting), rpc), chunks())
        return json_response(to_json(job), 202, {"Location": location.format(job_id=job.id)})

    return start_import


def import_route(service: Service, path: str, rpc: str, summary: str, *, location: str) -> Route:
    """POST `path` with a CSV or XLSX body → `rpc` (stream of chunks with `format` and `data`) →
    202 + the job; `location` is the job's URL ("/v1/…/{job_id}")."""
    method = service.method(rpc)
    chunk, job = GetMessageClass(method.input_type), GetMessageClass(method.output_type)
    return view(
        "POST",
        path,
        _start(service, rpc, chunk, location),
        summary,
        streams_body=True,
        tag=service.tag,
        status=202,
        request_types=tuple(IMPORT_FORMATS),
        response_schema={"$ref": f"#/components/schemas/{method.output_type.full_name}"},
        headers=("Location",),
        messages=(job,),
    )
