"""Ontology versions in the metadata DB: the rows, their public shapes, and
`save_accepted`, which saves an accepted version and makes it drive the project's storage.

A project holds any number of named ontologies. Every save is an immutable version row
(complete Turtle, author, message, origin); the *current* version is the newest accepted
one. Saving an accepted version is one unit of work: the ontology is compiled and planned
against the project's store first (so an ontology that cannot become tables, or that would
need a data-losing migration, is refused with nothing saved), the additive migration is
applied and new tables loaded from the raw area, then the version row is flushed, the
ontology and its mapping published into the storage object for workers, and only then is
the transaction committed.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from functools import lru_cache
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints, field_validator
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, func, select

from domain.ontology_storage import (
    BreakingSchemaChange,
    OntologyPlan,
    apply_ontology,
    plan_ontology,
    tables_to_load,
)
from domain.published import publish
from flows.table_flows import LOAD_FLOW_NAME, start_load
from mimir_api.core.errors import (
    Conflict,
    FieldError,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    Unavailable,
    unavailable_on_failure,
)
from mimir_api.db.models import Ontology, OntologyVersionRecord, Project, as_utc
from mimir_api.services.context import ServiceContext
from mimir_api.services.inputs import ProjectName, StrictInput
from mimir_api.services.project_access import project_store
from ontology import OntologyModel, SchemaMapping, from_turtle, to_turtle
from ontology.bounded import (
    DEFAULT_TIMEOUT_S,
    OntologyTimeout,
    OntologyTooLarge,
    load_ontology_bounded,
)
from ontology.errors import (
    AmbiguousReference,
    CompileError,
    ElementInUse,
    NameConflict,
    OntologyError,
    UnknownElement,
)
from storage_plugins.errors import StorageError
from storage_plugins.migrate import SchemaChange

MAX_DOCUMENT_CHARS = 8_000_000

OntologyName = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z][a-z0-9-]{0,61}[a-z0-9]$"),
    Field(
        description="Ontology name within the project (2-63 of a-z, 0-9, '-'); extraction "
        "uses 'main'.",
        examples=["main"],
    ),
]
Status = Literal["accepted", "proposed", "rejected", "superseded"]
Origin = Literal["manual", "upload", "extraction"]
MEDIA_TYPES = {
    "turtle": "text/turtle",
    "xml": "application/rdf+xml",
    "nt": "application/n-triples",
    "json-ld": "application/ld+json",
}


class OntologyRef(StrictInput):
    """Input of operations that address one ontology."""

    project: ProjectName
    name: OntologyName


class ChangeSummary(BaseModel):
    """One change of a proposal (accept it by id)."""

    id: str = Field(description="Change id, e.g. 'add:class:<iri>'.")
    action: str = Field(description="add or update.")
    kind: str = Field(description="class, datatype_property or object_property.")
    iri: str = Field(description="IRI of the element.")
    summary: str = Field(description="One line for people.")
    requires: list[str] = Field(description="Ids of changes accepted together with this one.")


class OntologyVersionPublic(BaseModel):
    """One version of an ontology."""

    version: int = Field(description="Version number.")
    parent: int | None = Field(description="The version it was derived from.")
    author: str = Field(description="Who saved it ('extraction' for extracted ones).")
    message: str = Field(description="Why it was saved.")
    origin: str = Field(description="manual (an edit), upload or extraction.")
    status: str = Field(description="accepted, proposed or rejected.")
    created_at: datetime = Field(description="When (UTC).")
    changes: list[ChangeSummary] | None = Field(
        default=None, description="For proposals: the changes it proposes."
    )
    turtle: str | None = Field(default=None, description="The ontology (get_ontology_version).")

    _utc = field_validator("created_at")(as_utc)


class OntologyVersionList(BaseModel):
    """Versions, newest first."""

    items: list[OntologyVersionPublic] = Field(description="Versions.")


class OntologyPublic(BaseModel):
    """An ontology as listed."""

    project: str = Field(description="Owning project.")
    name: str = Field(description="Ontology name.")
    iri: str | None = Field(description="The owl:Ontology IRI.")
    version: int = Field(description="Current (newest accepted) version.")
    class_count: int = Field(description="Number of classes.")
    property_count: int = Field(description="Number of datatype and object properties.")
    open_proposals: int = Field(description="Proposals waiting for a decision.")
    created_at: datetime = Field(description="Created (UTC).")
    updated_at: datetime = Field(description="When the current version was saved (UTC).")

    _utc = field_validator("created_at", "updated_at")(as_utc)


class OntologyList(BaseModel):
    """A project's ontologies, by name."""

    items: list[OntologyPublic] = Field(description="Ontologies.")


