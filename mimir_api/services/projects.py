"""Project operations: a project is a workspace with its own storage object.

Writes are all-or-nothing: the DB row is flushed (catching duplicate names) before the storage
object is created, and committed only once the storage exists; any failure rolls both back.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints, field_validator
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from blocks.project_storage import ProjectStorage, block_name
from flows.auto_detection import remove_auto_detection
from mimir_api.core.errors import Conflict, InvalidInput, unavailable_on_failure
from mimir_api.core.security import Scope
from mimir_api.db.models import Project, as_utc, utcnow
from mimir_api.services import project_storage
from mimir_api.services.context import ServiceContext
from mimir_api.services.inputs import ProjectName, StrictInput
from mimir_api.services.pipelines import remove_project_deployments
from mimir_api.services.project_access import project_row
from mimir_api.services.registry import operation
from mimir_api.services.triggers import remove_project_automations

LABEL_KEY = re.compile(r"^[a-z0-9]([a-z0-9._/-]{0,61}[a-z0-9])?$")
Labels = Annotated[
    dict[str, Annotated[str, StringConstraints(max_length=256)]],
    Field(max_length=64, description="Free-form key/value labels (at most 64)."),
]


def _check_label_keys(labels: dict[str, str] | None) -> dict[str, str] | None:
    for key in labels or {}:
        if not LABEL_KEY.match(key):
            raise ValueError(
                f"label key {key!r} must be 1-63 chars of a-z, 0-9, '.', '_', '/', '-'"
            )
    return labels


class ProjectCreate(StrictInput):
    """Input of create_project."""

    name: ProjectName
    description: str = Field(default="", max_length=4000, description="What the project is for.")
    labels: Labels = Field(default_factory=dict)
    storage_url: str | None = Field(
        default=None,
        max_length=1024,
        description="Where the project's storage object lives (fsspec URL). Defaults to "
        "MIMIR_STORAGE_URL/<name>.",
    )

    _labels = field_validator("labels")(_check_label_keys)


class ProjectRef(StrictInput):
    """Input of operations that address one project."""

    name: ProjectName


class ProjectUpdate(StrictInput):
    """Input of update_project; omitted fields stay as they are."""

    name: ProjectName
    description: str | None = Field(default=None, max_length=4000, description="New description.")
    labels: Labels | None = Field(default=None, description="Replaces all labels when given.")

    _labels = field_validator("labels")(_check_label_keys)


class ProjectClone(StrictInput):
    """Input of clone_project."""

    name: ProjectName = Field(description="The project to copy.")
    new_name: ProjectName = Field(description="Name of the copy.")
    description: str | None = Field(
        default=None, max_length=4000, description="Description of the copy (default: source's)."
    )


class ProjectListQuery(StrictInput):
    """Input of list_projects."""

    limit: int = Field(default=50, ge=1, le=500, description="Page size.")
    cursor: str | None = Field(
        default=None, max_length=512, description="Opaque cursor from a previous page."
    )


class ProjectPublic(BaseModel):
    """A project as every surface shows it."""

    id: str = Field(description="Stable identifier.")
    name: str = Field(description="Unique name, used in paths.")
    description: str = Field(description="What the project is for.")
    labels: dict[str, str] = Field(description="Key/value labels.")
    storage_url: str = Field(description="Where the project's storage object lives.")
    storage_plugin: str | None = Field(
        default=None,
        description="Storage plugin configured for its tables (null: the default store beside "
        "its files).",
    )
    created_at: datetime = Field(description="When it was created (UTC).")
    updated_at: datetime = Field(description="When it last changed (UTC).")

    _utc = field_validator("created_at", "updated_at")(as_utc)


class ProjectsPage(BaseModel):
    """One page of projects, ordered by name."""

    items: list[ProjectPublic] = Field(description="Projects on this page.")
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null at end.")


class ProjectDeleted(BaseModel):
    """What delete_project removed."""

    name: str = Field(description="The deleted project.")
    storage_removed: bool = Field(description="Whether a storage object existed and was removed.")


class ProjectCloned(BaseModel):
    """The copy clone_project made."""

    project: ProjectPublic = Field(description="The new project.")
    files_copied: int = Field(description="Files copied from the source's storage object.")


def _public(row: Project) -> ProjectPublic:
    return ProjectPublic.model_validate(row, from_attributes=True)


def _encode_cursor(after: str) -> str:
    return base64.urlsafe_b64encode(json.dumps({"after": after}).encode()).decode()


def _decode_cursor(cursor: str) -> str:
    try:
        after = json.loads(base64.urlsafe_b64decode(cursor.encode()))["after"]
    except (binascii.Error, ValueError, KeyError, TypeError):
        raise InvalidInput("not a cursor returned by list_projects", field="cursor") from None
    if not isinstance(after, str):
        raise InvalidInput("not a cursor returned by list_projects", field="cursor")
    return after


def _insert_with_storage(
    ctx: ServiceContext, row: Project, copy_from: str | None, name_field: str = "name"
) -> int:
    """Insert `row` and create (or copy) its storage object as one unit."""
    copied = 0
    with ctx.session() as session:
        session.add(row)
        try:
            session.flush()
        except IntegrityError:
            raise Conflict(f"project '{row.name}' already exists", field=name_field) from None
        if copy_from is None:
            project_storage.create_storage_object(row.storage_url, row.id, row.name)
        else:
            copied = project_storage.copy_storage_object(
                copy_from, row.storage_url, row.id, row.name
            )
        try:
            session.commit()
        except Exception:
            project_storage.remove_storage_object(row.storage_url)
            raise
        session.refresh(row)
    return copied


def _delete_storage_block(name: str) -> None:
    """Remove the project's storage Block (it holds the backend's secrets)."""
    with unavailable_on_failure("cannot remove the project's storage settings from Prefect"):
        try:
            ProjectStorage.delete(block_name(name))
        except ValueError:  # already gone
            return


@operation(method="POST", path="/projects", scope=Scope.WRITE, status_code=201, tags=("projects",))
def create_project(ctx: ServiceContext, params: ProjectCreate) -> ProjectPublic:
    """Create a project and its storage object.

    The storage object is a folder under MIMIR_STORAGE_URL unless `storage_url` names another
    empty location (a local folder inside the storage base, or s3://…).
    """
    base = ctx.settings.resolved_storage_url
    url = (
        project_storage.validate_storage_url(params.storage_url, base)
        if params.storage_url
        else project_storage.project_url(base, params.name)
    )
    row = Project(
        id=uuid.uuid4().hex,
        name=params.name,
        description=params.description,
        labels=params.labels,
        storage_url=url,
    )
    _insert_with_storage(ctx, row, copy_from=None)
    return _public(row)


@operation(method="GET", path="/projects", scope=Scope.READ, tags=("projects",))
def list_projects(ctx: ServiceContext, params: ProjectListQuery) -> ProjectsPage:
    """List projects by name, one page at a time (cursor pagination)."""
    statement = select(Project).order_by(Project.name).limit(params.limit + 1)
    if params.cursor:
        statement = statement.where(Project.name > _decode_cursor(params.cursor))
    with ctx.session() as session:
        rows = list(session.exec(statement))
    page, more = rows[: params.limit], len(rows) > params.limit
    return ProjectsPage(
        items=[_public(r) for r in page],
        next_cursor=_encode_cursor(page[-1].name) if more else None,
    )


@operation(method="GET", path="/projects/{name}", scope=Scope.READ, tags=("projects",))
def get_project(ctx: ServiceContext, params: ProjectRef) -> ProjectPublic:
    """Get one project by name."""
    with ctx.session() as session:
        return _public(project_row(session, params.name, field="name"))


@operation(
    method="PATCH", path="/projects/{name}", scope=Scope.WRITE, idempotent=True, tags=("projects",)
)
def update_project(ctx: ServiceContext, params: ProjectUpdate) -> ProjectPublic:
    """Change a project's description or labels (name and storage are fixed)."""
    with ctx.session() as session:
        row = project_row(session, params.name, field="name")
        if params.description is not None:
            row.description = params.description
        if params.labels is not None:
            row.labels = params.labels
        row.updated_at = utcnow()
        session.add(row)
        session.commit()
        session.refresh(row)
        return _public(row)


@operation(
    method="DELETE",
    path="/projects/{name}",
    scope=Scope.WRITE,
    destructive=True,
    idempotent=False,
    tags=("projects",),
)
def delete_project(ctx: ServiceContext, params: ProjectRef) -> ProjectDeleted:
    """Delete a project and everything it owns, its storage object included.

    Storage goes first: if it cannot be removed the project stays, intact and retryable.
    """
    with ctx.session() as session:
        row = project_row(session, params.name, field="name")
        remove_project_automations(session, row)
        remove_project_deployments(session, row)
        with unavailable_on_failure("could not remove the project's automatic detection"):
            remove_auto_detection(row.name)
        if row.storage_plugin:
            _delete_storage_block(row.name)
        removed = project_storage.remove_storage_object(row.storage_url)
        session.delete(row)
        session.commit()
    return ProjectDeleted(name=params.name, storage_removed=removed)


@operation(
    method="POST",
    path="/projects/{name}/clone",
    scope=Scope.WRITE,
    status_code=201,
    tags=("projects",),
)
def clone_project(ctx: ServiceContext, params: ProjectClone) -> ProjectCloned:
    """Copy a project: its settings and every file of its storage object, under a new name.

    A storage backend configured for the source is not shared: the copy keeps its tables in
    the default store beside its (copied) files.
    """
    with ctx.session() as session:
        source = project_row(session, params.name, field="name")
        source_url, labels = source.storage_url, dict(source.labels)
        description = source.description if params.description is None else params.description
    row = Project(
        id=uuid.uuid4().hex,
        name=params.new_name,
        description=description,
        labels=labels,
        storage_url=project_storage.project_url(ctx.settings.resolved_storage_url, params.new_name),
    )
    copied = _insert_with_storage(ctx, row, copy_from=source_url, name_field="new_name")
    return ProjectCloned(project=_public(row), files_copied=copied)
