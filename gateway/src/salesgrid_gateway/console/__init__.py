"""The web console: static ES modules, HTML and CSS (no build step) served at /console.

The console is a client of the public REST API like any partner's: it holds the caller's tokens and
calls /v1 with them, so the data scope and permissions are the API's. These routes only serve
files: `index.html` revalidated on every visit (no-cache with an ETag, so an unchanged page costs a
304 and no body; it names the assets by a content hash), the assets under /console/assets/<hash>/
cached for a year (with ETag and Last-Modified for the odd revalidation), every response with a
content-security policy that allows nothing but this origin."""

from __future__ import annotations

import gzip
import hashlib
import json
import mimetypes
from functools import cache
from pathlib import Path

from salesgrid_gateway.problems import ApiProblem
from salesgrid_gateway.static_files import conditional, file_response
from salesgrid_gateway.web import Response, request

STATIC = Path(__file__).parent / "static"
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "manifest-src 'self'; worker-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


@cache
def assets_version() -> str:
    """A hash of every asset's path and content: a new release gets new asset URLs."""
    digest = hashlib.sha256()
    for path in sorted(p for p in STATIC.rglob("*") if p.is_file()):
        digest.update(path.relative_to(STATIC).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def _secure(response: Response) -> Response:
    response.headers.update(SECURITY_HEADERS)
    return response


def _revalidated(response: Response) -> Response:
    """no-cache with a strong ETag of the body: the browser asks each time, an unchanged page is a 304."""
    response.headers["Cache-Control"] = "no-cache"
    return _secure(conditional(response, request))  # type: ignore[arg-type]


async def root() -> Response:
    return Response(b"", 302, {"Location": "/console/"})


async def without_slash() -> Response:
    return Response(b"", 301, {"Location": "/console/"})


async def index() -> Response:
    page = (
        (STATIC / "index.html").read_text(encoding="utf-8").replace("{{ASSETS}}", f"/console/assets/{assets_version()}")
    )
    return _revalidated(Response(page, mimetype="text/html"))


async def service_worker() -> Response:
    """The offline shell's service worker, at the console's root so it may control /console/."""
    prefix = f"/console/assets/{assets_version()}"
    files = [
        f"{prefix}/{p.relative_to(STATIC).as_posix()}"
        for p in sorted(STATIC.rglob("*"))
        if p.is_file() and p.name not in ("index.html", "sw.js")
    ]
    body = (
        (STATIC / "sw.js")
        .read_text(encoding="utf-8")
        .replace("{{ASSETS}}", prefix)
        .replace('"{{FILES}}"', json.dumps(files))
    )
    return _revalidated(Response(body, mimetype="text/javascript"))


async def asset(version: str, name: str) -> Response:
    if name in ("index.html", "sw.js"):
        raise ApiProblem(404, "no such file")
    mimetype = "text/javascript" if name.endswith(".js") else None
    packed = _gzipped(name) if "gzip" in request.headers.get("Accept-Encoding", "") else None
    if packed is None:
        response = file_response(STATIC, name, request)  # type: ignore[arg-type]
    else:  # text compresses to about a quarter: what a phone on a poor network waits for
        guessed = mimetype or mimetypes.guess_type(name)[0] or "application/octet-stream"
        response = conditional(Response(packed, mimetype=guessed, headers={"Content-Encoding": "gzip"}), request)  # type: ignore[arg-type]
    if Path(name).suffix in TEXT_SUFFIXES:
        response.headers["Vary"] = "Accept-Encoding"
    # The URL carries the content hash: an old one may serve the new file, but never the reverse.
    response.headers["Cache-Control"] = (
        "public, max-age=31536000, immutable" if version == assets_version() else "no-cache"
    )
    if mimetype and response.status_code == 200:
        response.headers["Content-Type"] = f"{mimetype}; charset=utf-8"
    return _secure(response)


TEXT_SUFFIXES = (".js", ".css", ".svg", ".json")
ROUTES = [
    ("GET", "/", root),
    ("GET", "/console", without_slash),
    ("GET", "/app", without_slash),
    ("GET", "/console/", index),
    ("GET", "/console/sw.js", service_worker),
    ("GET", "/console/assets/<version>/<path:name>", asset),
]


@cache
def _gzipped(name: str) -> bytes | None:
    """The asset gzip-compressed once per process (None: not a text asset, or not one of ours)."""
    path = (STATIC / name).resolve()
    if path.suffix not in TEXT_SUFFIXES or STATIC.resolve() not in path.parents or not path.is_file():
        return None
    return gzip.compress(path.read_bytes(), compresslevel=9, mtime=0)
