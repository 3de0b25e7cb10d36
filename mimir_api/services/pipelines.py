"""Pipeline operations: validate, save (a new version + its Prefect deployment), read, delete,
and the catalogue of actions and the document's JSON Schema.

Saving is all-or-nothing: the YAML is compiled first (every problem reported with its line and
column), then the version row is flushed, then the deployment is upserted in Prefect, and only
then is the transaction committed; a Prefect failure leaves no new version behind.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from functools import lru_cache
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlmodel import Session, select

from flows.actions.registry import ActionRegistry, load_registry
from flows.pipeline.compiler import Plan, compile_pipeline
from flows.pipeline.deployments import PipelineTarget, delete_deployment, upsert_deployment
from flows.pipeline.errors import PipelineInvalid
from flows.pipeline.schema import json_schema
from mimir_api.core.errors import (
    Conflict,
    FieldError,
    InvalidInput,
    NotFound,
    unavailable_on_failure,
)
from mimir_api.core.security import Scope
from mimir_api.db.models import Pipeline, PipelineVersion, Project, as_utc, utcnow
from mimir_api.services.context import ServiceContext
from mimir_api.services.inputs import NoInput, PipelineName, ProjectName, StrictInput
from mimir_api.services.project_access import project_row
from mimir_api.services.registry import operation
from mimir_api.services.triggers import check_trigger_target, triggers_naming

MAX_YAML_BYTES = 256 * 1024
class PipelineText(StrictInput):
    """Input of validate_pipeline."""

    yaml: str = Field(max_length=MAX_YAML_BYTES, description="The pipeline document (YAML).")


class PipelineIssue(BaseModel):
    """One problem in a pipeline document."""

    path: str = Field(description="Where, e.g. 'steps[3].with.url'.")
    message: str = Field(description="What is wrong and what was expected.")
    line: int | None = Field(description="1-based line.")
    column: int | None = Field(description="1-based column.")


class ValidationReport(BaseModel):
    """Result of validate_pipeline."""

    valid: bool = Field(description="True when the pipeline compiles.")
    issues: list[PipelineIssue] = Field(description="Every problem found (empty when valid).")
    plan: dict[str, Any] | None = Field(description="The compiled plan (steps, how each runs).")


class PipelineSave(StrictInput):
    """Input of save_pipeline."""

    project: ProjectName
    name: PipelineName = Field(description="Must equal the `name:` inside the YAML.")
    yaml: str = Field(max_length=MAX_YAML_BYTES, description="The pipeline document (YAML).")
    message: str = Field(
        default="", max_length=1000, description="What changed (kept with the version)."
    )


class PipelineRef(StrictInput):
    """Input of operations that address one pipeline."""

    project: ProjectName
    name: PipelineName


class PipelineVersionRef(PipelineRef):
    """Input of get_pipeline_version."""

    version: int = Field(ge=1, description="Version number.")


class ProjectPipelines(StrictInput):
    """Input of list_pipelines."""

    project: ProjectName


class PipelinePublic(BaseModel):
    """A pipeline as every surface shows it."""

    project: str = Field(description="Owning project.")
    name: str = Field(description="Pipeline name.")
    type: str = Field(description="ingestion, processing or output.")
    version: int = Field(description="Current version.")
    description: str = Field(description="From the YAML.")
    schedule: dict[str, Any] | None = Field(description="Cron or interval schedule, if any.")
    deployment: str = Field(description="Prefect deployment name (flow/deployment).")
    deployment_id: str | None = Field(description="Prefect deployment id.")
    webhook_enabled: bool = Field(description="Whether a webhook secret is set.")
    created_at: datetime = Field(description="Created (UTC).")
    updated_at: datetime = Field(description="Last saved (UTC).")

    _utc = field_validator("created_at", "updated_at")(as_utc)


class PipelineDetail(PipelinePublic):
    """A pipeline with its current YAML and compiled plan."""

    yaml: str = Field(description="The current version's YAML.")
    plan: dict[str, Any] = Field(description="The compiled plan.")


class PipelineList(BaseModel):
    """A project's pipelines, by name."""

    items: list[PipelinePublic] = Field(description="Pipelines.")


class PipelineVersionPublic(BaseModel):
    """One saved version."""

    version: int = Field(description="Version number.")
    author: str = Field(description="Who saved it.")
    message: str = Field(description="What changed.")
    created_at: datetime = Field(description="When (UTC).")
    yaml: str | None = Field(default=None, description="The YAML (in get_pipeline_version).")

    _utc = field_validator("created_at")(as_utc)


class PipelineVersionList(BaseModel):
    """Versions, newest first."""

    items: list[PipelineVersionPublic] = Field(description="Versions.")


class PipelineDeleted(BaseModel):
    """What delete_pipeline removed."""

    project: str = Field(description="Project.")
    name: str = Field(description="Deleted pipeline.")
    versions_removed: int = Field(description="Versions deleted with it.")


class SchemaDocument(BaseModel):
    """The pipeline JSON Schema."""

    schema_: dict[str, Any] = Field(alias="schema", description="JSON Schema (draft 2020-12).")

    model_config = ConfigDict(populate_by_name=True)


