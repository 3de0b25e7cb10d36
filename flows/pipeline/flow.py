"""The Prefect flow every pipeline deployment runs.

A pipeline's deployment stores its YAML as a default parameter, so a worker (process or pod)
needs nothing but this code to run it: the flow recompiles the YAML, walks the plan with each
work step as a Prefect task run named after the step, publishes a run summary artifact, and
fails the flow run when the pipeline fails. The deployment's *flow* is named after the
pipeline, so the Prefect UI lists pipelines by name.
"""

from __future__ import annotations

import logging
from typing import Any

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.context import get_run_context
from prefect.logging import get_run_logger

from domain.extraction_hold import extraction_hold
from domain.raw_area import RAW_PREFIX
from flows.actions.base import ActionContext, PermanentError, StepFailed
from flows.actions.registry import load_registry
from flows.ontology_flow import start_extraction
from flows.pipeline.compiler import Plan, PlannedStep, compile_pipeline
from flows.pipeline.runtime import RunInfo, RunResult, execute
from flows.runs import record_result
from flows.settings import runtime_settings

ENTRYPOINT = "flows/pipeline/flow.py:run_pipeline"
MAX_INLINE_LOG_LINES = 200  # a long loop logs its tail, not thousands of lines


class PipelineRunFailed(Exception):
    """The pipeline failed; the message names the step and the reason."""


def _retryable(task_obj: Any, task_run: Any, state: Any) -> bool:
    """Retry transient failures only: bad input, refused addresses and 4xx are permanent."""
    try:
        state.result(raise_on_failure=True)
    except (PermanentError, StepFailed):
        return False
    except Exception:  # anything else (timeouts, 5xx, connection errors) may pass next time
        return True
    return True


def _call_action(planned: PlannedStep, params: Any, ctx: ActionContext) -> Any:
    return planned.action.fn(params, ctx)


class PrefectTaskRunner:
    """Runs each work step as a Prefect task run named after the step."""

    def __init__(self) -> None:
        self._tasks: dict[str, Any] = {}

    def run(self, planned: PlannedStep, params: Any, ctx: ActionContext) -> Any:
        step = planned.step
        step_task = self._tasks.get(step.name)
        if step_task is None:
            step_task = task(  # type: ignore[call-overload]
                _call_action,
                name=step.name,
                task_run_name=step.name,
                retries=step.retries,
                retry_delay_seconds=step.retry_delay,
                retry_condition_fn=_retryable,
                timeout_seconds=step.timeout,
                cache_policy=NO_CACHE,
                persist_result=False,
            )
            self._tasks[step.name] = step_task
        return step_task(planned, params, ctx)


def _summary_markdown(plan: Plan, result: RunResult) -> str:
    lines = [
        f"# Pipeline `{plan.document.name}` — {result.status}",
        "",
        f"Executed steps: {len(result.steps)}; context: {result.context_bytes} bytes "
        f"of {plan.document.context_limit}.",
    ]
    if result.error:
        lines += ["", f"**Error:** {result.error}"]
    lines += [
        "",
        "| # | step | action | runs as | status | ms | jumped to |",
        "|---|---|---|---|---|---|---|",
    ]
    shown = result.steps if len(result.steps) <= 200 else result.steps[:100] + result.steps[-100:]
    for number, record in enumerate(shown, 1):
        lines.append(
            f"| {number} | {record.step} | {record.action} | {record.runs_as} | {record.status} | "
            f"{record.duration_ms:.1f} | {record.jumped_to or ''} |"
        )
    if len(result.steps) > 200:
        lines.append(f"\n({len(result.steps) - 200} steps in the middle omitted)")
    return "\n".join(lines)


def run_plan(
    plan: Plan,
    parameters: dict[str, Any],
    run: RunInfo,
    stubs: dict[str, Any] | None = None,
) -> RunResult:
    """Execute `plan` inside the current flow run and publish its summary."""
    result = execute(plan, parameters, run, PrefectTaskRunner(), stubs)
    try:
        create_markdown_artifact(
            markdown=_summary_markdown(plan, result),
            key=f"pipeline-{plan.document.name}",
            description=f"Run summary of pipeline {plan.document.name}",
        )
    except Exception as exc:  # a summary must never change the run's outcome
        logging.getLogger("mimir.pipeline").warning("could not publish run summary: %s", exc)
    return result


