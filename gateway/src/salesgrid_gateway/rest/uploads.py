"""Import uploads: the file is the request body (CSV or XLSX), streamed to the service's
client-streaming RPC in chunks (never whole in memory); the service stages it as a job and the
view answers 202 with the job and its Location. Every import route is one `import_route(...)`."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from flask import Response, jsonify, request
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass

from salesgrid_gateway.clients import call_stream, stub, to_json
from salesgrid_gateway.problems import ApiProblem
from salesgrid_gateway.rest.table import Route, Service, view

IMPORT_FORMATS = {"text/csv": "csv", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx"}
IMPORT_CHUNK_BYTES = 1 << 20  # the body streams through in pieces of this size


def _start(service: Service, rpc: str, chunk: type[Message], location: str) -> Callable[[], tuple[Response, int]]:
    def start_import() -> tuple[Response, int]:
        file_format = IMPORT_FORMATS.get(request.mimetype)
        if file_format is None:
            raise ApiProblem(415, f"send the file as {' or '.join(IMPORT_FORMATS)}")
        body = request.stream  # the stream itself: gRPC reads the chunks outside the request context

        def chunks() -> Iterator[Message]:
            yield chunk(format=file_format, data=body.read(IMPORT_CHUNK_BYTES))
            while data := body.read(IMPORT_CHUNK_BYTES):
                yield chunk(data=data)

        job = call_stream(getattr(stub(service.stub_class, service.address_setting), rpc), chunks())
        response = jsonify(to_json(job))
        response.headers["Location"] = location.format(job_id=job.id)
        return response, 202

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
        tag=service.tag,
        status=202,
        request_types=tuple(IMPORT_FORMATS),
        response_schema={"$ref": f"#/components/schemas/{method.output_type.full_name}"},
        headers=("Location",),
        messages=(job,),
    )
