"""/api/v1/docs works offline: the page points at Swagger UI assets the app serves itself
(npm's swagger-ui-dist under ui/node_modules), never at a CDN."""

from __future__ import annotations

from fastapi.testclient import TestClient


def test_docs_page_uses_local_swagger_assets(client: TestClient) -> None:
    page = client.get("/api/v1/docs")
    assert page.status_code == 200
    assert "/api/v1/docs/assets/swagger-ui-bundle.js" in page.text
    assert "/api/v1/openapi.json" in page.text
    assert "cdn" not in page.text.lower()
    bundle = client.get("/api/v1/docs/assets/swagger-ui-bundle.js")
    assert bundle.status_code == 200
    assert "javascript" in bundle.headers["content-type"]
    assert len(bundle.content) > 100_000
    assert client.get("/api/v1/docs/assets/swagger-ui.css").status_code == 200


def test_docs_are_not_an_api_operation(client: TestClient) -> None:
    spec = client.get("/api/v1/openapi.json").json()
    assert not [p for p in spec["paths"] if p.startswith("/api/v1/docs")]
