"""System operations: liveness, readiness, what this server is, and an end-to-end selfcheck."""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit, urlunsplit

import httpx
from pydantic import BaseModel, Field
from sqlalchemy import text

from flows.deploy import run_selfcheck as trigger_selfcheck
from mimir_api import __version__
from mimir_api.core.errors import Unavailable, unavailable_on_failure
from mimir_api.core.security import Scope, auth_required
from mimir_api.services.context import ServiceContext
from mimir_api.services.inputs import NoInput, StrictInput
from mimir_api.services.registry import operation


class Health(BaseModel):
    """Liveness: the process answers."""

    status: Literal["ok"] = Field(description="Always 'ok' when the server answers.")
    version: str = Field(description="Mimir version.")


class Check(BaseModel):
    """The outcome of one readiness check."""

    ok: bool = Field(description="Whether the dependency answered.")
    detail: str = Field(description="What was checked, or why it failed.")


class Readiness(BaseModel):
    """Readiness: every dependency answered."""

    ready: bool = Field(description="True when all checks passed.")
    checks: dict[str, Check] = Field(description="One entry per dependency.")


class SystemInfo(BaseModel):
    """What this server is and how it is configured (no secrets)."""

    version: str = Field(description="Mimir version.")
    auth_required: bool = Field(description="Whether requests need a bearer token right now.")
    caller: str = Field(description="Who this request was authenticated as.")
    prefect_api_url: str = Field(description="The Prefect API Mimir uses.")
    prefect_ui_url: str = Field(description="Where the Prefect UI is.")
    work_pool: str = Field(description="Prefect work pool of Mimir's deployments.")
    storage_url: str = Field(description="Base URL of project storage objects.")


class SelfcheckInput(StrictInput):
    """Input of run_selfcheck."""

    echo: str = Field(default="ok", max_length=200, description="Text the flow run echoes back.")
    timeout_s: float = Field(
        default=60, gt=0, le=300, description="How long to wait for the run to finish."
    )


class SelfcheckResult(BaseModel):
    """The selfcheck flow run and the state it reached."""

    flow_run_id: str = Field(description="Prefect flow-run id (see it in the Prefect UI).")
    flow_run_name: str = Field(description="Prefect's name for the run.")
    state: str = Field(description="Prefect state type, COMPLETED on success.")
    state_name: str = Field(description="Prefect state name.")


def _prefect_ui_url(api_url: str) -> str:
    parts = urlsplit(api_url)
    path = parts.path[: -len("/api")] if parts.path.endswith("/api") else parts.path
    return urlunsplit((parts.scheme, parts.netloc, path or "/", "", ""))


@operation(method="GET", path="/health", scope=Scope.PUBLIC, tags=("system",))
def get_health(ctx: ServiceContext, params: NoInput) -> Health:
    """Liveness probe: answers while the process runs, needs no token."""
    return Health(status="ok", version=__version__)


@operation(method="GET", path="/ready", scope=Scope.PUBLIC, tags=("system",))
def get_readiness(ctx: ServiceContext, params: NoInput) -> Readiness:
    """Readiness probe: checks the metadata DB and the Prefect API; 503 when either fails."""
    checks: dict[str, Check] = {}
    try:
        with ctx.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        checks["database"] = Check(ok=True, detail=ctx.engine.url.get_backend_name())
    except Exception as exc:  # any driver error means "not ready", and says which
        checks["database"] = Check(ok=False, detail=f"{type(exc).__name__}: {exc}"[:300])
    api_url = ctx.settings.resolved_prefect_api_url
    try:
        response = httpx.get(f"{api_url}/health", timeout=3)
        checks["prefect"] = Check(
            ok=response.status_code == 200, detail=f"{api_url} answered {response.status_code}"
        )
    except httpx.HTTPError as exc:
        checks["prefect"] = Check(ok=False, detail=f"{api_url} unreachable: {exc}"[:300])
    report = Readiness(ready=all(c.ok for c in checks.values()), checks=checks)
    if not report.ready:
        failed = "; ".join(f"{k}: {c.detail}" for k, c in checks.items() if not c.ok)
        raise Unavailable(f"not ready: {failed}")
    return report


@operation(method="GET", path="/system", scope=Scope.READ, tags=("system",))
def get_system_info(ctx: ServiceContext, params: NoInput) -> SystemInfo:
    """Describe this Mimir server: version, auth mode, Prefect and storage locations."""
    api_url = ctx.settings.resolved_prefect_api_url
    return SystemInfo(
        version=__version__,
        auth_required=auth_required(ctx.settings, ctx.engine),
        caller=ctx.actor.name,
        prefect_api_url=api_url,
        prefect_ui_url=_prefect_ui_url(api_url),
        work_pool=ctx.settings.work_pool,
        storage_url=ctx.settings.resolved_storage_url,
    )


@operation(method="POST", path="/system/selfcheck", scope=Scope.WRITE, tags=("system",))
def run_selfcheck(ctx: ServiceContext, params: SelfcheckInput) -> SelfcheckResult:
    """Run the `mimir-selfcheck` flow on the work pool and wait for it.

    Proves the whole execution path: API → Prefect → worker (process or pod) → back.
    """
    with unavailable_on_failure("could not run the selfcheck flow"):
        outcome = trigger_selfcheck(params.echo, params.timeout_s)
    return SelfcheckResult(**outcome)
