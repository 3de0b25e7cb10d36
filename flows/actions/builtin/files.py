"""`file.read` / `file.write` in the project's storage object, and `checkpoint.get/set`.

Paths are relative to the storage object and may not escape it (no absolute paths, no '..').
Checkpoints live under `_mimir/checkpoints/<pipeline>.json`, written atomically enough for one
writer per pipeline (a whole-file replace).
"""

from __future__ import annotations

import base64
import json
import posixpath
from typing import Any, Literal

from pydantic import Field

from domain.storage_object import PathOutsideStorage, ReservedPath, inside_path
from domain.storage_object import writable_path as domain_writable_path
from flows.actions.base import ActionContext, PermanentError, StrictParams, action

MAX_READ_BYTES = 64 * 1024 * 1024


def safe_path(ctx: ActionContext, relative: str) -> tuple[Any, str]:
    """Resolve `relative` inside the project's storage object, refusing escapes."""
    try:
        normal = inside_path(relative)
    except PathOutsideStorage as exc:
        raise PermanentError(str(exc)) from None
    fs, root = ctx.filesystem()
    return fs, f"{root}/{normal}"


def writable_path(ctx: ActionContext, relative: str) -> tuple[Any, str]:
    """Like safe_path, but refuses Mimir's reserved area (`_mimir/`, `.mimir-project.json` …)
    as a write target: pipelines reach checkpoints only through checkpoint.*."""
    try:
        domain_writable_path(relative)
    except (PathOutsideStorage, ReservedPath) as exc:
        raise PermanentError(f"{exc}; pipelines may not write there") from None
    return safe_path(ctx, relative)


class FileReadParams(StrictParams):
    """Inputs of file.read."""

    path: str = Field(description="Path inside the project storage.")
    format: Literal["text", "json", "bytes"] = Field(default="text", description="How to decode.")


@action("file.read")
def file_read(params: FileReadParams, ctx: ActionContext) -> dict[str, Any]:
    """Read a file from the project storage; content under `content`."""
    fs, path = safe_path(ctx, params.path)
    if not fs.exists(path):
        raise PermanentError(f"file {params.path!r} does not exist in the project storage")
    if fs.size(path) > MAX_READ_BYTES:
        raise PermanentError(f"file {params.path!r} is larger than {MAX_READ_BYTES} bytes")
    data = fs.cat_file(path)
    if params.format == "bytes":
        return {"content": base64.b64encode(data).decode(), "encoding": "base64", "size": len(data)}
    text = data.decode()
    return {"content": json.loads(text) if params.format == "json" else text, "size": len(data)}


class FileWriteParams(StrictParams):
    """Inputs of file.write."""

    path: str = Field(description="Path inside the project storage.")
    content: Any = Field(description="Text, or any JSON value when format is json.")
    format: Literal["text", "json"] = Field(default="text", description="How to encode.")


@action("file.write")
def file_write(params: FileWriteParams, ctx: ActionContext) -> dict[str, Any]:
    """Write a file into the project storage (replacing it); returns its path and size."""
    fs, path = writable_path(ctx, params.path)
    text = (
        json.dumps(params.content, default=str) if params.format == "json" else str(params.content)
    )
    data = text.encode()
    fs.makedirs(posixpath.dirname(path), exist_ok=True)
    fs.pipe_file(path, data)
    return {"path": params.path, "size": len(data)}


def _checkpoint_file(ctx: ActionContext) -> str:
    return f"_mimir/checkpoints/{ctx.pipeline}.json"


class CheckpointGetParams(StrictParams):
    """Inputs of checkpoint.get."""

    default: Any = Field(default=None, description="Value when no checkpoint was saved yet.")


@action("checkpoint.get")
def checkpoint_get(params: CheckpointGetParams, ctx: ActionContext) -> dict[str, Any]:
    """The pipeline's last saved checkpoint (e.g. last seen id), under `value`."""
    fs, path = safe_path(ctx, _checkpoint_file(ctx))
    if not fs.exists(path):
        return {"value": params.default, "saved": False}
    return {"value": json.loads(fs.cat_file(path))["value"], "saved": True}


class CheckpointSetParams(StrictParams):
    """Inputs of checkpoint.set."""

    value: Any = Field(description="What to remember for the next run (JSON).")


@action("checkpoint.set")
def checkpoint_set(params: CheckpointSetParams, ctx: ActionContext) -> dict[str, Any]:
    """Save the pipeline's checkpoint for the next run."""
    fs, path = safe_path(ctx, _checkpoint_file(ctx))
    fs.makedirs(posixpath.dirname(path), exist_ok=True)
    fs.pipe_file(
        path, json.dumps({"value": params.value, "run_id": ctx.run_id}, default=str).encode()
    )
    return {"value": params.value}
