"""The mimir-ui image serves the same ui/ folder as `mimir up`, with its npm assets from the
lockfile (npm ci, never a CDN), the API docs from those assets, and /api and /mcp proxied."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = (REPO / "deployments" / "docker" / "ui.Dockerfile").read_text()
NGINX = (REPO / "deployments" / "docker" / "ui-nginx.conf").read_text()


def test_npm_assets_come_from_the_lockfile() -> None:
    assert "COPY ui/package.json ui/package-lock.json ./" in DOCKERFILE
    assert re.search(r"RUN npm ci --omit=dev --ignore-scripts", DOCKERFILE)
    assert "COPY --from=npm /ui/node_modules/ ./node_modules/" in DOCKERFILE
    assert "COPY ui/ ./" in DOCKERFILE


def test_nginx_proxies_the_api_and_mcp_and_serves_docs_locally() -> None:
    assert re.search(r"location /api/ \{\s+proxy_pass http://mimir-api:8080;", NGINX)
    assert re.search(r"location /mcp \{\s+proxy_pass http://mimir-api:8080;", NGINX)
    assert "alias /usr/share/nginx/html/docs.html;" in NGINX
    assert "alias /usr/share/nginx/html/node_modules/swagger-ui-dist/;" in NGINX
    docs = (REPO / "ui" / "docs.html").read_text()
    assert "/api/v1/docs/assets/swagger-ui-bundle.js" in docs
    assert "http" not in docs.replace("http-equiv", "")  # nothing from another host


def test_the_exact_docs_location_comes_before_the_api_proxy() -> None:
    """nginx prefers `location =` anyway; keep both blocks so the proxy never answers docs."""
    assert NGINX.index("location = /api/v1/docs") < NGINX.index("location /api/ {")
