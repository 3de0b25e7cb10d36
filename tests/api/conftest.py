"""In-process app fixtures: the real FastAPI app on a fresh SQLite DB and storage folder."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from mimir_api.api.app import create_app
from mimir_api.core.config import Settings


@pytest.fixture
def make_client(tmp_path: Path) -> Iterator[Callable[..., TestClient]]:
    """Build a TestClient for an app with the given settings overrides (knob builder)."""
    clients: list[TestClient] = []

    def build(**overrides: Any) -> TestClient:
        values: dict[str, Any] = {
            "home": tmp_path / "home",
            "prefect_api_url": "http://127.0.0.1:9/api",
        }
        values.update(overrides)
        client = TestClient(create_app(Settings(**values)), base_url="http://127.0.0.1")
        client.__enter__()
        clients.append(client)
        return client

    yield build
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    """An app in open mode (loopback, no tokens)."""
    return make_client()
