"""Property-based checks of every operation in the OpenAPI document (schemathesis).

The in-process app (open mode, a real Prefect server) gets generated requests for all
operations, a bounded number each; every answer must not be a server error, and must match the
documented status codes, media types and response schemas.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from prefect.settings import PREFECT_API_URL, temporary_settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from starlette.types import ASGIApp, Receive, Scope, Send

from mimir_api.api.app import create_app
from mimir_api.core.config import Settings
from tests.utils.servers import PrefectServer

EXAMPLES_PER_OPERATION = 8
# run_selfcheck waits for a flow run on a worker; there is none here (tests/test_platform.py
# runs it against `mimir up`), so its 503 "dependency unavailable" is the right answer.
NEEDS_A_WORKER = {"POST /api/v1/system/selfcheck"}
# run_demo takes no input to fuzz, and where the session's `mimir up` has registered its
# deployment on the same Prefect server, each call would build the whole sample project on
# that platform's worker behind the other tests' backs (tests/test_demo.py covers it).
NOT_FUZZED = "run_demo"


def no_server_error(ctx: Any, response: Any, case: Any) -> bool | None:
    """not_a_server_error, except a 503 from an operation that needs a worker."""
    if response.status_code == 503 and case.operation.label in NEEDS_A_WORKER:
        assert response.json()["type"] == "urn:mimir:problem:unavailable"
        return True
    return not_a_server_error(ctx, response, case)


CHECKS = [
    no_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


# Schemathesis reads the document when the module is collected, so the app is built here, on a
# throw-away home; the fixture below points it at the session's Prefect server and cleans up.
HOME = Path(tempfile.mkdtemp(prefix="mimir-schemathesis-"))
APP = create_app(
    Settings(
        home=HOME / "home", prefect_api_url="http://127.0.0.1:9/api", allowed_hosts=["testserver"]
    )
)


class WithoutLifespan:
    """The app for schemathesis's ASGI client, which starts a lifespan per request: the MCP
    session manager may run only once per process, and REST needs no lifespan at all."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return


schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", WithoutLifespan(APP)).exclude(
    operation_id=NOT_FUZZED
)


@pytest.fixture(scope="module", autouse=True)
def real_prefect(session_prefect: PrefectServer) -> Iterator[None]:
    """Operations reach the session's Prefect server, in the app and in Prefect's own client."""
    APP.state.settings.prefect_api_url = session_prefect.api_url
    with temporary_settings({PREFECT_API_URL: session_prefect.api_url}):
        yield
    APP.state.engine.dispose()
    shutil.rmtree(HOME, ignore_errors=True)


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_every_operation_against_its_schema(case: Any) -> None:
    case.call_and_validate(checks=CHECKS)
