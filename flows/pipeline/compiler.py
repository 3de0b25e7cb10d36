"""Pipeline YAML → validated `Plan`, with every problem reported at once.

Validation runs in two layers (the envelope, then each step's inputs against its action's own
parameter model) followed by static checks across steps: unique names, known actions, jump
targets, template references and pipeline-type rules. Nothing here touches Prefect, storage or
the network, so `mimir pipeline lint` is safe anywhere.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from flows.actions.base import Action
from flows.actions.registry import ActionRegistry
from flows.pipeline.errors import Issue, PipelineInvalid
from flows.pipeline.loader import (
    Path,
    Positions,
    YamlSyntaxError,
    format_path,
    load_yaml,
    position_of,
)
from flows.pipeline.schema import PipelineDocument, Step
from flows.pipeline.templates import is_template, references


@dataclass(frozen=True)
class PlannedStep:
    """A step with its resolved action."""

    index: int
    step: Step
    action: Action


@dataclass(frozen=True)
class Plan:
    """A pipeline that passed every check, ready to run."""

    document: PipelineDocument
    steps: tuple[PlannedStep, ...]
    text: str

    def index_of(self, name: str) -> int:
        """Position of step `name` (jump targets are checked, so this always succeeds)."""
        return next(p.index for p in self.steps if p.step.name == name)

    def describe(self) -> dict[str, Any]:
        """The plan as data, for `dry-run` and the API."""
        doc = self.document
        return {
            "name": doc.name,
            "type": doc.type,
            "schedule": doc.schedule.model_dump(exclude_none=True) if doc.schedule else None,
            "parameters": {k: v.model_dump() for k, v in doc.parameters.items()},
            "context_limit": doc.context_limit,
            "steps": [
                {
                    "name": p.step.name,
                    "action": p.step.action,
                    "runs_as": "task run" if p.action.kind == "work" else "inline",
                    "retries": p.step.retries,
                    "timeout": p.step.timeout,
                    "on_error": p.step.on_error,
                }
                for p in self.steps
            ],
        }


def _contains_template(value: Any) -> bool:
    if isinstance(value, dict):
        return any(_contains_template(v) for v in value.values())
    if isinstance(value, list):
        return any(_contains_template(v) for v in value)
    return is_template(value)


class _Collector:
    def __init__(self, positions: Positions):
        self.positions = positions
        self.issues: list[Issue] = []

    def add(self, path: Path, message: str) -> None:
        line, column = position_of(self.positions, path)
        self.issues.append(Issue(path=format_path(path), message=message, line=line, column=column))

    def add_pydantic(self, base: Path, errors: list[Any]) -> None:
        for err in errors:
            loc = tuple(err["loc"])
            message = err["msg"]
            if err["type"] == "extra_forbidden":
                message = "unknown field"
            elif err["type"] == "missing":
                message = "required field is missing"
            elif "expected" not in message and err["type"] not in (
                "value_error",
                "assertion_error",
            ):
                message = f"{message} (got {err.get('input')!r})"
            self.add((*base, *loc), message.removeprefix("Value error, "))


def compile_pipeline(text: str, registry: ActionRegistry, source: str = "pipeline") -> Plan:
    """Validate `text` fully and return its Plan, or raise PipelineInvalid listing every issue."""
    try:
        data, positions, duplicates = load_yaml(text)
    except YamlSyntaxError as exc:
        raise PipelineInvalid(
            [
                Issue(
                    path="",
                    message=f"invalid YAML: {exc.message}",
                    line=exc.line,
                    column=exc.column,
                )
            ],
            source,
        ) from None
    issues = _Collector(positions)
    for path, message in duplicates:
        issues.add(path, message)
    if not isinstance(data, dict):
        issues.add((), "a pipeline must be a mapping with name, type and steps")
        raise PipelineInvalid(issues.issues, source)

    document: PipelineDocument | None = None
    try:
        document = PipelineDocument.model_validate(data)
    except ValidationError as exc:
        issues.add_pydantic((), exc.errors())

    raw_steps: list[Any] = data["steps"] if isinstance(data.get("steps"), list) else []
    steps: list[tuple[int, Step]] = []
    for index, raw in enumerate(raw_steps):
        try:
            steps.append((index, Step.model_validate(raw)))
        except ValidationError:
            continue  # already reported through the envelope
    planned = _check_steps(steps, data, registry, issues)
    if issues.issues or document is None:
        raise PipelineInvalid(issues.issues, source)
    return Plan(document=document, steps=tuple(planned), text=text)


def _check_steps(
    steps: list[tuple[int, Step]],
    data: dict[str, Any],
    registry: ActionRegistry,
    issues: _Collector,
) -> list[PlannedStep]:
    pipeline_type = data.get("type")
    names: dict[str, int] = {}
    for index, step in steps:
        if step.name in names:
            issues.add(
                ("steps", index, "name"),
                f"duplicate step name '{step.name}' (first used by steps[{names[step.name]}])",
            )
        else:
            names[step.name] = index
    parameters = (
        set(data.get("parameters") or {}) if isinstance(data.get("parameters"), dict) else set()
    )

    planned: list[PlannedStep] = []
    context_keys: set[str] = set()
    resolved: list[tuple[int, Step, Action]] = []
    for index, step in steps:
        act = registry.get(step.action)
        if act is None:
            close = difflib.get_close_matches(step.action, registry.names(), n=3)
            hint = (
                f"; did you mean {', '.join(close)}?"
                if close
                else f"; known actions: {', '.join(registry.names())}"
            )
            issues.add(("steps", index, "action"), f"unknown action '{step.action}'{hint}")
            continue
        resolved.append((index, step, act))
        for key in act.context_keys:
            value = step.with_.get(key)
            if isinstance(value, str) and not is_template(value):
                context_keys.add(value)

    writes_storage = False
    for index, step, act in resolved:
        base: Path = ("steps", index, "with")
        if act.pipeline_types and pipeline_type not in act.pipeline_types:
            allowed = " or ".join(sorted(act.pipeline_types))
            issues.add(
                ("steps", index, "action"),
                f"'{step.action}' is only allowed in {allowed} pipelines, not {pipeline_type}",
            )
        writes_storage |= act.writes_storage
        _check_params(step, act, base, issues)
        for target_param in act.step_targets:
            target = step.with_.get(target_param)
            if isinstance(target, str) and not is_template(target) and target not in names:
                issues.add(
                    (*base, target_param), f"jump target '{target}' is not a step of this pipeline"
                )
        if step.error_target and step.error_target not in names:
            issues.add(
                ("steps", index, "on_error"),
                f"on_error target '{step.error_target}' is not a step of this pipeline",
            )
        for key, value in step.with_.items():
            step_refs, param_refs, syntax = references(value)
            for message in syntax:
                issues.add((*base, key), message)
            for ref in sorted(step_refs - set(names) - context_keys):
                issues.add(
                    (*base, key),
                    f"template refers to steps.{ref}, but no step or context key is named '{ref}'",
                )
            for ref in sorted(param_refs - parameters):
                issues.add(
                    (*base, key),
                    f"template refers to params.{ref}, but no parameter '{ref}' is declared",
                )
        planned.append(PlannedStep(index=index, step=step, action=act))
    if (
        pipeline_type == "ingestion"
        and resolved
        and not writes_storage
        and len(resolved) == len(steps)
    ):
        issues.add(
            ("steps",), "an ingestion pipeline must write to storage (add a storage.write step)"
        )
    return planned


def _check_params(step: Step, act: Action, base: Path, issues: _Collector) -> None:
    """Validate literal inputs now; inputs that are templates are checked when they render."""
    try:
        act.params.model_validate(step.with_)
    except ValidationError as exc:
        kept = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            field = loc[0] if loc else None
            raw = step.with_.get(field) if isinstance(field, str) else None
            if field in act.deferred or (raw is not None and _contains_template(raw)):
                continue
            kept.append(err)
        issues.add_pydantic(base, kept)
