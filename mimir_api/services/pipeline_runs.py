"""Pipeline runs: start (via Prefect's `run_deployment`), list, inspect, cancel, and webhooks.

A run *is* a Prefect flow run; these operations read and steer it through Prefect's API and
keep nothing of their own. A webhook lets an outside system start a run with a per-pipeline
secret, which Mimir shows once when it is created and stores only as a digest.
"""

from __future__ import annotations

import hmac
import secrets
import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field, field_validator

from flows.pipeline.deployments import cancel_run, get_run, list_runs, start_run
from flows.pipeline.runtime import InvalidParameters, resolve_parameters
from flows.runs import project_tags
from mimir_api.core.errors import (
    InvalidInput,
    NotFound,
    Unauthorized,
    Unavailable,
    unavailable_on_failure,
)
from mimir_api.core.security import Scope, hash_token
from mimir_api.db.models import Pipeline, as_utc
from mimir_api.services.context import ServiceContext
from mimir_api.services.inputs import PipelineName, ProjectName, StrictInput
from mimir_api.services.pipelines import PipelineRef, compile_or_raise, current_yaml, pipeline_row
from mimir_api.services.project_access import project_row
from mimir_api.services.registry import operation
from mimir_api.services.runs import RunStarted, started


class RunStart(PipelineRef):
    """Input of run_pipeline."""

    parameters: dict[str, Any] = Field(default_factory=dict, description="Run parameters.")


class RunRef(PipelineRef):
    """Input of operations that address one run."""

    run_id: uuid.UUID = Field(description="Prefect flow-run id.")


class RunListQuery(PipelineRef):
    """Input of list_pipeline_runs."""

    limit: int = Field(default=20, ge=1, le=200, description="Most runs to return, newest first.")
    include_upcoming: bool = Field(
        default=False, description="Also list runs a schedule created for later."
    )


class WebhookTrigger(StrictInput):
    """Input of trigger_pipeline_webhook."""

    project: ProjectName
    name: PipelineName
    secret: str = Field(min_length=1, max_length=200, description="The pipeline's webhook secret.")
    parameters: dict[str, Any] = Field(default_factory=dict, description="Run parameters.")


class RunSummary(BaseModel):
    """A run as read from Prefect."""

    id: str = Field(description="Flow-run id.")
    name: str = Field(description="Flow-run name.")
    state: str = Field(description="Prefect state type (SCHEDULED, RUNNING, COMPLETED, FAILED, …).")
    state_name: str = Field(description="Prefect state name.")
    message: str | None = Field(description="State message (the failure reason, if failed).")
    created: datetime | None = Field(description="When it was created.")
    start_time: datetime | None = Field(description="When it started.")
    end_time: datetime | None = Field(description="When it ended.")
    duration_s: float | None = Field(description="Run time in seconds.")
    parameters: dict[str, Any] = Field(description="The run's pipeline parameters.")
    tags: list[str] = Field(description="Prefect tags.")

    @field_validator("created", "start_time", "end_time")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        return None if value is None else as_utc(value)


class StepRun(BaseModel):
    """A work step's Prefect task run."""

    name: str = Field(description="Step name.")
    state: str = Field(description="Task-run state type.")
    attempts: int = Field(description="Tries taken (retries + 1 when it retried).")
    start_time: datetime | None = Field(description="Start.")
    end_time: datetime | None = Field(description="End.")
    duration_s: float | None = Field(description="Seconds.")


class LogLine(BaseModel):
    """One log line of the run."""

    time: datetime = Field(description="Timestamp.")
    level: int = Field(description="Python log level.")
    message: str = Field(description="Text.")


class RunDetail(RunSummary):
    """A run with its step task runs and latest logs."""

    steps: list[StepRun] = Field(description="Work steps (task runs) in start order.")
    logs: list[LogLine] = Field(description="The latest log lines, oldest first.")


class RunList(BaseModel):
    """Runs, newest first."""

    items: list[RunSummary] = Field(description="Runs.")


class WebhookCreated(BaseModel):
    """A new webhook secret: shown this once, stored only as a digest."""

    url: str = Field(description="Path to POST to (with {secret, parameters}).")
    secret: str = Field(description="The secret; store it now, it cannot be shown again.")


def _deployment_of(ctx: ServiceContext, project: str, name: str) -> tuple[Pipeline, str]:
    with ctx.session() as session:
        row = pipeline_row(session, project_row(session, project), name)
        if not row.deployment_id:
            raise Unavailable(f"pipeline '{name}' has no Prefect deployment; save it again")
        session.expunge(row)
        return row, row.deployment_id


