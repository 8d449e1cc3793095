"""The API reference at /docs: Swagger UI 5 (renders OpenAPI 3.1), vendored from the npm registry
into docs_static/ and served by the gateway itself (no CDN)."""

from __future__ import annotations

from pathlib import Path

from salesgrid_gateway.static_files import file_response
from salesgrid_gateway.web import Response, request

STATIC = Path(__file__).resolve().parent / "docs_static"

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Salesgrid API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="/docs/swagger-ui/favicon-32x32.png">
<link rel="stylesheet" href="/docs/swagger-ui/swagger-ui.css"></head>
<body><div id="ui"></div>
<script src="/docs/swagger-ui/swagger-ui-bundle.js"></script>
<script src="/docs/docs.js"></script>
</body></html>"""


async def index() -> Response:
    return Response(PAGE, mimetype="text/html")


async def asset(name: str) -> Response:
    return file_response(STATIC, name, request, max_age=3600)  # type: ignore[arg-type]


ROUTES = [("GET", "/docs", index), ("GET", "/docs/<path:name>", asset)]
