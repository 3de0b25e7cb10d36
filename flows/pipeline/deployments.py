"""Pipelines as Prefect deployments, and their runs as Prefect flow runs.

Each saved pipeline becomes one deployment: its *flow* is named after the pipeline and its
*deployment* after the project (`fetch-orders/sales` in the Prefect UI), its entrypoint is the
generic `run-pipeline` flow, and the pipeline's YAML rides along as a default parameter, so a
worker (a process or a pod) needs only Mimir's code to run it. Mimir keeps no run history of its
own: everything below reads Prefect's API.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from prefect.client.orchestration import SyncPrefectClient, get_client
from prefect.client.schemas.actions import DeploymentScheduleCreate
from prefect.client.schemas.filters import (
    DeploymentFilter,
    DeploymentFilterId,
    FlowRunFilter,
    FlowRunFilterExpectedStartTime,
    FlowRunFilterId,
    LogFilter,
    LogFilterFlowRunId,
    TaskRunFilter,
    TaskRunFilterFlowRunId,
)
from prefect.client.schemas.objects import FlowRun, StateType
from prefect.client.schemas.schedules import CronSchedule, IntervalSchedule
from prefect.client.schemas.sorting import FlowRunSort, LogSort
from prefect.events.actions import ChangeFlowRunState
from prefect.events.schemas.automations import AutomationCore, EventTrigger, Posture
from prefect.exceptions import ObjectNotFound
from prefect.states import Cancelling
from prefect.utilities.callables import parameter_schema

from flows.deploy import PULL_STEPS, SOURCE_ROOT
from flows.pipeline.compiler import Plan
from flows.pipeline.flow import ENTRYPOINT, run_pipeline
from flows.pipeline.schema import PipelineDocument
from flows.runs import duration, start_deployment
from flows.runs import run_summary as flow_summary


@dataclass(frozen=True)
class PipelineTarget:
    """What a deployment needs to know about the project it belongs to."""

    project: str
    storage_url: str
    work_pool: str


def _schedules(plan: Plan) -> list[DeploymentScheduleCreate]:
    schedule = plan.document.schedule
    if schedule is None:
        return []
    if schedule.cron:
        return [
            DeploymentScheduleCreate(
                schedule=CronSchedule(cron=schedule.cron, timezone=schedule.timezone)
            )
        ]
    return [
        DeploymentScheduleCreate(
            schedule=IntervalSchedule(interval=schedule.interval_delta, timezone=schedule.timezone)  # type: ignore[arg-type]
        )
    ]


def upsert_deployment(plan: Plan, version: int, target: PipelineTarget) -> str:
    """Create or update the pipeline's deployment (and replace its schedule); returns its id."""
    doc = plan.document
    with get_client(sync_client=True) as client:
        flow_id = client.create_flow_from_name(doc.name)
        deployment_id = client.create_deployment(
            flow_id=flow_id,
            name=target.project,
            version=str(version),
            description=doc.description or f"Mimir {doc.type} pipeline {doc.name}",
            work_pool_name=target.work_pool,
            concurrency_limit=doc.concurrency,
            entrypoint=ENTRYPOINT,
            path=str(SOURCE_ROOT),
            pull_steps=PULL_STEPS,
            parameters={
                "pipeline_yaml": plan.text,
                "project": target.project,
                "storage_url": target.storage_url,
                "version": version,
                "parameters": {},
            },
            parameter_openapi_schema=parameter_schema(run_pipeline).model_dump_for_openapi(),
            enforce_parameter_schema=False,
            # Kubernetes pool: these become the pod labels mimir.project/pipeline/kind;
            # a process pool ignores variables its template does not define.
            job_variables={
                "mimir_project": target.project,
                "mimir_pipeline": doc.name,
                "mimir_kind": "pipeline",
            },
            # the tags every run inherits, scheduled ones too: list_project_runs finds them
            tags=[
                "mimir",
                "mimir-pipeline",
                f"project:{target.project}",
                "kind:pipeline",
                f"type:{doc.type}",
            ],
        )
        for existing in client.read_deployment_schedules(deployment_id):
            client.delete_deployment_schedule(deployment_id, existing.id)
        schedules = _schedules(plan)
        if schedules:
            client.create_deployment_schedules(deployment_id, schedules)
        _replace_crash_retry_automation(client, deployment_id, doc, target.project)
    return str(deployment_id)


