"""The `mimir` command line.

`mimir up` runs the platform; `mimir api` serves only the API (what a container runs);
`mimir mcp` serves the MCP tools over stdio; `mimir token …` manages API tokens;
`mimir call OPERATION` runs any registered operation locally, by the same name as the REST
operationId and the MCP tool.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Annotated, Any

import typer
from sqlalchemy import Engine

from mimir_api import __version__
from mimir_api.cli_client import demo, files_app
from mimir_api.cli_pipeline import pipeline_app
from mimir_api.core.config import Settings

app = typer.Typer(
    help="Mimir AIP: ontology-backed data platform on Prefect.",
    no_args_is_help=True,
    add_completion=False,
)
token_app = typer.Typer(help="Create, list and revoke API tokens.", no_args_is_help=True)
db_app = typer.Typer(help="Metadata DB maintenance.", no_args_is_help=True)
app.add_typer(token_app, name="token")
app.add_typer(pipeline_app, name="pipeline")
app.add_typer(db_app, name="db")
app.add_typer(files_app, name="files")
app.command("demo")(demo)

HostOption = Annotated[
    str | None, typer.Option("--host", help="Address to bind (default 127.0.0.1, MIMIR_HOST).")
]
PortOption = Annotated[
    int | None, typer.Option("--port", help="Port to bind (default 8080, MIMIR_PORT).")
]


def _settings(host: str | None = None, port: int | None = None) -> Settings:
    overrides: dict[str, Any] = {"host": host, "port": port}
    return Settings(**{k: v for k, v in overrides.items() if v is not None})


def _platform_settings(*, uses_prefect: bool = True) -> Settings:
    """Settings for a command that works on an existing home (see mimir_api/home.py).

    Finds the home without creating one, points Prefect at the running platform's API (never
    a throw-away server), and says on stderr which home and Prefect API it uses.
    """
    from mimir_api.home import find_home

    choice = find_home()
    if choice.path is None:
        typer.echo(
            "mimir: no Mimir home found: no MIMIR_HOME, no running `mimir up`, no ./.mimir here. "
            "Start `mimir up` (in the folder that should hold .mimir), or set MIMIR_HOME.",
            err=True,
        )
        raise typer.Exit(2)
    prefect = os.environ.get("PREFECT_API_URL")
    prefect_source = "PREFECT_API_URL"
    if not prefect and choice.running is not None:
        prefect, prefect_source = choice.running.prefect_api_url, "the running platform"
    settings = Settings(home=choice.path)
    if not prefect:
        prefect = settings.resolved_prefect_api_url
        prefect_source = "default; no `mimir up` is running on this home"
    os.environ["PREFECT_API_URL"] = prefect  # before Prefect loads: no temporary server
    shown = f"; Prefect API {prefect} ({prefect_source})" if uses_prefect else ""
    typer.echo(f"mimir: home {choice.path} (from {choice.source}){shown}", err=True)
    return Settings(home=choice.path)


def _engine(settings: Settings) -> Engine:
    from mimir_api.db.engine import make_engine, migrate

    engine = make_engine(settings.resolved_database_url)
    migrate(engine)
    return engine


@app.command()
def version() -> None:
    """Print Mimir's version."""
    typer.echo(__version__)


@app.command()
def up(host: HostOption = None, port: PortOption = None) -> None:
    """Run everything locally: Prefect server, process worker, API, MCP and UI."""
    from flows.actions.builtin.net_guard import InvalidAllowList, parse_allow_list
    from flows.settings import RuntimeSettings
    from mimir_api.api.app import UnsafeConfiguration, check_startup_safety
    from mimir_api.supervisor import Supervisor

    try:
        parse_allow_list(RuntimeSettings().http_allowed_hosts)
    except InvalidAllowList as exc:
        typer.echo(f"mimir up: MIMIR_HTTP_ALLOWED_HOSTS: {exc}", err=True)
        raise typer.Exit(2) from None
    settings = _settings(host, port)
    settings.home.mkdir(parents=True, exist_ok=True)
    try:
        typer.echo(f"Auth: {check_startup_safety(settings, _engine(settings))}")
    except UnsafeConfiguration as exc:
        typer.echo(f"mimir up: {exc}", err=True)
        raise typer.Exit(2) from None
    raise typer.Exit(Supervisor(settings, echo=typer.echo).run())


@app.command()
def api(host: HostOption = None, port: PortOption = None) -> None:
    """Serve only the API (REST, MCP, UI); Prefect and workers run elsewhere."""
    import uvicorn

    from mimir_api.api.app import create_app

    settings = _settings(host, port)
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port)


@app.command()
def mcp() -> None:
    """Serve Mimir's MCP tools over stdio (as the local operator, with admin rights)."""
    settings = _platform_settings()  # first: Prefect reads PREFECT_API_URL when it loads
    import anyio
    from mcp.server.stdio import stdio_server

    from mimir_api.core.security import LOCAL_OPERATOR
    from mimir_api.mcp.server import build_mcp_server
    from mimir_api.services.catalog import build_registry

    server = build_mcp_server(
        build_registry(), settings, _engine(settings), actor_for=lambda _ctx: LOCAL_OPERATOR
    )

    async def serve() -> None:
        async with stdio_server() as (read_stream, write_stream):
            await server.run(read_stream, write_stream, server.create_initialization_options())

    anyio.run(serve)


