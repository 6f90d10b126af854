"""The API's documentation pages, Swagger UI at `/docs` and ReDoc at `/redoc`, served from the assets the
installed `fastapi-offline` package ships, so both work on a machine with no internet (FastAPI's own pages load
them from a CDN). `/openapi.json` is the schema both read.

Chosen: fastapi-offline, because it is the one package on PyPI that carries both Swagger UI's bundle and ReDoc's
standalone script as files (swagger-ui-bundle has no ReDoc, and ReDoc itself ships only on npm).
"""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS = "/docs/assets"
STATIC = Path(fastapi_offline.__file__).parent / "static"


def serve_docs(app: FastAPI) -> None:
    """`/docs` (Swagger UI), `/redoc` and their assets, for an app built with `docs_url=None, redoc_url=None`."""
    app.mount(ASSETS, StaticFiles(directory=str(STATIC)), name="docs-assets")
    title = f"{app.title} API"
    schema = app.openapi_url or "/openapi.json"

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url=schema, title=title, swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
                                   swagger_css_url=f"{ASSETS}/swagger-ui.css",
                                   swagger_favicon_url=f"{ASSETS}/favicon.png")

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        return get_redoc_html(openapi_url=schema, title=title, redoc_js_url=f"{ASSETS}/redoc.standalone.js",
                              redoc_favicon_url=f"{ASSETS}/favicon.png", with_google_fonts=False)