def _start(
    ctx: ServiceContext, project: str, name: str, parameters: dict[str, Any], via: str
) -> RunStarted:
    with ctx.session() as session:
        row = pipeline_row(session, project_row(session, project), name)
        plan = compile_or_raise(current_yaml(session, row), name)
        deployment_id = row.deployment_id
    try:
        resolve_parameters(plan, parameters)
    except InvalidParameters as exc:
        raise InvalidInput(str(exc), field="parameters") from None
    if not deployment_id:
        raise Unavailable(f"pipeline '{name}' has no Prefect deployment; save it again")
    with unavailable_on_failure("Prefect could not start the run"):
        tags = [*project_tags(project, "pipeline", via), "mimir-pipeline"]
        flow_run = start_run(deployment_id, parameters, tags=tags)
    return started(flow_run, deployment=f"{name}/{project}")


@operation(
    method="POST",
    path="/projects/{project}/pipelines/{name}/runs",
    scope=Scope.WRITE,
    status_code=201,
    tags=("pipeline runs",),
)
def run_pipeline(ctx: ServiceContext, params: RunStart) -> RunStarted:
    """Start a run now (returns the flow-run id at once; follow it with get_pipeline_run)."""
    return _start(ctx, params.project, params.name, params.parameters, via=f"api:{ctx.actor.name}")


@operation(
    method="GET",
    path="/projects/{project}/pipelines/{name}/runs",
    scope=Scope.READ,
    tags=("pipeline runs",),
)
def list_pipeline_runs(ctx: ServiceContext, params: RunListQuery) -> RunList:
    """A pipeline's runs, newest first, as Prefect records them."""
    _, deployment_id = _deployment_of(ctx, params.project, params.name)
    with unavailable_on_failure("could not read runs from Prefect"):
        runs = list_runs(deployment_id, params.limit, params.include_upcoming)
    return RunList(items=[RunSummary(**run) for run in runs])


def _detail(run: dict[str, Any] | None, run_id: uuid.UUID, name: str) -> dict[str, Any]:
    if run is None:
        raise NotFound(f"pipeline '{name}' has no run {run_id}", field="run_id")
    return run


@operation(
    method="GET",
    path="/projects/{project}/pipelines/{name}/runs/{run_id}",
    scope=Scope.READ,
    tags=("pipeline runs",),
)
def get_pipeline_run(ctx: ServiceContext, params: RunRef) -> RunDetail:
    """One run: state, timings, each work step's task run, and the latest logs."""
    _, deployment_id = _deployment_of(ctx, params.project, params.name)
    with unavailable_on_failure("could not read the run from Prefect"):
        run = get_run(deployment_id, params.run_id)
    return RunDetail(**_detail(run, params.run_id, params.name))


@operation(
    method="POST",
    path="/projects/{project}/pipelines/{name}/runs/{run_id}/cancel",
    scope=Scope.WRITE,
    idempotent=True,
    tags=("pipeline runs",),
)
def cancel_pipeline_run(ctx: ServiceContext, params: RunRef) -> RunSummary:
    """Cancel a scheduled or running run (Prefect stops it on the worker)."""
    _, deployment_id = _deployment_of(ctx, params.project, params.name)
    with unavailable_on_failure("could not cancel the run in Prefect"):
        run = cancel_run(deployment_id, params.run_id)
    return RunSummary(**_detail(run, params.run_id, params.name))


@operation(
    method="POST",
    path="/projects/{project}/pipelines/{name}/webhook",
    scope=Scope.WRITE,
    status_code=201,
    tags=("pipeline runs",),
)
def create_pipeline_webhook(ctx: ServiceContext, params: PipelineRef) -> WebhookCreated:
    """Create (or rotate) the pipeline's webhook secret; the old one stops working."""
    secret = "whk_" + secrets.token_urlsafe(24)
    with ctx.session() as session:
        row = pipeline_row(session, project_row(session, params.project), params.name)
        row.webhook_secret_hash = hash_token(secret)
        session.add(row)
        session.commit()
    return WebhookCreated(url=f"/api/v1/hooks/{params.project}/{params.name}", secret=secret)


@operation(
    method="POST",
    path="/hooks/{project}/{name}",
    scope=Scope.PUBLIC,
    status_code=201,
    tags=("pipeline runs",),
)
def trigger_pipeline_webhook(ctx: ServiceContext, params: WebhookTrigger) -> RunStarted:
    """Start a run from an outside system, authenticated by the pipeline's webhook secret.

    A missing project, a missing pipeline and a wrong secret get the same answer, so the public
    endpoint does not tell strangers which projects and pipelines exist.
    """
    expected: str | None = None
    try:
        with ctx.session() as session:
            row = pipeline_row(session, project_row(session, params.project), params.name)
            expected = row.webhook_secret_hash
    except NotFound:
        pass
    given = hash_token(params.secret)
    if not expected or not hmac.compare_digest(expected, given):
        raise Unauthorized("wrong or missing webhook secret", field="secret")
    return _start(ctx, params.project, params.name, params.parameters, via="webhook")