def _replace_crash_retry_automation(
    client: SyncPrefectClient, deployment_id: UUID, doc: PipelineDocument, project: str
) -> None:
    """Replace the deployment's own automation that starts crashed runs again (`crash_retries`).

    Prefect's flow `retries` do not apply to CRASHED runs (the process or pod died), so this
    is a deployment-owned automation, the way `prefect deploy` keeps a deployment's triggers:
    on `prefect.flow-run.Crashed` of this deployment's runs it moves the run back to Scheduled
    (AwaitingRetry, like `prefect flow-run retry`) and the work pool's worker starts it again in
    a new process or pod. Prefect's `run_count` (how often the run has started) bounds it: only
    crashes at run counts 1..crash_retries match, so a run that crashed before it started
    (run count 0) is not retried, which also keeps a pod that can never start from looping.
    """
    owner = f"prefect.deployment.{deployment_id}"
    client.delete_resource_owned_automations(owner)
    if doc.crash_retries == 0:
        return
    client.create_automation(
        AutomationCore(
            name=f"mimir: retry crashed runs of {doc.name}/{project}",
            description=f"Pipeline {doc.name} (project {project}): crash_retries "
            f"{doc.crash_retries}. Managed by Mimir; replaced when the pipeline is saved.",
            trigger=EventTrigger(
                expect={"prefect.flow-run.Crashed"},
                match={
                    "prefect.resource.id": "prefect.flow-run.*",
                    "prefect.run-count": [str(n) for n in range(1, doc.crash_retries + 1)],
                },
                match_related={"prefect.resource.role": "deployment", "prefect.resource.id": owner},
                for_each={"prefect.resource.id"},
                posture=Posture.Reactive,
                threshold=1,
                within=timedelta(0),
            ),
            actions=[
                ChangeFlowRunState(
                    state=StateType.SCHEDULED,
                    name="AwaitingRetry",
                    message=f"the run crashed; started again by Mimir (crash_retries: "
                    f"{doc.crash_retries})",
                    force=False,
                )
            ],
            owner_resource=owner,
        )
    )


def delete_deployment(deployment_id: str) -> None:
    """Remove a pipeline's deployment (its scheduled runs and its automation go with it)."""
    with get_client(sync_client=True) as client:
        client.delete_resource_owned_automations(f"prefect.deployment.{deployment_id}")
        try:
            client.delete_deployment(UUID(deployment_id))
        except ObjectNotFound:
            return


def start_run(deployment_id: str, parameters: dict[str, Any], tags: list[str]) -> FlowRun:
    """Create a flow run of the deployment and return at once (the worker picks it up)."""
    return start_deployment(UUID(deployment_id), {"parameters": parameters}, tags)


def run_summary(flow_run: FlowRun) -> dict[str, Any]:
    """A pipeline run as Mimir shows it: `parameters` are the pipeline's run parameters."""
    summary = flow_summary(flow_run)
    summary["parameters"] = summary["parameters"].get("parameters", {})
    return summary


def list_runs(
    deployment_id: str, limit: int, include_upcoming: bool = False
) -> list[dict[str, Any]]:
    """Newest runs of the deployment first; runs scheduled for later only when asked."""
    flow_run_filter = None
    if not include_upcoming:
        flow_run_filter = FlowRunFilter(
            expected_start_time=FlowRunFilterExpectedStartTime(
                before_=datetime.now(UTC)  # type: ignore[arg-type]
            )
        )
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(
            flow_run_filter=flow_run_filter,
            deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[UUID(deployment_id)])),
            sort=FlowRunSort.EXPECTED_START_TIME_DESC,
            limit=limit,
        )
    return [run_summary(run) for run in runs]


def get_run(deployment_id: str, run_id: UUID, log_limit: int = 200) -> dict[str, Any] | None:
    """One run with its task runs (one per executed work step) and its latest logs."""
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run_id])),
            deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[UUID(deployment_id)])),
            limit=1,
        )
        if not runs:
            return None
        tasks = client.read_task_runs(
            task_run_filter=TaskRunFilter(flow_run_id=TaskRunFilterFlowRunId(any_=[run_id])),
            limit=200,  # the Prefect API caps a page at 200
        )
        logs = client.read_logs(
            log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run_id])),
            limit=log_limit,
            sort=LogSort.TIMESTAMP_DESC,
        )
    detail = run_summary(runs[0])
    detail["steps"] = [
        {
            "name": task.name,
            "state": task.state.type.value if task.state else "UNKNOWN",
            "attempts": task.run_count,
            "start_time": task.start_time,
            "end_time": task.end_time,
            "duration_s": duration(task.start_time, task.end_time),
        }
        for task in sorted(tasks, key=lambda t: t.expected_start_time or t.created or datetime.min)
    ]
    detail["logs"] = [
        {"time": log.timestamp, "level": log.level, "message": log.message}
        for log in reversed(logs)
    ]
    return detail


def cancel_run(deployment_id: str, run_id: UUID) -> dict[str, Any] | None:
    """Ask Prefect to cancel a run (the worker stops it); returns the updated summary."""
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run_id])),
            deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[UUID(deployment_id)])),
            limit=1,
        )
        if not runs:
            return None
        if runs[0].state and not runs[0].state.is_final():
            client.set_flow_run_state(
                run_id, Cancelling(message="cancelled through Mimir"), force=True
            )
        return run_summary(client.read_flow_run(run_id))
