"""The building blocks of operation inputs, shared by every service module.

Inputs are strict (an unknown field is an error, never silently dropped), and names that
become DNS labels, bucket prefixes and Prefect deployment names follow one pattern, the one
pipeline documents use (`flows.pipeline.schema.PIPELINE_NAME`).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from flows.pipeline.schema import PIPELINE_NAME

ProjectName = Annotated[
    str,
    StringConstraints(pattern=PIPELINE_NAME),
    Field(
        description="Project name: 3-63 lowercase letters, digits and '-', starting with a "
        "letter (usable as a DNS label, a bucket prefix and a Kubernetes label).",
        examples=["sales-analytics"],
    ),
]
PipelineName = Annotated[
    str,
    StringConstraints(pattern=PIPELINE_NAME),
    Field(
        description="Pipeline name (3-63 of a-z, 0-9, '-'), as in the YAML's `name:`.",
        examples=["fetch-orders"],
    ),
]
ModelName = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z][a-z0-9-]{0,61}[a-z0-9]$"),
    Field(description="Model name within the project (2-63 of a-z, 0-9, '-').",
          examples=["turbine-failure"]),
]


class StrictInput(BaseModel):
    """Base of every operation input: unknown fields are errors."""

    model_config = ConfigDict(extra="forbid")


class NoInput(StrictInput):
    """No input: operations that take none accept only an empty object."""


class ProjectOnly(StrictInput):
    """Input of operations that address a project's resources as a whole."""

    project: ProjectName
