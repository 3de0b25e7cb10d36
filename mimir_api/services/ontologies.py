"""Ontology operations: create/upload, read, delete, export, versions, diffs, the compiled
schema, R2RML and the consistency check. Edits live in `ontology_edits`, extraction and
proposals in `ontology_proposals`, version rows, shapes and saving in `ontology_versions`.
"""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import BaseModel, Field
from sqlmodel import func, select

from domain.published import unpublish
from mimir_api.core.errors import Conflict, InvalidInput, Unavailable
from mimir_api.core.security import Scope
from mimir_api.db.models import Ontology, OntologyVersionRecord, Project, as_utc
from mimir_api.services.context import ServiceContext
from mimir_api.services.extraction_status import ExtractionStatus, latest_extraction
from mimir_api.services.inputs import ProjectName, StrictInput
from mimir_api.services.ontology_versions import (
    BASE,
    MAX_DOCUMENT_CHARS,
    MEDIA_TYPES,
    ONE,
    OntologyList,
    OntologyPublic,
    OntologyRef,
    OntologySaved,
    OntologyVersionList,
    OntologyVersionPublic,
    Origin,
    Status,
    chosen_record,
    current_record,
    model_of,
    ontology_public,
    ontology_row,
    parse_document,
    save_accepted,
    saved,
    version_public,
    version_record,
)
from mimir_api.services.project_access import project_row, project_store
from mimir_api.services.registry import operation
from ontology import (
    ConsistencyResult,
    DatatypeProperty,
    ObjectProperty,
    OntologyClass,
    OntologyDiff,
    OntologyModel,
    SchemaMapping,
    check_consistency,
    compile_schema,
    diff,
    to_r2rml,
    to_turtle,
)
from ontology import (
    export_ontology as export_document,
)
from ontology.errors import CompileError

TAGS = ("ontologies",)


class ProjectOntologies(StrictInput):
    """Input of list_ontologies."""

    project: ProjectName


class OntologyCreate(OntologyRef):
    """Input of create_ontology."""

    content: str | None = Field(
        default=None,
        max_length=MAX_DOCUMENT_CHARS,
        description="The ontology document; omit it for an empty ontology to build by edits.",
    )
    format: str | None = Field(
        default=None,
        max_length=64,
        description="turtle, xml (RDF/XML), nt, json-ld or owl-xml (or a media type); "
        "detected from the content when omitted.",
    )
    iri: str | None = Field(
        default=None, max_length=1000, description="Ontology IRI of an empty ontology."
    )
    message: str = Field(default="", max_length=1000, description="Why (kept with the version).")
    force: bool = Field(
        default=False,
        description="Allow storage changes that lose data (tables whose key or column types "
        "change are rebuilt and reloaded from the raw area).",
    )


class OntologyUpload(OntologyRef):
    """Input of upload_ontology_version."""

    content: str = Field(max_length=MAX_DOCUMENT_CHARS, description="The ontology document.")
    format: str | None = Field(
        default=None, max_length=64, description="As in create_ontology; detected when omitted."
    )
    message: str = Field(default="", max_length=1000, description="Why (kept with the version).")
    force: bool = Field(default=False, description="As in create_ontology.")


class ExportQuery(OntologyRef):
    """Input of export_ontology."""

    format: Literal["turtle", "xml", "nt", "json-ld"] = Field(
        default="turtle", description="turtle, xml (RDF/XML), nt or json-ld."
    )
    version: int | None = Field(default=None, ge=1, description="Version (default: current).")


class VersionListQuery(OntologyRef):
    """Input of list_ontology_versions."""

    status: Status | None = Field(default=None, description="Only versions with this status.")


class VersionRef(OntologyRef):
    """Input of operations that address one version."""

    version: int = Field(ge=1, description="Version number.")


class DiffQuery(OntologyRef):
    """Input of diff_ontology_versions."""

    from_version: int = Field(ge=1, description="The older version.")
    to_version: int | None = Field(default=None, ge=1, description="The newer (default: current).")


class OptionalVersion(OntologyRef):
    """Input of operations on the current version or a chosen one."""

    version: int | None = Field(default=None, ge=1, description="Version (default: current).")