@app.command()
def deploy() -> None:
    """Create the work pool (if missing) and (re)register Mimir's flow deployments."""
    settings = _platform_settings()
    from flows.deploy import ensure_work_pool, register_mimir_deployments

    ensure_work_pool(settings.work_pool)
    for name in register_mimir_deployments(settings.work_pool):
        typer.echo(name)


@app.command("call")
def call(
    operation: Annotated[str, typer.Argument(help="Operation name, e.g. list_projects.")],
    arguments: Annotated[str, typer.Argument(help="JSON object of inputs.")] = "{}",
) -> None:
    """Run one operation locally (as the local operator) and print its JSON result."""
    settings = _platform_settings()  # first: Prefect reads PREFECT_API_URL when it loads
    from mimir_api.core.errors import MimirError
    from mimir_api.core.security import LOCAL_OPERATOR
    from mimir_api.services.catalog import build_registry
    from mimir_api.services.context import ServiceContext
    from mimir_api.services.invoke import invoke

    op = build_registry().get(operation)
    if op is None:
        typer.echo(f"unknown operation {operation!r}; see `mimir operations`", err=True)
        raise typer.Exit(2)
    try:
        raw = json.loads(arguments)
        if not isinstance(raw, dict):
            raise ValueError("expected a JSON object")
    except ValueError as exc:
        typer.echo(f"ARGUMENTS must be a JSON object: {exc}", err=True)
        raise typer.Exit(2) from None
    ctx = ServiceContext(settings=settings, engine=_engine(settings), actor=LOCAL_OPERATOR)
    try:
        result = invoke(op, ctx, raw, dict.fromkeys(raw, "arguments"))
    except MimirError as error:
        typer.echo(error.to_problem().model_dump_json(indent=2, exclude_none=True), err=True)
        raise typer.Exit(1) from None
    typer.echo(result.model_dump_json(indent=2))


@app.command()
def operations() -> None:
    """List every operation: name, HTTP route and required scope."""
    from mimir_api.services.catalog import build_registry

    for op in build_registry():
        typer.echo(
            f"{op.name:24} {op.method:6} /api/v1{op.path:32} {op.scope.value:7} {op.summary}"
        )


@token_app.command("create")
def token_create(
    name: Annotated[str, typer.Argument(help="A name for the token (unique).")],
    scope: Annotated[
        str, typer.Option("--scope", help="Comma-separated: read, write, admin.")
    ] = "read,write",
) -> None:
    """Create a token and print it once; only its digest is stored."""
    from sqlalchemy.exc import IntegrityError

    from mimir_api.core.security import WORKER_NAME, create_token, parse_scopes

    try:
        scopes = parse_scopes(scope)
    except ValueError as exc:
        typer.echo(f"--scope: {exc}", err=True)
        raise typer.Exit(2) from None
    if not 1 <= len(name) <= 63:
        typer.echo("NAME must be 1-63 characters", err=True)
        raise typer.Exit(2)
    if name == WORKER_NAME:
        typer.echo(f"{WORKER_NAME!r} is reserved for Mimir's own worker", err=True)
        raise typer.Exit(2)
    try:
        secret = create_token(_engine(_platform_settings(uses_prefect=False)), name, scopes)
    except IntegrityError:
        typer.echo(f"a token named {name!r} already exists", err=True)
        raise typer.Exit(1) from None
    typer.echo(secret)
    if sys.stderr.isatty():
        typer.echo("Store it now: it cannot be shown again.", err=True)


@token_app.command("list")
def token_list() -> None:
    """List tokens (never their secrets)."""
    from mimir_api.core.security import LOCAL_OPERATOR
    from mimir_api.services.context import ServiceContext
    from mimir_api.services.tokens import TokenListQuery, list_tokens

    settings = _platform_settings(uses_prefect=False)
    ctx = ServiceContext(settings=settings, engine=_engine(settings), actor=LOCAL_OPERATOR)
    for token in list_tokens(ctx, TokenListQuery(include_revoked=True)).items:
        state = "revoked" if token.revoked_at else "active"
        scopes = ",".join(token.scopes)
        typer.echo(f"{token.name:24} {scopes:18} {state:8} created {token.created_at:%Y-%m-%d}")


@token_app.command("revoke")
def token_revoke(name: Annotated[str, typer.Argument(help="The token's name.")]) -> None:
    """Revoke a token; it stops working at once."""
    from mimir_api.core.errors import NotFound
    from mimir_api.core.security import LOCAL_OPERATOR
    from mimir_api.services.context import ServiceContext
    from mimir_api.services.tokens import TokenRef, revoke_token

    settings = _platform_settings(uses_prefect=False)
    ctx = ServiceContext(settings=settings, engine=_engine(settings), actor=LOCAL_OPERATOR)
    try:
        revoke_token(ctx, TokenRef(name=name))
    except NotFound as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    typer.echo(f"revoked {name}")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply pending metadata-DB migrations (also done on every start)."""
    settings = _platform_settings(uses_prefect=False)
    _engine(settings)
    typer.echo(
        f"metadata DB at the newest schema ({settings.resolved_database_url.split('://')[0]})"
    )


def main() -> None:
    """Console-script entry point."""
    app()