class StorageApplied(BaseModel):
    """What accepting the version did to the project's storage."""

    changes: list[str] = Field(description="Schema steps applied (create_table, add_column …).")
    tables_to_load: list[str] = Field(
        description="New or rebuilt tables that get the raw area's records, by the load run."
    )
    load_run_id: str | None = Field(
        description="The `load-ontology-tables` flow run filling them (follow it with "
        "get_project_run: its result has rows_loaded, records_loaded, rejected and "
        "rejected_sample); None when there was nothing to load."
    )
    notes: list[str] = Field(description="What the schema compiler could not map as is.")


class OntologySaved(BaseModel):
    """The result of an operation that may save a version."""

    ontology: OntologyPublic = Field(description="The ontology afterwards.")
    version: OntologyVersionPublic = Field(description="The version saved (or the current one).")
    changed: bool = Field(description="False when the operation changed nothing.")
    storage: StorageApplied | None = Field(description="Storage changes (for accepted saves).")
    warnings: list[str] = Field(default_factory=list, description="Non-blocking findings.")


BASE = "/projects/{project}/ontologies"
ONE = BASE + "/{name}"


# --------------------------------------------------------------------------- helpers


@lru_cache(maxsize=16)
def model_of(turtle: str) -> OntologyModel:
    """The model of a stored Turtle text (cached: models are immutable)."""
    return from_turtle(turtle)


def ontology_row(session: Session, project: Project, name: str) -> Ontology:
    """The ontology `name` of `project`, or NotFound."""
    row = session.exec(
        select(Ontology).where(Ontology.project_id == project.id, Ontology.name == name)
    ).first()
    if row is None:
        raise NotFound(
            f"ontology '{name}' does not exist in project '{project.name}'", field="name"
        )
    return row


def current_record(session: Session, ontology: Ontology) -> OntologyVersionRecord:
    """The newest accepted version (every ontology has one from its creation)."""
    return session.exec(
        select(OntologyVersionRecord)
        .where(
            OntologyVersionRecord.ontology_id == ontology.id,
            OntologyVersionRecord.status == "accepted",
        )
        .order_by(OntologyVersionRecord.version.desc())  # type: ignore[attr-defined]
    ).first() or _missing_current(ontology)


def _missing_current(ontology: Ontology) -> OntologyVersionRecord:
    raise Conflict(f"ontology '{ontology.name}' has no accepted version")


def version_record(session: Session, ontology: Ontology, version: int) -> OntologyVersionRecord:
    """One version, or NotFound."""
    row = session.exec(
        select(OntologyVersionRecord).where(
            OntologyVersionRecord.ontology_id == ontology.id,
            OntologyVersionRecord.version == version,
        )
    ).first()
    if row is None:
        raise NotFound(f"ontology '{ontology.name}' has no version {version}", field="version")
    return row


def chosen_record(
    session: Session, ontology: Ontology, version: int | None
) -> OntologyVersionRecord:
    """The given version, or the current one."""
    return (
        current_record(session, ontology)
        if version is None
        else version_record(session, ontology, version)
    )


def next_version(session: Session, ontology: Ontology) -> int:
    """The number the next saved version of `ontology` gets."""
    highest = session.exec(
        select(func.max(OntologyVersionRecord.version)).where(
            OntologyVersionRecord.ontology_id == ontology.id
        )
    ).one()
    return int(highest or 0) + 1


