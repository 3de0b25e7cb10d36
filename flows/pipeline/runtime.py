"""Walk a Plan: render inputs, run actions, store outputs, follow jumps, enforce bounds.

Which steps are Prefect task runs? **Work** actions (I/O, transforms, storage, plugins) are:
they are what can fail, retry and time out, and what a person wants to see in the Prefect UI.
**Control** (`if`, `goto`, `stop`, `fail`) and **context** actions (`context.*`) run inline:
they are bookkeeping that cannot fail transiently, and making each a task run would let a
1000-iteration loop flood the Prefect server with thousands of empty task runs. Inline steps
are not hidden: every executed step, inline or not, is recorded in the run summary (a Prefect
artifact) with its order, timing and jumps.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

from pydantic import ValidationError

from flows.actions.base import (
    Action,
    ActionContext,
    Jump,
    PipelineStopped,
    StepFailed,
    Unrecoverable,
)
from flows.pipeline.compiler import Plan, PlannedStep
from flows.pipeline.context import ContextWindow
from flows.pipeline.errors import LoopBoundExceeded
from flows.pipeline.templates import TemplateFailed, render

MAX_EXECUTED_STEPS = 100_000


@dataclass(frozen=True)
class RunInfo:
    """Identity of the run, visible to templates as `run.*`."""

    id: str
    name: str
    pipeline: str
    project: str = ""
    storage_url: str = ""
    version: int = 0


@dataclass
class StepRecord:
    """One executed step, inline or task run."""

    step: str
    action: str
    runs_as: Literal["task run", "inline", "stub"]
    status: Literal["completed", "failed", "continued"]
    started_at: str
    duration_ms: float
    jumped_to: str | None = None
    error: str | None = None


@dataclass
class RunResult:
    """How a run ended and what happened on the way."""

    status: Literal["completed", "stopped", "failed"]
    steps: list[StepRecord] = field(default_factory=list)
    error: str | None = None
    failed_step: str | None = None
    stop_reason: str | None = None
    context: dict[str, Any] = field(default_factory=dict)
    context_bytes: int = 0

    def summary(self) -> dict[str, Any]:
        """JSON-able summary (the flow's return value)."""
        data = asdict(self)
        data["executed"] = [record["step"] for record in data["steps"]]
        return data


class StepRunner(Protocol):
    """Runs a work action; the Prefect implementation makes it a task run."""

    def run(self, planned: PlannedStep, params: Any, ctx: ActionContext) -> Any: ...


class InlineRunner:
    """Calls actions directly (used for unit tests of actions and by `stub` handling)."""

    def run(self, planned: PlannedStep, params: Any, ctx: ActionContext) -> Any:
        return planned.action.fn(params, ctx)


class InvalidParameters(ValueError):
    """Run parameters missing or of the wrong type."""


_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "object": (dict,),
    "array": (list,),
}


def resolve_parameters(plan: Plan, given: dict[str, Any]) -> dict[str, Any]:
    """Defaults filled in, unknown or missing or mistyped parameters reported together."""
    declared = plan.document.parameters
    problems = [f"unknown parameter '{name}'" for name in given if name not in declared]
    values: dict[str, Any] = {}
    for name, spec in declared.items():
        if name in given:
            value = given[name]
        elif spec.required:
            problems.append(f"parameter '{name}' is required")
            continue
        else:
            value = spec.default
        wrong_bool = isinstance(value, bool) and spec.type in ("integer", "number")
        if value is not None and (wrong_bool or not isinstance(value, _TYPES[spec.type])):
            problems.append(f"parameter '{name}' must be {spec.type}, got {type(value).__name__}")
        values[name] = value
    if problems:
        raise InvalidParameters("; ".join(problems))
    return values


def _now() -> str:
    return datetime.now(UTC).isoformat()