class PluginList(BaseModel):
    """Installed plugins and their actions."""

    plugins: list[dict[str, Any]] = Field(description="Plugins with actions and parameter schemas.")
    errors: dict[str, str] = Field(description="Plugins that failed to load, with why.")


@lru_cache(maxsize=1)
def action_registry() -> ActionRegistry:
    """The installed actions, discovered once per process (plugins are installed by operators)."""
    return load_registry()


def compile_or_raise(text: str, source: str) -> Plan:
    """Compile `text`, turning pipeline issues into an InvalidInput naming line and column."""
    try:
        return compile_pipeline(text, action_registry(), source=source)
    except PipelineInvalid as exc:
        errors = [
            FieldError(
                field=f"yaml:{issue.path}" if issue.path else "yaml",
                message=issue.message,
                type="pipeline",
                line=issue.line,
                column=issue.column,
            )
            for issue in exc.issues
        ]
        raise InvalidInput(str(exc), errors=errors) from None


def pipeline_row(session: Session, project: Project, name: str) -> Pipeline:
    """The pipeline `name` of `project`, or NotFound."""
    row = session.exec(
        select(Pipeline).where(Pipeline.project_id == project.id, Pipeline.name == name)
    ).first()
    if row is None:
        raise NotFound(
            f"pipeline '{name}' does not exist in project '{project.name}'", field="name"
        )
    return row


def current_yaml(session: Session, row: Pipeline) -> str:
    """The YAML of the pipeline's current version."""
    version = session.exec(
        select(PipelineVersion).where(
            PipelineVersion.pipeline_id == row.id, PipelineVersion.version == row.current_version
        )
    ).one()
    return version.yaml


