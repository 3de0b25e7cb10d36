"""Context CRUD: `context.set/get/update/delete/clear` on one object or the whole window."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from flows.actions.base import ActionContext, StepFailed, StrictParams, action


class SetParams(StrictParams):
    """Inputs of context.set."""

    key: str = Field(
        pattern=r"^[a-z_][a-z0-9_]{0,62}$", description="Name later steps read as steps.<key>."
    )
    value: Any = Field(description="Any JSON value (templates allowed).")


@action("context.set", kind="context", context_keys=("key",))
def context_set(params: SetParams, ctx: ActionContext) -> None:
    """Store a value in the context under `key`."""
    ctx.window.set(params.key, params.value, step=ctx.step)


class KeyParams(StrictParams):
    """Inputs of context.get / context.delete."""

    key: str = Field(description="Context key.")


@action("context.get", kind="context")
def context_get(params: KeyParams, ctx: ActionContext) -> Any:
    """Copy a context object into this step's output."""
    if params.key not in ctx.window:
        raise StepFailed(ctx.step, f"context has no key '{params.key}'")
    return ctx.window.get(params.key)


class UpdateParams(StrictParams):
    """Inputs of context.update."""

    key: str = Field(description="Context key holding an object.")
    values: dict[str, Any] = Field(description="Fields to merge into it.")


@action("context.update", kind="context", context_keys=("key",))
def context_update(params: UpdateParams, ctx: ActionContext) -> None:
    """Merge fields into an object in the context (creating it if absent)."""
    current = ctx.window.get(params.key, {})
    if not isinstance(current, dict):
        raise StepFailed(
            ctx.step, f"context key '{params.key}' holds {type(current).__name__}, not an object"
        )
    ctx.window.set(params.key, {**current, **params.values}, step=ctx.step)


@action("context.delete", kind="context")
def context_delete(params: KeyParams, ctx: ActionContext) -> dict[str, Any]:
    """Remove one object from the context."""
    return {"deleted": ctx.window.delete(params.key)}


class ClearParams(StrictParams):
    """Inputs of context.clear."""

    keep: list[str] = Field(default_factory=list, description="Keys to keep.")


@action("context.clear", kind="context")
def context_clear(params: ClearParams, ctx: ActionContext) -> dict[str, Any]:
    """Empty the whole context window (except `keep`)."""
    kept = {key: ctx.window.get(key) for key in params.keep if key in ctx.window}
    dropped = ctx.window.clear() - len(kept)
    for key, value in kept.items():
        ctx.window.set(key, value, step=ctx.step)
    return {"cleared": dropped}
