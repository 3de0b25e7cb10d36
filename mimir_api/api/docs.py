"""Interactive API docs served from local files, so they work on a machine without internet.

FastAPI's default docs page loads Swagger UI from a CDN and is blank offline. The assets come
from the npm package `swagger-ui-dist`, installed by scripts/install.sh (`npm ci` in ui/) into
ui/node_modules, and are mounted under the docs path.
"""

from __future__ import annotations

import logging
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

log = logging.getLogger("mimir.api")


def install_docs(app: FastAPI, ui_dir: Path, docs_url: str, openapi_url: str) -> None:
    """Serve Swagger UI at `docs_url` with its assets under `docs_url/assets`."""
    assets = ui_dir / "node_modules" / "swagger-ui-dist"
    if not (assets / "swagger-ui-bundle.js").is_file():
        log.warning("Swagger UI assets missing at %s (run scripts/install.sh); no API docs", assets)
        return
    assets_url = f"{docs_url}/assets"

    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title="Mimir AIP — API docs",
            swagger_js_url=f"{assets_url}/swagger-ui-bundle.js",
            swagger_css_url=f"{assets_url}/swagger-ui.css",
            swagger_favicon_url=f"{assets_url}/favicon-32x32.png",
            swagger_ui_parameters={"persistAuthorization": True},
        )

    app.add_api_route(docs_url, swagger_ui, methods=["GET"], include_in_schema=False)
    app.mount(assets_url, StaticFiles(directory=assets), name="docs-assets")