@flow(name="run-pipeline", persist_result=False, validate_parameters=True)
def run_pipeline(
    pipeline_yaml: str,
    parameters: dict[str, Any] | None = None,
    project: str = "",
    storage_url: str = "",
    version: int = 0,
    stubs: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Compile and run one pipeline; fails the flow run when the pipeline fails."""
    plan = compile_pipeline(pipeline_yaml, load_registry(), source=f"pipeline:{project}")
    flow_run = get_run_context().flow_run  # type: ignore[union-attr]
    run = RunInfo(
        id=str(flow_run.id) if flow_run else "local",
        name=flow_run.name if flow_run else "local",
        pipeline=plan.document.name,
        project=project,
        storage_url=storage_url,
        version=version,
    )
    logger = get_run_logger()
    logger.info(
        "pipeline %s v%s (%s): %d steps",
        plan.document.name,
        version,
        plan.document.type,
        len(plan.steps),
    )
    result = run_plan(plan, parameters or {}, run, stubs)
    inline = [record for record in result.steps if record.runs_as != "task run"]
    if len(inline) > MAX_INLINE_LOG_LINES:
        logger.info(
            "%d inline steps ran; logging the last %d (the run summary has the rest)",
            len(inline),
            MAX_INLINE_LOG_LINES,
        )
    for record in inline[-MAX_INLINE_LOG_LINES:]:
        if record.runs_as != "task run":
            logger.info(
                "step %s (%s, %s) %s%s",
                record.step,
                record.action,
                record.runs_as,
                record.status,
                f" → {record.jumped_to}" if record.jumped_to else "",
            )
    if result.status == "failed":
        logger.error("pipeline failed: %s", result.error)
        raise PipelineRunFailed(result.error)
    extraction = (
        _start_extraction_after(result, run, logger) if plan.document.type == "ingestion" else None
    )
    _record_outcome(result, extraction, logger)
    return result.summary() | {"run_id": run.id, "pipeline": plan.document.name}


def _record_outcome(result: RunResult, extraction: dict[str, str] | None, logger: Any) -> None:
    """What `get_project_run` shows for a pipeline run: how it ended, the tables it wrote and
    the extraction it started (or why none started), so the user can follow on from it."""
    outcome: dict[str, Any] = {
        "status": result.status,
        "executed_steps": len(result.steps),
        "stop_reason": result.stop_reason,
        "wrote_tables": sorted({r.wrote_table for r in result.steps if r.wrote_table}),
    }
    if extraction is not None:
        outcome["extraction"] = extraction
    try:
        record_result(outcome, "Pipeline run outcome")
    except Exception as exc:  # the outcome record must never change the run's outcome
        logger.warning("could not record the run outcome: %s", exc)


def _wrote_raw(result: RunResult) -> bool:
    """Whether a step landed records in the raw area (storage.write with `source:`).

    Read from the executed steps, not the final context: a later `context.clear` (or a step
    overwriting its output in a loop) must not hide that raw records were written.
    """
    return any(
        record.wrote_table is not None and record.wrote_table.startswith(RAW_PREFIX)
        for record in result.steps
    )


def _start_extraction_after(
    result: RunResult, run: RunInfo, logger: Any
) -> dict[str, str] | None:
    """Start `extract-ontology` for the project once an ingestion run wrote raw records.

    Returns `{run_id}` or `{skipped: why}` (None when no raw records were written): skipped,
    with a log line, while extraction is on hold or without an API to hand the result to
    (`mimir pipeline run`, in-process flow tests); a failure to start it is logged and never
    fails the ingestion.
    """
    if not (run.project and run.storage_url and _wrote_raw(result)):
        return None
    hold = extraction_hold(run.storage_url)
    if hold is not None:
        logger.info(
            "raw records were written, but automatic ontology extraction is on hold for "
            "project %s (%s, by %s); release it or start one with run_ontology_extraction",
            run.project,
            hold.get("reason") or "no reason given",
            hold.get("by"),
        )
        return {"skipped": f"on hold: {hold.get('reason') or 'no reason given'}"}
    if not runtime_settings().api_url:
        logger.info(
            "raw records were written, but MIMIR_API_URL is not set here, so no ontology "
            "extraction was started (start one with run_ontology_extraction)"
        )
        return {"skipped": "MIMIR_API_URL is not set"}
    try:
        started = start_extraction(
            run.project, run.storage_url, trigger=f"pipeline:{run.pipeline}", started_by=run.id
        )
    except Exception as exc:
        logger.warning("could not start ontology extraction: %s", exc)
        return {"skipped": f"could not start: {exc}"[:500]}
    logger.info("started ontology extraction %s (%s)", started.name, started.id)
    return {"run_id": str(started.id)}
