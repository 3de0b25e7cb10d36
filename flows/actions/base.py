"""What a plugin is: named actions, each a function plus a pydantic parameter model.

A plugin package exposes an entry point in the `mimir.plugins` group that resolves to a
`Plugin` (or a callable returning one). Built-in actions are packaged exactly the same way.

    from pydantic import BaseModel, Field
    from flows.actions.base import Plugin, action

    class ShoutParams(BaseModel):
        text: str = Field(description="What to shout.")

    @action("shout")
    def shout(params: ShoutParams, ctx) -> dict:
        \"\"\"Upper-case a text.\"\"\"
        return {"text": params.text.upper()}

    plugin = Plugin(name="example", version="1.0", actions=(shout,))

Steps then use it as `action: example:shout`.

This module is the whole contract a plugin author reads: `action`, `Plugin`, the
`ActionContext` an action receives, `StrictParams` (the base of parameter models), the errors
an action raises (`PermanentError`: do not retry; `StepFailed`: fail the step) and `Jump`
(what control actions return). The pipeline engine imports it; it imports nothing of the
engine.
"""

from __future__ import annotations

import logging
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import fsspec
from prefect.blocks.system import Secret
from pydantic import BaseModel, ConfigDict

from blocks.scope import BlockOutOfScope, project_block_name

ActionKind = Literal["work", "control", "context"]


class StrictParams(BaseModel):
    """Base of action parameter models: a misspelt parameter is an error, not ignored."""

    model_config = ConfigDict(extra="forbid")


# --------------------------------------------------------------------------- outcomes


class StepFailed(Exception):
    """A step failed at run time; names the step and why."""

    def __init__(self, step: str, message: str):
        super().__init__(f"step '{step}': {message}")
        self.step = step
        self.message = message


class Unrecoverable(StepFailed):
    """A failure `on_error` must not swallow."""


class FailRequested(Unrecoverable):
    """The pipeline's own `fail` step ended the run."""


class PermanentError(Exception):
    """An action failure that retrying cannot fix (bad input, refused address, HTTP 4xx)."""


class PipelineStopped(Exception):
    """Raised by the `stop` action to end a run successfully."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Jump:
    """Returned by control actions to move the program counter."""

    target: str
    max_loops: int
    output: Any = None


# --------------------------------------------------------------------------- actions and plugins


@dataclass(frozen=True)
class Action:
    """One action a step can call.

    `kind` decides how it runs: `work` actions (I/O, transforms, plugins) become Prefect task
    runs with the step's retries and timeout; `control` and `context` actions are bookkeeping
    that runs inline in the flow and is recorded in the run summary instead.
    """

    name: str
    fn: Callable[[Any, Any], Any]
    params: type[BaseModel]
    summary: str
    description: str
    kind: ActionKind = "work"
    pipeline_types: frozenset[str] | None = None
    writes_storage: bool = False
    step_targets: tuple[str, ...] = ()
    deferred: tuple[str, ...] = ()
    context_keys: tuple[str, ...] = ()


def action(
    name: str,
    *,
    kind: ActionKind = "work",
    pipeline_types: tuple[str, ...] | None = None,
    writes_storage: bool = False,
    step_targets: tuple[str, ...] = (),
    deferred: tuple[str, ...] = (),
    context_keys: tuple[str, ...] = (),
) -> Callable[[Callable[[Any, Any], Any]], Action]:
    """Turn `fn(params: Model, ctx) -> output` into an Action; docs come from its docstring.

    `step_targets` names parameters that hold step names (jump targets, checked at compile
    time); `deferred` names parameters whose templates the action renders itself (per item);
    `context_keys` names parameters that create context keys later steps may read.
    """

    def wrap(fn: Callable[[Any, Any], Any]) -> Action:
        hints = typing.get_type_hints(fn)
        first = fn.__code__.co_varnames[0]
        doc = (fn.__doc__ or "").strip()
        summary, _, description = doc.partition("\n")
        return Action(
            name=name,
            fn=fn,
            params=hints[first],
            summary=summary.strip(),
            description=(description.strip() or summary.strip()),
            kind=kind,
            pipeline_types=frozenset(pipeline_types) if pipeline_types else None,
            writes_storage=writes_storage,
            step_targets=step_targets,
            deferred=deferred,
            context_keys=context_keys,
        )

    return wrap


@dataclass(frozen=True)
class Plugin:
    """A named, versioned set of actions."""

    name: str
    version: str
    actions: tuple[Action, ...]
    description: str = ""


@dataclass
class ActionContext:
    """What an action may use besides its parameters.

    Everything that touches the outside world (storage, secrets, HTTP policy) comes through
    here, so actions stay plain functions and tests can run them with a real context.
    """

    step: str
    pipeline: str
    pipeline_type: str
    project: str
    storage_url: str
    run_id: str
    window: Any
    render: Callable[[Any, dict[str, Any]], Any]
    log: logging.Logger = field(default_factory=lambda: logging.getLogger("mimir.pipeline"))

    def filesystem(self) -> tuple[Any, str]:
        """The project's storage object as (fsspec filesystem, root path)."""
        if not self.storage_url:
            raise RuntimeError("this run has no project storage (run it from a project)")
        fs, root = fsspec.core.url_to_fs(self.storage_url)
        return fs, root.rstrip("/")

    def block_name(self, name: str) -> str:
        """The project's own Prefect block that `name` denotes (see blocks/scope.py)."""
        try:
            return project_block_name(self.project, name)
        except BlockOutOfScope as exc:
            raise PermanentError(str(exc)) from None

    def secret(self, name: str) -> str:
        """The value of the project's Secret block `<project>--name` (never logged or kept)."""
        block = self.block_name(name)
        try:
            value = Secret.load(block)
        except ValueError:
            raise PermanentError(
                f"secret {name!r}: no Prefect Secret block {block!r} (pipelines of project "
                f"{self.project!r} read secret {name!r} from the block {block!r})"
            ) from None
        return str(value.get())  # type: ignore[union-attr]
