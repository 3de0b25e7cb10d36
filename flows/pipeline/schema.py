"""The pipeline document: the *envelope* every pipeline YAML validates against first.

Each step's `with:` is checked afterwards against its action's own parameter model (see
`compiler.py`), so this module knows nothing about individual actions.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

MIB = 1024 * 1024
DEFAULT_CONTEXT_LIMIT = 16 * MIB
MAX_CONTEXT_LIMIT = 256 * MIB
STEP_NAME = r"^[a-z_][a-z0-9_]{0,62}$"
PIPELINE_NAME = r"^[a-z][a-z0-9-]{1,61}[a-z0-9]$"
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(B|KB|KiB|MB|MiB|GB|GiB)?\s*$")
_UNITS = {
    None: 1,
    "B": 1,
    "KB": 1000,
    "KiB": 1024,
    "MB": 10**6,
    "MiB": MIB,
    "GB": 10**9,
    "GiB": 1024 * MIB,
}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)?\s*$")
_SECONDS = {None: 1, "s": 1, "m": 60, "h": 3600, "d": 86400}

PipelineType = Literal["ingestion", "processing", "output"]
ParamType = Literal["string", "integer", "number", "boolean", "object", "array"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


def parse_size(value: Any) -> int:
    """'16MiB' / '500KB' / 1048576 → bytes."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    match = _SIZE.match(str(value))
    if not match:
        raise ValueError("expected a size such as 16MiB, 512KiB or a number of bytes")
    return int(float(match.group(1)) * _UNITS[match.group(2)])