class ConsistencyQuery(OptionalVersion):
    """Input of check_ontology_consistency."""

    timeout_s: float = Field(
        default=30.0, gt=0, le=120, description="Seconds the reasoner may run before it is killed."
    )


class ExtractionFollowed(BaseModel):
    """The newest extraction run, so an automatically started one can be followed here."""

    latest_extraction: ExtractionStatus | None = Field(
        default=None,
        description="The newest extract-ontology run (state, outcome such as no-data or "
        "proposed, error, timings, the run that started it); None when there was none.",
    )
    extraction_unavailable: str | None = Field(
        default=None, description="Why the extraction runs could not be read (Prefect down)."
    )


class OntologyListing(OntologyList, ExtractionFollowed):
    """A project's ontologies, by name, and its newest extraction run (of any ontology:
    a project's first extraction, or one that found no data, has no ontology to show)."""


class OntologyDetail(OntologyPublic, ExtractionFollowed):
    """An ontology's current version as typed classes and properties, and its newest
    extraction run."""

    label: str | None = Field(description="The ontology's label.")
    classes: list[OntologyClass] = Field(description="Classes with keys and provenance.")
    datatype_properties: list[DatatypeProperty] = Field(description="Attributes.")
    object_properties: list[ObjectProperty] = Field(description="Relationships.")
    axioms: int = Field(description="Other triples kept verbatim (restrictions, annotations …).")


class OntologyDeleted(BaseModel):
    """What delete_ontology removed."""

    project: str = Field(description="Project.")
    name: str = Field(description="Deleted ontology.")
    versions_removed: int = Field(description="Versions deleted with it.")


class ExportedOntology(BaseModel):
    """An ontology document."""

    format: str = Field(description="turtle, xml, nt or json-ld.")
    media_type: str = Field(description="Its media type.")
    version: int = Field(description="The exported version.")
    content: str = Field(description="The document.")


class OntologyDiffResult(BaseModel):
    """Differences between two versions."""

    from_version: int = Field(description="Older version.")
    to_version: int = Field(description="Newer version.")
    diff: OntologyDiff = Field(description="Classes, properties and axioms added/removed/changed.")
    text: str = Field(description="The same as readable lines (+ added, - removed, ~ changed).")


class OntologySchema(BaseModel):
    """The tabular schema a version compiles to, and how classes map onto it."""

    version: int = Field(description="The compiled version.")
    mapping: SchemaMapping = Field(description="Tables, class and property mappings, notes.")


class R2RMLDocument(BaseModel):
    """The W3C R2RML mapping of a version (Turtle)."""

    version: int = Field(description="The version mapped.")
    media_type: str = Field(description="text/turtle.")
    content: str = Field(description="The R2RML document.")


class ConsistencyReport(ConsistencyResult):
    """The reasoner's verdict on one version."""

    version: int = Field(description="The checked version.")


def _mapping_for(project: Project, model: OntologyModel) -> SchemaMapping:
    """Compile `model` with the names the project's store already uses."""
    with project_store(project) as store:
        try:
            return compile_schema(model, previous=store.schema())
        except CompileError as exc:
            raise InvalidInput(f"the ontology cannot be stored as tables: {exc}") from None


# --------------------------------------------------------------------------- operations


@operation(method="GET", path=BASE, scope=Scope.READ, tags=TAGS)
def list_ontologies(ctx: ServiceContext, params: ProjectOntologies) -> OntologyListing:
    """A project's ontologies with their current version and open proposals, and the
    project's newest extraction run (queued, running, or how it ended and why)."""
    with ctx.session() as session:
        project = project_row(session, params.project)
        rows = session.exec(
            select(Ontology).where(Ontology.project_id == project.id).order_by(Ontology.name)
        ).all()
        items = [ontology_public(session, project, r) for r in rows]
        since = as_utc(project.created_at)  # an earlier project of this name ran its own
    latest, unavailable = latest_extraction(
        ctx.settings.resolved_prefect_api_url, params.project, since=since
    )
    return OntologyListing(
        items=items, latest_extraction=latest, extraction_unavailable=unavailable
    )