def execute(
    plan: Plan,
    parameters: dict[str, Any],
    run: RunInfo,
    runner: StepRunner,
    stubs: dict[str, Any] | None = None,
) -> RunResult:
    """Run `plan` to completion, a stop, or the first unhandled failure."""
    doc = plan.document
    params = resolve_parameters(plan, parameters)
    window = ContextWindow(doc.context_limit)
    result = RunResult(status="completed")
    jumps: Counter[str] = Counter()
    stub_calls: Counter[str] = Counter()
    run_vars = asdict(run)
    pc = 0

    def variables(extra: dict[str, Any] | None = None) -> dict[str, Any]:
        base = {"steps": window.snapshot(), "params": params, "run": run_vars}
        return base | (extra or {})

    def render_with(value: Any, extra: dict[str, Any]) -> Any:
        return render(value, variables(extra))

    while pc < len(plan.steps):
        if len(result.steps) >= MAX_EXECUTED_STEPS:
            result.status, result.error = (
                "failed",
                f"run exceeded {MAX_EXECUTED_STEPS} executed steps",
            )
            break
        planned = plan.steps[pc]
        step, act = planned.step, planned.action
        started, clock = _now(), time.perf_counter()
        runs_as: Literal["task run", "inline", "stub"] = (
            "task run" if act.kind == "work" else "inline"
        )
        record = StepRecord(step.name, step.action, runs_as, "completed", started, 0.0)
        next_pc = pc + 1
        try:
            ctx = ActionContext(
                step=step.name,
                pipeline=doc.name,
                pipeline_type=doc.type,
                project=run.project,
                storage_url=run.storage_url,
                run_id=run.id,
                window=window,
                render=render_with,
            )
            if stubs is not None and step.name in stubs:
                record.runs_as = "stub"
                output = _stub_output(stubs[step.name], stub_calls, step.name)
            else:
                params_model = _prepare(step.name, act, step.with_, variables())
                output = (
                    runner.run(planned, params_model, ctx)
                    if act.kind == "work"
                    else act.fn(params_model, ctx)
                )
            if isinstance(output, Jump):
                jumps[step.name] += 1
                if jumps[step.name] > output.max_loops:
                    raise LoopBoundExceeded(
                        step.name,
                        f"loop bound reached: jumped to '{output.target}' {output.max_loops} times "
                        f"(max_loops={output.max_loops})",
                    )
                record.jumped_to = output.target
                next_pc = plan.index_of(output.target)
                output = output.output
            if act.kind != "context" or output is not None:
                window.set(step.name, output, step=step.name)
        except PipelineStopped as stop:
            record.duration_ms = (time.perf_counter() - clock) * 1000
            result.steps.append(record)
            result.status, result.stop_reason = "stopped", stop.reason
            break
        except Exception as exc:  # every failure goes through on_error
            message = exc.message if isinstance(exc, StepFailed) else f"{type(exc).__name__}: {exc}"
            if step.on_error == "fail" or isinstance(exc, Unrecoverable):
                _fail(result, record, clock, message, step.name)
                break
            record.status, record.error = "continued", message
            try:
                window.set(step.name, {"error": message}, step=step.name)
            except StepFailed as overflow:
                _fail(result, record, clock, overflow.message, step.name)
                break
            if step.error_target:
                jumps[step.name] += 1
                if jumps[step.name] > 1000:
                    _fail(
                        result, record, clock, "on_error goto taken more than 1000 times", step.name
                    )
                    break
                record.jumped_to = step.error_target
                next_pc = plan.index_of(step.error_target)
        record.duration_ms = (time.perf_counter() - clock) * 1000
        result.steps.append(record)
        pc = next_pc
    result.context = window.snapshot()
    result.context_bytes = window.size
    return result


def _fail(result: RunResult, record: StepRecord, clock: float, message: str, step: str) -> None:
    record.status, record.error = "failed", message
    record.duration_ms = (time.perf_counter() - clock) * 1000
    result.steps.append(record)
    result.status, result.error, result.failed_step = "failed", f"step '{step}': {message}", step


def _prepare(step: str, act: Action, raw: dict[str, Any], variables: dict[str, Any]) -> Any:
    """Render the step's inputs (except deferred ones) and validate them."""
    try:
        rendered = {
            key: (value if key in act.deferred else render(value, variables))
            for key, value in raw.items()
        }
    except TemplateFailed as exc:
        raise StepFailed(step, str(exc)) from None
    try:
        return act.params.model_validate(rendered)
    except ValidationError as exc:
        details = "; ".join(
            f"with.{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise StepFailed(step, f"invalid inputs after rendering templates: {details}") from None


def _stub_output(stub: Any, calls: Counter[str], step: str) -> Any:
    """A stubbed step returns its stub; a list under `sequence` gives one item per call."""
    if isinstance(stub, dict) and set(stub) == {"sequence"} and isinstance(stub["sequence"], list):
        index = calls[step]
        calls[step] += 1
        if index >= len(stub["sequence"]):
            raise StepFailed(step, f"stub sequence exhausted after {index} calls")
        return stub["sequence"][index]
    return stub