def _public(project: str, row: Pipeline, plan: Plan) -> PipelinePublic:
    doc = plan.document
    return PipelinePublic(
        project=project,
        name=row.name,
        type=row.type,
        version=row.current_version,
        description=doc.description,
        schedule=doc.schedule.model_dump(exclude_none=True) if doc.schedule else None,
        deployment=f"{row.name}/{project}",
        deployment_id=row.deployment_id,
        webhook_enabled=row.webhook_secret_hash is not None,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


@operation(
    method="POST",
    path="/pipelines/validate",
    scope=Scope.READ,
    idempotent=True,
    tags=("pipelines",),
)
def validate_pipeline(ctx: ServiceContext, params: PipelineText) -> ValidationReport:
    """Validate a pipeline document without saving it; lists every problem with line and column."""
    try:
        plan = compile_pipeline(params.yaml, action_registry(), source="pipeline")
    except PipelineInvalid as exc:
        issues = [PipelineIssue(**issue.model_dump()) for issue in exc.issues]
        return ValidationReport(valid=False, issues=issues, plan=None)
    return ValidationReport(valid=True, issues=[], plan=plan.describe())


@operation(method="GET", path="/pipelines/schema", scope=Scope.PUBLIC, tags=("pipelines",))
def get_pipeline_schema(ctx: ServiceContext, params: NoInput) -> SchemaDocument:
    """The JSON Schema of pipeline documents, for editors and agents."""
    return SchemaDocument(schema=json_schema())


@operation(method="GET", path="/plugins", scope=Scope.READ, tags=("pipelines",))
def list_plugins(ctx: ServiceContext, params: NoInput) -> PluginList:
    """Installed plugins (built-in included) with their actions and parameter schemas."""
    registry = action_registry()
    return PluginList(plugins=registry.describe(), errors=dict(registry.errors))


@operation(
    method="PUT",
    path="/projects/{project}/pipelines/{name}",
    scope=Scope.WRITE,
    idempotent=False,
    tags=("pipelines",),
)
def save_pipeline(ctx: ServiceContext, params: PipelineSave) -> PipelineDetail:
    """Create or update a pipeline: validates, keeps the new YAML as a new version and
    registers (or updates) its Prefect deployment and schedule."""
    plan = compile_or_raise(params.yaml, source=f"{params.project}/{params.name}")
    if plan.document.name != params.name:
        raise InvalidInput(
            f"the YAML names the pipeline '{plan.document.name}' but the path says '{params.name}'",
            field="yaml:name",
        )
    with ctx.session() as session:
        project = project_row(session, params.project)
        row = session.exec(
            select(Pipeline).where(Pipeline.project_id == project.id, Pipeline.name == params.name)
        ).first()
        if row is None:
            row = Pipeline(
                id=uuid.uuid4().hex,
                project_id=project.id,
                name=params.name,
                type=plan.document.type,
                current_version=1,
            )
        else:
            if current_yaml(session, row) == params.yaml:
                return PipelineDetail(
                    **_public(project.name, row, plan).model_dump(),
                    yaml=params.yaml,
                    plan=plan.describe(),
                )
            check_trigger_target(
                session, project.id, row.name, plan.document.type, plan.document.parameters
            )
            row.current_version += 1
            row.type = plan.document.type
            row.updated_at = utcnow()
        session.add(row)
        session.add(
            PipelineVersion(
                id=uuid.uuid4().hex,
                pipeline_id=row.id,
                version=row.current_version,
                yaml=params.yaml,
                author=ctx.actor.name,
                message=params.message,
            )
        )
        session.flush()
        target = PipelineTarget(
            project=project.name, storage_url=project.storage_url, work_pool=ctx.settings.work_pool
        )
        # Prefect unreachable or refusing: the session closes uncommitted, nothing is saved
        with unavailable_on_failure("could not register the pipeline with Prefect"):
            row.deployment_id = upsert_deployment(plan, row.current_version, target)
        session.add(row)
        session.commit()
        session.refresh(row)
        return PipelineDetail(
            **_public(project.name, row, plan).model_dump(), yaml=params.yaml, plan=plan.describe()
        )


@operation(
    method="GET", path="/projects/{project}/pipelines", scope=Scope.READ, tags=("pipelines",)
)
def list_pipelines(ctx: ServiceContext, params: ProjectPipelines) -> PipelineList:
    """A project's pipelines, by name."""
    with ctx.session() as session:
        project = project_row(session, params.project)
        rows = session.exec(
            select(Pipeline).where(Pipeline.project_id == project.id).order_by(Pipeline.name)
        ).all()
        items = [
            _public(project.name, row, compile_or_raise(current_yaml(session, row), row.name))
            for row in rows
        ]
    return PipelineList(items=items)


@operation(
    method="GET", path="/projects/{project}/pipelines/{name}", scope=Scope.READ, tags=("pipelines",)
)
def get_pipeline(ctx: ServiceContext, params: PipelineRef) -> PipelineDetail:
    """One pipeline with its current YAML and compiled plan."""
    with ctx.session() as session:
        project = project_row(session, params.project)
        row = pipeline_row(session, project, params.name)
        text = current_yaml(session, row)
        plan = compile_or_raise(text, row.name)
        return PipelineDetail(
            **_public(project.name, row, plan).model_dump(), yaml=text, plan=plan.describe()
        )


@operation(
    method="GET",
    path="/projects/{project}/pipelines/{name}/versions",
    scope=Scope.READ,
    tags=("pipelines",),
)
def list_pipeline_versions(ctx: ServiceContext, params: PipelineRef) -> PipelineVersionList:
    """Every saved version of a pipeline, newest first."""
    with ctx.session() as session:
        row = pipeline_row(session, project_row(session, params.project), params.name)
        versions = session.exec(
            select(PipelineVersion)
            .where(PipelineVersion.pipeline_id == row.id)
            .order_by(PipelineVersion.version.desc())  # type: ignore[attr-defined]
        ).all()
        return PipelineVersionList(
            items=[
                PipelineVersionPublic(
                    version=v.version, author=v.author, message=v.message, created_at=v.created_at
                )
                for v in versions
            ]
        )


@operation(
    method="GET",
    path="/projects/{project}/pipelines/{name}/versions/{version}",
    scope=Scope.READ,
    tags=("pipelines",),
)
def get_pipeline_version(ctx: ServiceContext, params: PipelineVersionRef) -> PipelineVersionPublic:
    """One saved version of a pipeline, with its YAML."""
    with ctx.session() as session:
        row = pipeline_row(session, project_row(session, params.project), params.name)
        version = session.exec(
            select(PipelineVersion).where(
                PipelineVersion.pipeline_id == row.id, PipelineVersion.version == params.version
            )
        ).first()
        if version is None:
            raise NotFound(
                f"pipeline '{params.name}' has no version {params.version}", field="version"
            )
        return PipelineVersionPublic(
            version=version.version,
            author=version.author,
            message=version.message,
            created_at=version.created_at,
            yaml=version.yaml,
        )


@operation(
    method="DELETE",
    path="/projects/{project}/pipelines/{name}",
    scope=Scope.WRITE,
    destructive=True,
    tags=("pipelines",),
)
def delete_pipeline(ctx: ServiceContext, params: PipelineRef) -> PipelineDeleted:
    """Delete a pipeline, its versions and its Prefect deployment (run history stays in Prefect)."""
    with ctx.session() as session:
        row = pipeline_row(session, project_row(session, params.project), params.name)
        naming = triggers_naming(session, row.project_id, row.name)
        if naming:
            raise Conflict(
                f"pipeline '{row.name}' is used by trigger(s) {', '.join(naming)}; delete them "
                "first (delete_trigger)",
                field="name",
            )
        count = len(
            session.exec(select(PipelineVersion).where(PipelineVersion.pipeline_id == row.id)).all()
        )
        if row.deployment_id:
            with unavailable_on_failure("could not remove the Prefect deployment"):
                delete_deployment(row.deployment_id)
        session.delete(row)
        session.commit()
    return PipelineDeleted(project=params.project, name=params.name, versions_removed=count)


def remove_project_deployments(session: Session, project: Project) -> None:
    """Delete the Prefect deployments of every pipeline of `project` (before it is deleted)."""
    rows = session.exec(select(Pipeline).where(Pipeline.project_id == project.id)).all()
    for row in rows:
        if row.deployment_id:
            with unavailable_on_failure(f"could not remove pipeline '{row.name}' from Prefect"):
                delete_deployment(row.deployment_id)