def ontology_error(
    exc: OntologyError, field: str, name_field: str | None = None
) -> InvalidInput | Conflict:
    """The problem an ontology-package error becomes: 409 for clashes, 422 otherwise.

    `field` names the input holding the reference; `name_field` the one holding a new name
    (a name conflict points there).
    """
    if isinstance(exc, NameConflict):
        return Conflict(str(exc), field=name_field or field)
    if isinstance(exc, ElementInUse):
        return Conflict(str(exc), field=field)
    if isinstance(exc, UnknownElement | AmbiguousReference):
        return InvalidInput(str(exc), field=field)
    return InvalidInput(str(exc), field=name_field or field)


def version_public(row: OntologyVersionRecord, with_turtle: bool = False) -> OntologyVersionPublic:
    """A version row as every surface shows it."""
    changes = None
    if row.changes is not None:
        changes = [
            ChangeSummary(**{k: c[k] for k in ChangeSummary.model_fields}) for c in row.changes
        ]
    return OntologyVersionPublic(
        version=row.version,
        parent=row.parent,
        author=row.author,
        message=row.message,
        origin=row.origin,
        status=row.status,
        created_at=row.created_at,
        changes=changes,
        turtle=row.turtle if with_turtle else None,
    )


def ontology_public(session: Session, project: Project, row: Ontology) -> OntologyPublic:
    """The list entry of an ontology."""
    current = current_record(session, row)
    model = model_of(current.turtle)
    open_count = session.exec(
        select(func.count())
        .select_from(OntologyVersionRecord)
        .where(
            OntologyVersionRecord.ontology_id == row.id,
            OntologyVersionRecord.status == "proposed",
        )
    ).one()
    return OntologyPublic(
        project=project.name,
        name=row.name,
        iri=model.iri,
        version=current.version,
        class_count=len(model.classes),
        property_count=len(model.properties),
        open_proposals=int(open_count),
        created_at=row.created_at,
        updated_at=current.created_at,
    )


class ConcurrentSave(Conflict):
    """Another request saved a version (or created the ontology) at the same time."""


def save_accepted(
    ctx: ServiceContext,
    session: Session,
    project: Project,
    ontology: Ontology,
    model: OntologyModel,
    *,
    origin: Origin,
    message: str,
    parent: int | None,
    force: bool = False,
    author: str | None = None,
    create: bool = False,
    before_commit: Callable[[], None] | None = None,
) -> tuple[OntologyVersionRecord, StorageApplied]:
    """Save `model` as the new current version and make it drive storage (see module doc).

    `create` adds the (new, unsaved) `ontology` row in the same transaction. The storage
    work that may take long (migration, loading the raw area) runs before the first DB write,
    so an embedded SQLite metadata DB is not locked meanwhile; it is additive and idempotent,
    so a save that then loses a race (`ConcurrentSave`) leaves nothing wrong behind.
    """
    plan, applied, to_load = _migrate_storage(project, model, force)
    if create:
        session.add(ontology)
    record = _add_version(ctx, session, ontology, model, origin, message, parent, author)
    if before_commit is not None:
        before_commit()
    _flush_or_conflict(session, ontology, create)
    _publish_or_rollback(session, project, ontology, record, plan.mapping)
    load_run = _start_load_or_rollback(ctx, session, project, ontology, record, to_load)
    session.commit()
    session.refresh(record)
    return record, StorageApplied(
        changes=[str(c) for c in applied.changes],
        tables_to_load=sorted(to_load),
        load_run_id=load_run,
        notes=list(plan.mapping.notes),
    )


def _migrate_storage(
    project: Project, model: OntologyModel, force: bool
) -> tuple[OntologyPlan, SchemaChange, set[str]]:
    """Plan and apply the migration, and say which new tables the raw area fills: refused
    (nothing changed) when the ontology cannot become tables or would need a data-losing
    migration without `force`."""
    with project_store(project) as store:
        try:
            plan = plan_ontology(store, model, force=force)
        except CompileError as exc:
            raise InvalidInput(f"the ontology cannot be stored as tables: {exc}") from None
        except BreakingSchemaChange as exc:
            raise Conflict(str(exc), field="force") from None
        try:
            applied = apply_ontology(store, plan)
            to_load = tables_to_load(store, model, plan.mapping, plan.rebuilt)
        except (StorageError, OSError) as exc:
            raise Unavailable(
                f"could not apply the ontology to the project storage: {exc}"
            ) from exc
    return plan, applied, to_load


