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
    wrote_table: str | None = None  # the table a storage-writing step wrote (its output's)


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
    walk = _Walk(plan, resolve_parameters(plan, parameters), run, runner, stubs)
    walk.run()
    walk.result.context = walk.window.snapshot()
    walk.result.context_bytes = walk.window.size
    return walk.result


class _Stop(Exception):
    """Ends the walk after the current step was recorded (a stop or a failure)."""


class _Walk:
    """The state of one run: the program counter, the context window, jump counters, and the
    result being built. `run` is the loop; each method is one seam of a step's life:
    call the action, follow a jump, or handle a failure through `on_error`."""

    def __init__(
        self,
        plan: Plan,
        params: dict[str, Any],
        run: RunInfo,
        runner: StepRunner,
        stubs: dict[str, Any] | None,
    ) -> None:
        self.plan, self.params, self.info = plan, params, run
        self.runner, self.stubs = runner, stubs
        self.window = ContextWindow(plan.document.context_limit)
        self.result = RunResult(status="completed")
        self.jumps: Counter[str] = Counter()
        self.stub_calls: Counter[str] = Counter()
        self.run_vars = asdict(run)

    def variables(self, extra: dict[str, Any] | None = None) -> dict[str, Any]:
        """What templates see: step outputs, run parameters, the run's identity (+ extra)."""
        base = {"steps": self.window.snapshot(), "params": self.params, "run": self.run_vars}
        return base | (extra or {})

    def render_with(self, value: Any, extra: dict[str, Any]) -> Any:
        return render(value, self.variables(extra))

    def run(self) -> None:
        """Walk the steps until the end, a stop, or an unhandled failure."""
        pc = 0
        while pc < len(self.plan.steps):
            if len(self.result.steps) >= MAX_EXECUTED_STEPS:
                self.result.status = "failed"
                self.result.error = f"run exceeded {MAX_EXECUTED_STEPS} executed steps"
                return
            try:
                pc = self.step(self.plan.steps[pc], pc)
            except _Stop:
                return

    def step(self, planned: PlannedStep, pc: int) -> int:
        """Run one step, record it, and return the index of the next one."""
        step, act = planned.step, planned.action
        runs_as: Literal["task run", "inline", "stub"] = (
            "task run" if act.kind == "work" else "inline"
        )
        record = StepRecord(step.name, step.action, runs_as, "completed", _now(), 0.0)
        clock = time.perf_counter()
        next_pc = pc + 1
        try:
            output = self.call(planned, record)
            if isinstance(output, Jump):
                next_pc = self.follow(step.name, output, record)
                output = output.output
            if act.writes_storage and isinstance(output, dict) and output.get("table"):
                record.wrote_table = str(output["table"])
            if act.kind != "context" or output is not None:
                self.window.set(step.name, output, step=step.name)
        except PipelineStopped as stop:
            record.duration_ms = (time.perf_counter() - clock) * 1000
            self.result.steps.append(record)
            self.result.status, self.result.stop_reason = "stopped", stop.reason
            raise _Stop from None
        except Exception as exc:  # every failure goes through on_error
            next_pc = self.on_error(planned, record, clock, exc, next_pc)
        record.duration_ms = (time.perf_counter() - clock) * 1000
        self.result.steps.append(record)
        return next_pc

    def call(self, planned: PlannedStep, record: StepRecord) -> Any:
        """The step's output: its stub, or its action run inline or as a task run."""
        step, act, doc = planned.step, planned.action, self.plan.document
        ctx = ActionContext(
            step=step.name,
            pipeline=doc.name,
            pipeline_type=doc.type,
            project=self.info.project,
            storage_url=self.info.storage_url,
            run_id=self.info.id,
            window=self.window,
            render=self.render_with,
        )
        if self.stubs is not None and step.name in self.stubs:
            record.runs_as = "stub"
            return _stub_output(self.stubs[step.name], self.stub_calls, step.name)
        params_model = _prepare(step.name, act, step.with_, self.variables())
        if act.kind == "work":
            return self.runner.run(planned, params_model, ctx)
        return act.fn(params_model, ctx)

    def follow(self, step: str, jump: Jump, record: StepRecord) -> int:
        """The index a control action's jump leads to, within its loop bound."""
        self.jumps[step] += 1
        if self.jumps[step] > jump.max_loops:
            raise LoopBoundExceeded(
                step,
                f"loop bound reached: jumped to '{jump.target}' {jump.max_loops} times "
                f"(max_loops={jump.max_loops})",
            )
        record.jumped_to = jump.target
        return self.plan.index_of(jump.target)

    def on_error(
        self, planned: PlannedStep, record: StepRecord, clock: float, exc: Exception, next_pc: int
    ) -> int:
        """Apply the step's `on_error`: fail the run (raises _Stop), or continue — at the
        next step or the `goto` target — with `{error: message}` as the step's output."""
        step = planned.step
        message = exc.message if isinstance(exc, StepFailed) else f"{type(exc).__name__}: {exc}"
        if step.on_error == "fail" or isinstance(exc, Unrecoverable):
            self.fail(record, clock, message, step.name)
        record.status, record.error = "continued", message
        try:
            self.window.set(step.name, {"error": message}, step=step.name)
        except StepFailed as overflow:
            self.fail(record, clock, overflow.message, step.name)
        if not step.error_target:
            return next_pc
        self.jumps[step.name] += 1
        if self.jumps[step.name] > 1000:
            self.fail(record, clock, "on_error goto taken more than 1000 times", step.name)
        record.jumped_to = step.error_target
        return self.plan.index_of(step.error_target)

    def fail(self, record: StepRecord, clock: float, message: str, step: str) -> None:
        """Record the failed step, mark the run failed, and end the walk."""
        _fail(self.result, record, clock, message, step)
        raise _Stop


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
