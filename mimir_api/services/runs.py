"""Follow any flow run Mimir started for a project: pipeline runs, extractions, loading
tables after an accept, exports (and whatever later capabilities start: training, detection).

An operation that starts heavy work answers at once with `RunStarted` (the flow-run id); the
caller follows it here until its state is final, then reads its `result` — what the flow
recorded (see `flows.runs.record_result`). Prefect keeps the runs; Mimir keeps nothing.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from prefect.client.schemas.objects import FlowRun
from pydantic import BaseModel, Field, field_validator

from flows.runs import get_project_run as read_project_run
from flows.runs import is_final, run_summary
from flows.runs import list_project_runs as read_project_runs
from mimir_api.core.errors import NotFound, unavailable_on_failure
from mimir_api.core.security import Scope
from mimir_api.db.models import as_utc
from mimir_api.services.context import ServiceContext
from mimir_api.services.inputs import ProjectName, StrictInput
from mimir_api.services.project_access import project_row
from mimir_api.services.registry import operation


class RunStarted(BaseModel):
    """A run that was just created; the worker starts it within seconds."""

    flow_run_id: str = Field(description="Prefect flow-run id (follow it with get_project_run).")
    flow_run_name: str = Field(description="Prefect's name for the run.")
    state: str = Field(description="Initial state (SCHEDULED).")
    deployment: str = Field(description="Prefect deployment (flow/deployment).")


def started(flow_run: FlowRun, deployment: str) -> RunStarted:
    """The answer of an operation that started a run."""
    summary = run_summary(flow_run)
    return RunStarted(
        flow_run_id=summary["id"],
        flow_run_name=summary["name"],
        state=summary["state"] if flow_run.state else "SCHEDULED",
        deployment=deployment,
    )


class ProjectRunsQuery(StrictInput):
    """Input of list_project_runs."""

    project: ProjectName
    kind: str | None = Field(
        default=None,
        pattern=r"^[a-z][a-z0-9-]{0,40}$",
        description="Only runs of this kind: pipeline, extraction, load-tables, export …",
    )
    limit: int = Field(default=20, ge=1, le=200, description="Most runs to return, newest first.")


class ProjectRunRef(StrictInput):
    """Input of get_project_run."""

    project: ProjectName
    run_id: uuid.UUID = Field(description="Prefect flow-run id.")


class ProjectRun(BaseModel):
    """A flow run Mimir started for the project."""

    id: str = Field(description="Flow-run id.")
    name: str = Field(description="Flow-run name.")
    kind: str | None = Field(description="What the run does: pipeline, extraction, export …")
    state: str = Field(description="Prefect state type (SCHEDULED, RUNNING, COMPLETED, FAILED, …).")
    state_name: str = Field(description="Prefect state name.")
    final: bool = Field(description="True once the run has ended (its state will not change).")
    message: str | None = Field(description="State message (the failure reason, if failed).")
    created: datetime | None = Field(description="When it was created.")
    start_time: datetime | None = Field(description="When it started.")
    end_time: datetime | None = Field(description="When it ended.")
    duration_s: float | None = Field(description="Run time in seconds.")
    parameters: dict[str, Any] = Field(description="The flow run's parameters.")
    tags: list[str] = Field(description="Prefect tags.")

    @field_validator("created", "start_time", "end_time")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        return None if value is None else as_utc(value)


class ProjectRunDetail(ProjectRun):
    """A run with the result it recorded."""

    result: dict[str, Any] | None = Field(
        description="What the run recorded when it finished (None while running or if nothing)."
    )


class ProjectRunList(BaseModel):
    """Runs, newest first."""

    items: list[ProjectRun] = Field(description="Runs.")


def _final(summary: dict[str, Any]) -> dict[str, Any]:
    return {**summary, "final": is_final(summary)}


def _created(ctx: ServiceContext, name: str) -> datetime:
    """When the project was created: runs from before belong to an earlier project of the
    same name (deleted since), not to this one."""
    with ctx.session() as session:
        return as_utc(project_row(session, name).created_at)


@operation(method="GET", path="/projects/{project}/runs", scope=Scope.READ, tags=("runs",))
def list_project_runs(ctx: ServiceContext, params: ProjectRunsQuery) -> ProjectRunList:
    """Every flow run Mimir started for the project (or those of one kind), newest first."""
    since = _created(ctx, params.project)
    with unavailable_on_failure("could not read runs from Prefect"):
        runs = read_project_runs(params.project, params.kind, params.limit, since)
    return ProjectRunList(items=[ProjectRun(**_final(run)) for run in runs])


@operation(
    method="GET", path="/projects/{project}/runs/{run_id}", scope=Scope.READ, tags=("runs",)
)
def get_project_run(ctx: ServiceContext, params: ProjectRunRef) -> ProjectRunDetail:
    """One run: state, timings, error message, and the result it recorded once finished."""
    since = _created(ctx, params.project)
    with unavailable_on_failure("could not read the run from Prefect"):
        run = read_project_run(params.project, params.run_id, since)
    if run is None:
        raise NotFound(f"project '{params.project}' has no run {params.run_id}", field="run_id")
    return ProjectRunDetail(**_final(run))
