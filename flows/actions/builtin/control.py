"""Control flow: `if`, `goto`, `for_each`, `fail`, `stop`.

Jumps are bounded: every `if`/`goto` carries `max_loops` (default 1000), and the runtime
fails the run with a clear message when a step jumps more often than that.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from flows.actions.base import (
    ActionContext,
    FailRequested,
    Jump,
    PipelineStopped,
    StepFailed,
    StrictParams,
    action,
)
from flows.actions.registry import load_registry
from flows.settings import runtime_settings

DEFAULT_MAX_LOOPS = 1000


class IfParams(StrictParams):
    """Inputs of if."""

    condition: Any = Field(description="A template; truthy takes `then`, falsy takes `else`.")
    then: str | None = Field(default=None, description="Step to jump to when true.")
    else_: str | None = Field(default=None, alias="else", description="Step to jump to when false.")
    max_loops: int = Field(
        default=DEFAULT_MAX_LOOPS, ge=1, le=1_000_000, description="Most jumps this step may take."
    )


@action("if", kind="control", step_targets=("then", "else"))
def if_(params: IfParams, ctx: ActionContext) -> Any:
    """Branch: jump to `then` or `else` by the condition; with no target, go on."""
    taken = bool(params.condition)
    target = params.then if taken else params.else_
    output = {"condition": taken}
    return Jump(target, params.max_loops, output) if target else output


class GotoParams(StrictParams):
    """Inputs of goto."""

    target: str = Field(description="Step to jump to.")
    max_loops: int = Field(
        default=DEFAULT_MAX_LOOPS, ge=1, le=1_000_000, description="Most jumps this step may take."
    )


@action("goto", kind="control", step_targets=("target",))
def goto(params: GotoParams, ctx: ActionContext) -> Jump:
    """Jump to another step (bounded by `max_loops`)."""
    return Jump(params.target, params.max_loops, {"target": params.target})


class FailParams(StrictParams):
    """Inputs of fail."""

    message: str = Field(description="Why the run fails.")


@action("fail", kind="control")
def fail(params: FailParams, ctx: ActionContext) -> None:
    """End the run as failed with a message (on_error cannot catch it)."""
    raise FailRequested(ctx.step, params.message)


class StopParams(StrictParams):
    """Inputs of stop."""

    reason: str = Field(default="stopped by the pipeline", description="Why the run ends here.")


@action("stop", kind="control")
def stop(params: StopParams, ctx: ActionContext) -> None:
    """End the run successfully here."""
    raise PipelineStopped(params.reason)


class ForEachParams(StrictParams):
    """Inputs of for_each."""

    items: list[Any] = Field(description="The list to iterate (usually a template).")
    action: str = Field(description="Action to run per item, e.g. http.request.")
    with_: dict[str, Any] = Field(
        default_factory=dict,
        alias="with",
        description="Inputs per item; templates see `item` and `index`.",
    )
    max_items: int = Field(default=1000, ge=1, description="Fail if the list is longer.")


@action("for_each", deferred=("with",))
def for_each(params: ForEachParams, ctx: ActionContext) -> list[Any]:
    """Run one action per list item inside this step's task run; returns the list of outputs."""
    bound = min(params.max_items, runtime_settings().for_each_max_items)
    if len(params.items) > bound:
        raise StepFailed(
            ctx.step, f"for_each got {len(params.items)} items, over max_items={bound}"
        )
    inner = load_registry().get(params.action)
    if inner is None or inner.kind != "work":
        raise StepFailed(
            ctx.step, f"for_each can run work actions only; '{params.action}' is not one"
        )
    outputs = []
    for index, item in enumerate(params.items):
        rendered = ctx.render(params.with_, {"item": item, "index": index})
        outputs.append(inner.fn(inner.params.model_validate(rendered), ctx))
    return outputs