@operation(method="POST", path=BASE, scope=Scope.WRITE, status_code=201, tags=TAGS)
def create_ontology(ctx: ServiceContext, params: OntologyCreate) -> OntologySaved:
    """Create an ontology from an uploaded document (Turtle, RDF/XML, N-Triples, JSON-LD,
    OWL/XML) or empty; it becomes version 1 and drives the project's storage at once.

    Every problem in the document is reported with its line and column; nothing is saved then.
    """
    warnings: list[str] = []
    if params.content is not None:
        model, warnings = parse_document(
            params.content, params.format, timeout_s=ctx.settings.ontology_parse_timeout_s
        )
        origin: Origin = "upload"
    else:
        model = OntologyModel(
            iri=params.iri or f"https://mimir-aip.dev/projects/{params.project}/{params.name}"
        )
        origin = "manual"
    with ctx.session() as session:
        project = project_row(session, params.project)
        exists = session.exec(
            select(Ontology.id).where(
                Ontology.project_id == project.id, Ontology.name == params.name
            )
        ).first()
        if exists is not None:
            raise Conflict(f"ontology '{params.name}' already exists", field="name")
        row = Ontology(id=uuid.uuid4().hex, project_id=project.id, name=params.name)
        record, storage = save_accepted(
            ctx,
            session,
            project,
            row,
            model,
            origin=origin,
            message=params.message,
            parent=None,
            force=params.force,
            create=True,
        )
        return saved(session, project, row, record, storage, warnings=warnings)


@operation(method="POST", path=ONE + "/versions", scope=Scope.WRITE, status_code=201, tags=TAGS)
def upload_ontology_version(ctx: ServiceContext, params: OntologyUpload) -> OntologySaved:
    """Replace an ontology with an uploaded document, as a new accepted version."""
    model, warnings = parse_document(
        params.content, params.format, timeout_s=ctx.settings.ontology_parse_timeout_s
    )
    with ctx.session() as session:
        project = project_row(session, params.project)
        row = ontology_row(session, project, params.name)
        current = current_record(session, row)
        if to_turtle(model) == current.turtle:
            return saved(session, project, row, current, None, changed=False, warnings=warnings)
        record, storage = save_accepted(
            ctx,
            session,
            project,
            row,
            model,
            origin="upload",
            message=params.message,
            parent=current.version,
            force=params.force,
        )
        return saved(session, project, row, record, storage, warnings=warnings)


@operation(method="GET", path=ONE, scope=Scope.READ, tags=TAGS)
def get_ontology(ctx: ServiceContext, params: OntologyRef) -> OntologyDetail:
    """An ontology's current version: classes (keys, provenance), attributes, relationships."""
    with ctx.session() as session:
        project = project_row(session, params.project)
        row = ontology_row(session, project, params.name)
        summary = ontology_public(session, project, row)
        model = model_of(current_record(session, row).turtle)
        since = as_utc(project.created_at)
    axioms = sum(1 for line in model.extra.splitlines() if line.strip())
    latest, unavailable = latest_extraction(
        ctx.settings.resolved_prefect_api_url, params.project, params.name, since=since
    )
    return OntologyDetail(
        **summary.model_dump(),
        latest_extraction=latest,
        extraction_unavailable=unavailable,
        label=model.label,
        classes=list(model.classes),
        datatype_properties=list(model.datatype_properties),
        object_properties=list(model.object_properties),
        axioms=axioms,
    )


@operation(
    method="DELETE", path=ONE, scope=Scope.WRITE, destructive=True, idempotent=False, tags=TAGS
)
def delete_ontology(ctx: ServiceContext, params: OntologyRef) -> OntologyDeleted:
    """Delete an ontology and its versions; its tables and their data stay in storage."""
    with ctx.session() as session:
        project = project_row(session, params.project)
        row = ontology_row(session, project, params.name)
        count = session.exec(
            select(func.count())
            .select_from(OntologyVersionRecord)
            .where(OntologyVersionRecord.ontology_id == row.id)
        ).one()
        try:
            unpublish(project.storage_url, row.name)
        except OSError as exc:
            raise Unavailable(f"could not remove the published ontology: {exc}") from exc
        session.delete(row)
        session.commit()
    return OntologyDeleted(project=params.project, name=params.name, versions_removed=int(count))


