"""Fixtures for running real pipeline flows in-process against the session's Prefect server."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from prefect.settings import PREFECT_API_URL, temporary_settings

from flows.actions.registry import load_registry
from flows.pipeline.compiler import compile_pipeline
from flows.settings import runtime_settings
from tests.utils.http_server import HTTPFixture, http_test_server
from tests.utils.servers import PrefectServer


@pytest.fixture(scope="session")
def registry():  # type: ignore[no-untyped-def]
    return load_registry()


@pytest.fixture
def compile_text(registry):  # type: ignore[no-untyped-def]
    return lambda text: compile_pipeline(text, registry, source="test.yaml")


@pytest.fixture(scope="session")
def http_server() -> Iterator[HTTPFixture]:
    with http_test_server() as server:
        yield server


@pytest.fixture
def allow_local_http(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Let http.request reach the loopback test server (as an operator would allow)."""
    monkeypatch.setenv("MIMIR_HTTP_ALLOWED_HOSTS", "127.0.0.1")
    runtime_settings.cache_clear()
    yield
    runtime_settings.cache_clear()


@pytest.fixture
def run_flow(
    session_prefect: PrefectServer, tmp_path: Path
) -> Iterator[Callable[..., dict[str, Any]]]:
    """Run a pipeline YAML as a real Prefect flow run; returns the summary (or raises)."""
    from flows.pipeline.flow import run_pipeline

    storage = tmp_path / "project"
    storage.mkdir()

    def run(text: str, parameters: dict[str, Any] | None = None, **kwargs: Any) -> dict[str, Any]:
        kwargs.setdefault("storage_url", storage.as_uri())
        kwargs.setdefault("project", "test")
        with temporary_settings({PREFECT_API_URL: session_prefect.api_url}):
            return run_pipeline(text, parameters or {}, **kwargs)

    run.storage = storage  # type: ignore[attr-defined]
    yield run