def parse_duration(value: Any) -> float:
    """'90s' / '15m' / '1h' / 30 → seconds."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    match = _DURATION.match(str(value))
    if not match:
        raise ValueError("expected a duration such as 30s, 15m, 1h or a number of seconds")
    return float(match.group(1)) * _SECONDS[match.group(2)]


class Schedule(_Strict):
    """When Prefect runs the pipeline: a cron expression or a fixed interval."""

    cron: str | None = Field(default=None, description="Cron expression, e.g. '*/15 * * * *'.")
    interval: float | None = Field(
        default=None, description="Seconds between runs (or '15m', '1h'); at least 1 second."
    )
    timezone: str = Field(default="UTC", description="IANA timezone the schedule runs in.")

    @field_validator("interval", mode="before")
    @classmethod
    def _interval(cls, value: Any) -> Any:
        return None if value is None else parse_duration(value)

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown timezone {value!r}; expected e.g. 'UTC' or 'Europe/Paris'"
            ) from None
        return value

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        if value is None:
            return value
        from prefect.client.schemas.schedules import CronSchedule  # Prefect only when needed

        try:
            CronSchedule(cron=value)
        except ValidationError:
            raise ValueError(f"invalid cron expression {value!r}") from None
        return value

    @model_validator(mode="after")
    def _exactly_one(self) -> Schedule:
        if (self.cron is None) == (self.interval is None):
            raise ValueError("a schedule needs exactly one of 'cron' or 'interval'")
        if self.interval is not None and self.interval < 1:
            raise ValueError("interval must be at least 1 second")
        return self

    @property
    def interval_delta(self) -> timedelta | None:
        """The interval as a timedelta, for Prefect."""
        return None if self.interval is None else timedelta(seconds=self.interval)


class Parameter(_Strict):
    """A typed run parameter, read in templates as `params.<name>`."""

    type: ParamType = Field(default="string", description="JSON type of the value.")
    default: Any = Field(default=None, description="Value used when a run does not give one.")
    required: bool = Field(default=False, description="A run must give it (no default).")
    description: str = Field(default="", description="What it is for.")


class Step(_Strict):
    """One step: an action, its inputs, and how failures are handled."""

    name: Annotated[str, Field(pattern=STEP_NAME, description="Unique step name (a-z, 0-9, _).")]
    action: str = Field(
        min_length=1,
        description="Action to run: a built-in name (http.request) or plugin:action.",
    )
    with_: dict[str, Any] = Field(
        default_factory=dict, alias="with", description="Inputs of the action (templates allowed)."
    )
    retries: int = Field(default=0, ge=0, le=20, description="Prefect task retries.")
    retry_delay: float = Field(default=1.0, ge=0, le=3600, description="Seconds between retries.")
    timeout: float | None = Field(
        default=None, gt=0, le=86400, description="Seconds before the step times out."
    )
    on_error: str = Field(
        default="fail",
        description="'fail' (default), 'continue' (store the error, go on) or 'goto <step>'.",
    )

    @field_validator("retry_delay", "timeout", mode="before")
    @classmethod
    def _durations(cls, value: Any) -> Any:
        return None if value is None else parse_duration(value)

    @field_validator("on_error")
    @classmethod
    def _on_error(cls, value: str) -> str:
        if value in ("fail", "continue") or re.match(r"^goto [a-z_][a-z0-9_]{0,62}$", value):
            return value
        raise ValueError("expected 'fail', 'continue' or 'goto <step name>'")

    @property
    def error_target(self) -> str | None:
        """The step `on_error: goto X` jumps to, if any."""
        return self.on_error[5:] if self.on_error.startswith("goto ") else None


class PipelineDocument(_Strict):
    """A whole pipeline file."""

    name: Annotated[str, Field(pattern=PIPELINE_NAME, description="Pipeline name (a-z, 0-9, -).")]
    type: PipelineType = Field(description="ingestion, processing or output — exactly one.")
    description: str = Field(default="", max_length=4000, description="What the pipeline does.")
    schedule: Schedule | None = Field(default=None, description="Optional schedule.")
    parameters: dict[Annotated[str, Field(pattern=STEP_NAME)], Parameter] = Field(
        default_factory=dict, description="Run parameters, by name."
    )
    context_limit: int = Field(
        default=DEFAULT_CONTEXT_LIMIT,
        description="Most bytes the shared step context may hold (e.g. 16MiB).",
    )
    crash_retries: int = Field(
        default=0,
        ge=0,
        le=10,
        description="Times Prefect starts a run again, in a new process or pod, after that "
        "process or pod died while the run was executing (state CRASHED: OOM-killed, node "
        "lost). A run whose pod died before the flow started is not retried; failing steps "
        "are retried by their own `retries`, and a FAILED run is not retried.",
    )
    concurrency: int | None = Field(
        default=None,
        ge=1,
        le=1000,
        description="Most runs of this pipeline (in its project) that may run at once; more "
        "wait in Prefect's queue (AwaitingConcurrencySlot) until one ends. Unlimited when "
        "omitted. Becomes the Prefect deployment's concurrency limit.",
    )
    steps: list[Step] = Field(min_length=1, max_length=500, description="Steps, in order.")

    @field_validator("context_limit", mode="before")
    @classmethod
    def _size(cls, value: Any) -> int:
        size = parse_size(value)
        if not 1024 <= size <= MAX_CONTEXT_LIMIT:
            raise ValueError(
                f"context_limit must be between 1KiB and {MAX_CONTEXT_LIMIT // MIB}MiB"
            )
        return size


def json_schema() -> dict[str, Any]:
    """The JSON Schema editors can validate pipeline files against (`mimir pipeline schema`)."""
    schema = PipelineDocument.model_json_schema(by_alias=True)
    size = {"anyOf": [{"type": "integer"}, {"type": "string", "pattern": _SIZE.pattern}]}
    duration = {"anyOf": [{"type": "number"}, {"type": "string", "pattern": _DURATION.pattern}]}
    schema["properties"]["context_limit"].update(size)
    schema["properties"]["context_limit"].pop("type", None)
    for model, field in (("Step", "retry_delay"), ("Step", "timeout"), ("Schedule", "interval")):
        prop = schema["$defs"][model]["properties"][field]
        prop.pop("type", None)
        prop.pop("anyOf", None)
        prop.update(
            duration if field != "timeout" else {"anyOf": [*duration["anyOf"], {"type": "null"}]}
        )
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Mimir AIP pipeline"
    return schema
