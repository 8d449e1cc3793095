"""The API reference at /docs: Swagger UI 5 (renders OpenAPI 3.1), vendored from the npm registry
into docs_static/ and served by the gateway itself (no CDN)."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response, send_from_directory

blueprint = Blueprint("docs", __name__)
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


@blueprint.get("/docs")
def index() -> Response:
    return Response(PAGE, mimetype="text/html")


@blueprint.get("/docs/<path:name>")
def asset(name: str) -> Response:
    return send_from_directory(STATIC, name, max_age=3600)