@operation(method="GET", path=ONE + "/export", scope=Scope.READ, tags=TAGS)
def export_ontology(ctx: ServiceContext, params: ExportQuery) -> ExportedOntology:
    """An ontology version as Turtle, RDF/XML, N-Triples or JSON-LD."""
    with ctx.session() as session:
        row = ontology_row(session, project_row(session, params.project), params.name)
        record = chosen_record(session, row, params.version)
    content = export_document(model_of(record.turtle), params.format)
    return ExportedOntology(
        format=params.format,
        media_type=MEDIA_TYPES[params.format],
        version=record.version,
        content=content,
    )


@operation(method="GET", path=ONE + "/versions", scope=Scope.READ, tags=TAGS)
def list_ontology_versions(ctx: ServiceContext, params: VersionListQuery) -> OntologyVersionList:
    """Every version (edits, uploads, extractions, proposals), newest first."""
    with ctx.session() as session:
        row = ontology_row(session, project_row(session, params.project), params.name)
        statement = select(OntologyVersionRecord).where(OntologyVersionRecord.ontology_id == row.id)
        if params.status:
            statement = statement.where(OntologyVersionRecord.status == params.status)
        rows = session.exec(
            statement.order_by(OntologyVersionRecord.version.desc())  # type: ignore[attr-defined]
        ).all()
        return OntologyVersionList(items=[version_public(r) for r in rows])


@operation(method="GET", path=ONE + "/versions/{version}", scope=Scope.READ, tags=TAGS)
def get_ontology_version(ctx: ServiceContext, params: VersionRef) -> OntologyVersionPublic:
    """One version with its Turtle (and, for a proposal, its changes)."""
    with ctx.session() as session:
        row = ontology_row(session, project_row(session, params.project), params.name)
        return version_public(version_record(session, row, params.version), with_turtle=True)


@operation(method="GET", path=ONE + "/diff", scope=Scope.READ, tags=TAGS)
def diff_ontology_versions(ctx: ServiceContext, params: DiffQuery) -> OntologyDiffResult:
    """What changed between any two versions, as JSON and as readable text."""
    with ctx.session() as session:
        row = ontology_row(session, project_row(session, params.project), params.name)
        older = version_record(session, row, params.from_version)
        newer = chosen_record(session, row, params.to_version)
    result = diff(model_of(older.turtle), model_of(newer.turtle)).model_copy(
        update={"from_version": older.version, "to_version": newer.version}
    )
    return OntologyDiffResult(
        from_version=older.version, to_version=newer.version, diff=result, text=result.to_text()
    )


@operation(method="GET", path=ONE + "/schema", scope=Scope.READ, tags=TAGS)
def get_ontology_schema(ctx: ServiceContext, params: OptionalVersion) -> OntologySchema:
    """The tabular schema a version compiles to (tables, keys, foreign keys, link tables)."""
    with ctx.session() as session:
        project = project_row(session, params.project)
        record = chosen_record(session, ontology_row(session, project, params.name), params.version)
    return OntologySchema(
        version=record.version, mapping=_mapping_for(project, model_of(record.turtle))
    )


@operation(method="GET", path=ONE + "/r2rml", scope=Scope.READ, tags=TAGS)
def get_ontology_r2rml(ctx: ServiceContext, params: OptionalVersion) -> R2RMLDocument:
    """The ontology ↔ tables mapping as W3C R2RML (Turtle), for Ontop, GraphDB and others."""
    with ctx.session() as session:
        project = project_row(session, params.project)
        record = chosen_record(session, ontology_row(session, project, params.name), params.version)
    mapping = _mapping_for(project, model_of(record.turtle))
    return R2RMLDocument(
        version=record.version, media_type="text/turtle", content=to_r2rml(mapping)
    )


@operation(method="POST", path=ONE + "/consistency", scope=Scope.READ, idempotent=True, tags=TAGS)
def check_ontology_consistency(ctx: ServiceContext, params: ConsistencyQuery) -> ConsistencyReport:
    """Run the HermiT reasoner on a version, killed after `timeout_s` (status 'timeout')."""
    with ctx.session() as session:
        row = ontology_row(session, project_row(session, params.project), params.name)
        record = chosen_record(session, row, params.version)
    result = check_consistency(model_of(record.turtle), timeout_s=params.timeout_s)
    return ConsistencyReport(**result.model_dump(), version=record.version)
