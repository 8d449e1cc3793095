"""Files the gateway serves itself (the console, the API reference): read from a package folder,
with a strong ETag so a revalidation of an unchanged file is a 304 without a body."""

from __future__ import annotations

import hashlib
import mimetypes
from email.utils import formatdate
from functools import lru_cache
from pathlib import Path

from werkzeug.security import safe_join

from salesgrid_gateway.problems import ApiProblem
from salesgrid_gateway.web import Request, Response


def etag_of(body: bytes) -> str:
    return f'"{hashlib.sha1(body, usedforsecurity=False).hexdigest()}"'


def conditional(response: Response, request: Request) -> Response:
    """The response with its ETag; a 304 without the body when the client holds that version."""
    body = response.get_data()
    tag = response.headers.setdefault("ETag", etag_of(body))
    wanted = {item.strip().removeprefix("W/") for item in request.headers.get("If-None-Match", "").split(",")}
    if request.method in ("GET", "HEAD") and (tag in wanted or "*" in wanted):
        kept = {k: v for k, v in response.headers.items() if k not in ("Content-Type", "Content-Encoding")}
        return Response(b"", 304, kept)
    return response


@lru_cache(maxsize=256)
def _read(path: str) -> tuple[bytes, float]:
    file = Path(path)
    return file.read_bytes(), file.stat().st_mtime


def file_response(directory: Path, name: str, request: Request, *, max_age: int | None = None) -> Response:
    """`name` under `directory` (never outside it: 404), conditional on its ETag."""
    joined = safe_join(str(directory), name)
    if joined is None or not Path(joined).is_file():
        raise ApiProblem(404, "no such file")
    body, modified = _read(joined)
    mimetype = mimetypes.guess_type(name)[0] or "application/octet-stream"
    response = Response(body, 200, {"Last-Modified": formatdate(modified, usegmt=True)}, mimetype)
    if max_age is not None:
        response.headers["Cache-Control"] = f"public, max-age={max_age}"
    return conditional(response, request)