def _add_version(
    ctx: ServiceContext,
    session: Session,
    ontology: Ontology,
    model: OntologyModel,
    origin: Origin,
    message: str,
    parent: int | None,
    author: str | None,
) -> OntologyVersionRecord:
    """A new accepted version row of `ontology`, added to the session (not yet flushed)."""
    record = OntologyVersionRecord(
        id=uuid.uuid4().hex,
        ontology_id=ontology.id,
        version=next_version(session, ontology),
        turtle=to_turtle(model),
        author=(author or ctx.actor.name)[:128],
        message=message[:1000],
        origin=origin,
        status="accepted",
        parent=parent,
    )
    session.add(record)
    return record


def _flush_or_conflict(session: Session, ontology: Ontology, create: bool) -> None:
    """Write the pending rows; a unique-key clash means another request won the race."""
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        what = f"ontology '{ontology.name}' was created" if create else "a version was saved"
        raise ConcurrentSave(f"{what} by another request at the same time; retry") from None


def _publish_or_rollback(
    session: Session,
    project: Project,
    ontology: Ontology,
    record: OntologyVersionRecord,
    mapping: SchemaMapping,
) -> None:
    """Publish the version for workers; if that fails, nothing of the save is committed."""
    try:
        publish(project.storage_url, ontology.name, record.version, record.turtle, mapping)
    except OSError as exc:
        session.rollback()
        raise Unavailable(
            f"could not publish the ontology into the project storage: {exc}"
        ) from exc


def _start_load_or_rollback(
    ctx: ServiceContext,
    session: Session,
    project: Project,
    ontology: Ontology,
    record: OntologyVersionRecord,
    tables: set[str],
) -> str | None:
    """Start the flow run that loads the raw area into `tables` (published first, so the run
    finds this version); if Prefect refuses, nothing of the save is committed."""
    if not tables:
        return None
    what = f"Prefect could not start {LOAD_FLOW_NAME}/mimir to load {sorted(tables)}"
    try:
        with unavailable_on_failure(f"{what}; nothing was saved"):
            flow_run = start_load(
                project.name,
                project.storage_url,
                ontology.name,
                record.version,
                sorted(tables),
                via=f"api:{ctx.actor.name}",
            )
    except Unavailable:
        session.rollback()
        raise
    return str(flow_run.id)


def saved(
    session: Session,
    project: Project,
    ontology: Ontology,
    record: OntologyVersionRecord,
    storage: StorageApplied | None,
    *,
    changed: bool = True,
    warnings: list[str] | None = None,
) -> OntologySaved:
    """The answer of a saving operation."""
    return OntologySaved(
        ontology=ontology_public(session, project, ontology),
        version=version_public(record),
        changed=changed,
        storage=storage,
        warnings=warnings or [],
    )


def parse_document(
    content: str, fmt: str | None, *, timeout_s: float = DEFAULT_TIMEOUT_S
) -> tuple[OntologyModel, list[str]]:
    """Load and validate an uploaded document in a worker process killed after `timeout_s`;
    every error (with line/column) as a 422, too slow as a 422, too big as a 413."""
    try:
        result = load_ontology_bounded(
            content, fmt, timeout_s=timeout_s, max_bytes=MAX_DOCUMENT_CHARS
        )
    except OntologyTooLarge as exc:
        raise PayloadTooLarge(str(exc), field="content") from None
    except OntologyTimeout as exc:
        raise InvalidInput(str(exc), field="content") from None
    except ValueError as exc:  # an unknown format name
        raise InvalidInput(str(exc), field="format") from None
    errors = [i for i in result.issues if i.severity == "error"]
    if errors or result.model is None:
        raise InvalidInput(
            f"the {result.format} document has {len(errors)} problem(s); nothing was saved",
            errors=[
                FieldError(
                    field="content", message=i.message, type=i.code, line=i.line, column=i.column
                )
                for i in errors
            ],
        )
    warnings = [str(i) for i in result.issues if i.severity != "error"]
    return result.model, warnings
