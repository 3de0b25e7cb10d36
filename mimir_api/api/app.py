"""The ASGI app: REST under /api/v1, MCP at /mcp, the static UI at /.

`create_app(settings)` is the only constructor (uvicorn calls it with `--factory`); it
migrates the metadata DB and refuses to start where running without auth would be unsafe or
with a placeholder secret copied from an example file.
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.utils import get_openapi
from fastapi.staticfiles import StaticFiles
from mcp.server.streamable_http_manager import StreamableHTTPASGIApp
from mcp.server.transport_security import TransportSecuritySettings
from pydantic import SecretStr
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from mimir_api import __version__
from mimir_api.api.docs import install_docs
from mimir_api.api.guard import BrowserGuardMiddleware, require_json
from mimir_api.api.limits import BodyLimitMiddleware
from mimir_api.api.problems import install_problem_handlers, problem_response
from mimir_api.api.rest import API_PREFIX, install_rest_routes
from mimir_api.api.sparql import install_sparql_routes
from mimir_api.api.uploads import UPLOAD_PATHS, install_upload_routes
from mimir_api.core.config import Settings, get_settings
from mimir_api.core.errors import MimirError, Problem, Unauthorized
from mimir_api.core.security import Scope as AuthScope
from mimir_api.core.security import active_token_count, auth_required, authenticate
from mimir_api.db.engine import make_engine, migrate
from mimir_api.mcp.server import ACTOR_SCOPE_KEY, build_mcp_server, http_actor
from mimir_api.services.catalog import build_registry

log = logging.getLogger("mimir.api")
MIN_BOOTSTRAP_TOKEN_CHARS = 32
PLACEHOLDER_MARK = "change-me"
# Secrets the example env files under deployments/ set that the API process reads.
PLACEHOLDER_ENV = ("AWS_SECRET_ACCESS_KEY",)


class UnsafeConfiguration(RuntimeError):
    """Raised at start-up when the settings would expose an unauthenticated API."""


class MCPAuth:
    """Authenticate /mcp requests with the same bearer tokens as REST.

    The resolved actor rides on the ASGI scope; the MCP tool handler reads it back from the
    request that carried the message and checks each tool's scope like REST does.
    """

    def __init__(self, app: ASGIApp, settings: Settings, engine: Any):
        self.app = app
        self.settings = settings
        self.engine = engine

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = Headers(scope=scope)
        header = headers.get("authorization")
        try:
            require_json(scope["method"], headers)
            actor = await run_in_threadpool(authenticate, self.settings, self.engine, header)
            if not actor.allows(AuthScope.READ):
                raise Unauthorized(
                    "MCP needs a bearer token (any scope): 'Authorization: Bearer …'"
                )
        except MimirError as error:
            challenge = (
                {"WWW-Authenticate": 'Bearer realm="mimir"'} if error.status == 401 else None
            )
            await problem_response(error.to_problem(scope.get("path")), challenge)(
                scope, receive, send
            )
            return
        scope[ACTOR_SCOPE_KEY] = actor
        await self.app(scope, receive, send)


def check_secrets(settings: Settings) -> None:
    """Refuse placeholder secrets (`change-me…` from the example env files) and a short
    bootstrap token: both would let anyone who has read the repository in."""
    for name in Settings.model_fields:
        value = getattr(settings, name)
        text = value.get_secret_value() if isinstance(value, SecretStr) else value
        if isinstance(text, str) and PLACEHOLDER_MARK in text.lower():
            raise UnsafeConfiguration(
                f"MIMIR_{name.upper()} still holds a '{PLACEHOLDER_MARK}…' placeholder from an "
                "example file; set a real secret"
            )
    for name in PLACEHOLDER_ENV:
        if PLACEHOLDER_MARK in os.environ.get(name, "").lower():
            raise UnsafeConfiguration(
                f"{name} still holds a '{PLACEHOLDER_MARK}…' placeholder from an example file; "
                "set a real secret"
            )
    token = settings.bootstrap_token
    if token is not None and len(token.get_secret_value()) < MIN_BOOTSTRAP_TOKEN_CHARS:
        raise UnsafeConfiguration(
            f"MIMIR_BOOTSTRAP_TOKEN is shorter than {MIN_BOOTSTRAP_TOKEN_CHARS} characters; "
            "generate one with `openssl rand -hex 32`"
        )


def check_startup_safety(settings: Settings, engine: Any) -> str:
    """Refuse an open API on a non-loopback address or with placeholder secrets; describe the
    auth mode otherwise."""
    check_secrets(settings)
    if auth_required(settings, engine):
        if not settings.binds_loopback and not (
            settings.bootstrap_token or active_token_count(engine)
        ):
            raise UnsafeConfiguration(
                f"refusing to serve on {settings.host} without authentication: create a token "
                "with `mimir token create NAME --scope admin` or set MIMIR_BOOTSTRAP_TOKEN"
            )
        return "authentication required (bearer tokens)"
    return (
        "OPEN MODE: no API token exists, so anyone on this machine can call the API. "
        "Create one with `mimir token create NAME --scope admin` to require tokens."
    )


def _custom_openapi(app: FastAPI, schemas: dict[str, Any]) -> Callable[[], dict[str, Any]]:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            spec = get_openapi(
                title="Mimir AIP",
                version=__version__,
                description="REST API of Mimir AIP. Every operation is also an MCP tool at /mcp.",
                routes=app.routes,
            )
            components = spec.setdefault("components", {})
            components.setdefault("schemas", {}).update(schemas)
            components["schemas"]["Problem"] = Problem.model_json_schema(
                ref_template="#/components/schemas/{model}"
            )
            components["schemas"].update(components["schemas"]["Problem"].pop("$defs", {}))
            components["securitySchemes"] = {
                "bearerAuth": {"type": "http", "scheme": "bearer", "description": "Mimir token."}
            }
            app.openapi_schema = spec
        return app.openapi_schema

    return openapi


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the Mimir ASGI app for `settings` (default: from the environment)."""
    settings = settings or get_settings()
    check_secrets(settings)  # before anything connects with them
    engine = make_engine(settings.resolved_database_url)
    migrate(engine)
    auth_mode = check_startup_safety(settings, engine)
    registry = build_registry()
    mcp_server = build_mcp_server(registry, settings, engine, actor_for=http_actor)
    mcp_server.streamable_http_app(
        stateless_http=True,
        json_response=True,
        host=settings.host,
        max_request_body_size=settings.max_body_bytes,
        # Host/Origin/Content-Type are checked once for REST and MCP alike (api/guard.py).
        transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
    )
    session_manager = mcp_server.session_manager

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        log.warning("Mimir API: %s", auth_mode)
        async with session_manager.run():
            yield
        engine.dispose()

    app = FastAPI(
        title="Mimir AIP",
        version=__version__,
        lifespan=lifespan,
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.registry = registry
    app.state.auth_mode = auth_mode
    install_problem_handlers(app)
    schemas = install_rest_routes(app, registry)
    install_upload_routes(app, API_PREFIX)
    install_sparql_routes(app)
    app.router.routes.append(
        Route(
            "/mcp",
            endpoint=MCPAuth(StreamableHTTPASGIApp(session_manager), settings, engine),
            methods=["GET", "POST", "DELETE"],
        )
    )
    ui_dir = settings.resolved_ui_dir
    install_docs(app, ui_dir, f"{API_PREFIX}/docs", f"{API_PREFIX}/openapi.json")
    if ui_dir.is_dir():
        app.mount("/", StaticFiles(directory=ui_dir, html=True), name="ui")
    else:
        log.warning("UI folder %s not found; serving the API only", ui_dir)
    app.openapi = _custom_openapi(app, schemas)  # type: ignore[method-assign]
    app.add_middleware(
        BodyLimitMiddleware,
        max_bytes=settings.max_body_bytes,
        upload_max_bytes=settings.max_upload_bytes,
        upload_suffixes=UPLOAD_PATHS,
    )
    app.add_middleware(BrowserGuardMiddleware, settings=settings)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=[
                "Authorization",
                "Content-Type",
                "Mcp-Session-Id",
                "Mcp-Protocol-Version",
            ],
            expose_headers=["Mcp-Session-Id", "WWW-Authenticate"],
        )
    return app
