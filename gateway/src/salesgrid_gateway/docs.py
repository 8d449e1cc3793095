"""Interactive API docs: Swagger UI served from the swagger-ui-bundle package (no CDN)."""
from __future__ import annotations

from flask import Blueprint, Response, send_from_directory
from swagger_ui_bundle import swagger_ui_path

blueprint = Blueprint("docs", __name__)

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Salesgrid API</title>
<link rel="stylesheet" href="/docs/swagger-ui.css"></head>
<body><div id="ui"></div>
<script src="/docs/swagger-ui-bundle.js"></script>
<script>SwaggerUIBundle({url: "/openapi.json", dom_id: "#ui"});</script>
</body></html>"""


@blueprint.get("/docs")
def index() -> Response:
    return Response(PAGE, mimetype="text/html")


@blueprint.get("/docs/<path:name>")
def asset(name: str) -> Response:
    return send_from_directory(swagger_ui_path, name)
