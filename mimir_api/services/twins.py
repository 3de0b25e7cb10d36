"""Digital twin operations: create, list, get, update, delete, query and sync twins.

A twin is a row naming some of the project's ontologies and its query limits; it holds no
data. Queries read the project's storage through the published mappings of those ontologies
(`twin.binding`) at query time. `run_twin_query` is shared with the SPARQL
1.1 Protocol endpoint (`mimir_api.api.sparql`), which returns the same answers in the W3C
result formats.
"""

from __future__ import annotations

import contextlib
import itertools
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, Field, StringConstraints, field_validator
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from mimir_api.core.errors import (
    BadRequest,
    Conflict,
    FieldError,
    InvalidInput,
    MimirError,
    NotFound,
    Unavailable,
)
from mimir_api.core.security import Scope
from mimir_api.db.models import (
    MLModel,
    Ontology,
    Project,
    Twin,
    TwinScenario,
    TwinScenarioEdit,
    as_utc,
    utcnow,
)
from mimir_api.services.context import ServiceContext
from mimir_api.services.inputs import StrictInput
from mimir_api.services.ontology_versions import OntologyName
from mimir_api.services.project_access import open_store_of, project_row
from mimir_api.services.projects import ProjectName
from mimir_api.services.registry import operation
from storage_plugins.errors import InvalidQuery
from twin.engine import TwinResult, run_query
from twin.errors import (
    HistoryUnavailable,
    QuerySyntaxError,
    QueryTimeout,
    UnsupportedQuery,
    UpdateRefused,
)
from twin.parse import MAX_QUERY_CHARS
from twin.results import term_json
from twin.view import TwinView

TAGS = ("twins",)
BASE = "/projects/{project}/twins"
ONE = BASE + "/{twin}"
MAX_TIMEOUT_S = 600.0
MAX_ROWS = 1_000_000
AS_OF_HELP = ("Answer from the stored state at this instant (ISO 8601 with a time zone), "
              "through the storage plugin's temporal reads; before any data: empty.")

TwinName = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z][a-z0-9-]{0,61}[a-z0-9]$"),
    Field(description="Twin name within the project (2-63 of a-z, 0-9, '-').",
          examples=["plant"]),
]


class QueryTimedOut(MimirError):
    """The query ran past the twin's timeout (nothing partial is returned)."""

    status = 503
    slug = "query-timeout"
    title = "Query timed out"


class ProjectTwins(StrictInput):
    """Input of list_twins."""

    project: ProjectName


class TwinRef(StrictInput):
    """Input of operations on one twin."""

    project: ProjectName
    twin: TwinName


class TwinSettings(StrictInput):
    """The settings a twin is created or updated with."""

    description: str | None = Field(default=None, max_length=4000, description="What it is for.")
    ontologies: list[OntologyName] | None = Field(
        default=None, min_length=1, max_length=20,
        description="The project's ontologies the twin reads through (accepted ones).")
    timeout_s: float | None = Field(
        default=None, gt=0, le=MAX_TIMEOUT_S, description="Seconds a query may run.")
    max_rows: int | None = Field(
        default=None, ge=1, le=MAX_ROWS,
        description="Rows (or triples) a query returns at most; more are cut and flagged.")


class TwinCreate(TwinSettings):
    """Input of create_twin."""

    project: ProjectName
    name: TwinName
    ontologies: list[OntologyName] = Field(
        default_factory=lambda: ["main"], min_length=1, max_length=20,
        description="The project's ontologies the twin reads through (default: main).")


class TwinUpdate(TwinSettings):
    """Input of update_twin (fields left out keep their value)."""

    project: ProjectName
    twin: TwinName


class TwinQuery(TwinRef):
    """Input of query_twin."""

    query: str = Field(min_length=1, max_length=MAX_QUERY_CHARS,
                       description="A SPARQL 1.1 query (SELECT, ASK, CONSTRUCT or DESCRIBE).")
    max_rows: int | None = Field(default=None, ge=1, le=MAX_ROWS,
                                 description="At most this many rows (capped by the twin's).")
    scenario: str | None = Field(default=None, max_length=63,
                                 description="Answer on this what-if scenario's view.")
    as_of: AwareDatetime | None = Field(default=None, description=AS_OF_HELP)


class SyncPoint(BaseModel):
    """What the last sync-twin run found."""

    at: datetime = Field(description="When it ran (UTC).")
    ok: bool = Field(description="Every mapped table and column exists in storage.")
    issues: list[str] = Field(description="Missing tables or columns.")
    counts: dict[str, int] = Field(description="Rows per class.")


class TwinPublic(BaseModel):
    """A twin."""

    project: str = Field(description="Owning project.")
    name: str = Field(description="Twin name.")
    description: str = Field(description="What it is for.")
    ontologies: list[str] = Field(description="Ontologies it reads through.")
    timeout_s: float = Field(description="Query timeout in seconds.")
    max_rows: int = Field(description="Row cap of a query result.")
    sparql_endpoint: str = Field(description="Path of its SPARQL 1.1 Protocol endpoint.")
    last_sync: SyncPoint | None = Field(default=None, description="The latest sync point.")
    created_at: datetime = Field(description="Created (UTC).")
    updated_at: datetime = Field(description="Last changed (UTC).")

    _utc = field_validator("created_at", "updated_at")(as_utc)


class TwinList(BaseModel):
    """A project's twins, by name."""

    items: list[TwinPublic] = Field(description="Twins.")


class TwinDeleted(BaseModel):
    """What delete_twin removed."""

    project: str = Field(description="Project.")
    name: str = Field(description="Deleted twin (its data stays where it always was).")


class TwinQueryResult(BaseModel):
    """A query's answer: SPARQL JSON results for SELECT/ASK, Turtle for CONSTRUCT/DESCRIBE."""

    type: Literal["SELECT", "ASK", "CONSTRUCT", "DESCRIBE"] = Field(description="Query form.")
    vars: list[str] = Field(default_factory=list, description="SELECT: the variables.")
    bindings: list[dict[str, dict[str, Any]]] = Field(
        default_factory=list,
        description="SELECT: one object per row, variable → SPARQL JSON term.")
    boolean: bool | None = Field(default=None, description="ASK: the answer.")
    turtle: str | None = Field(default=None, description="CONSTRUCT/DESCRIBE: the graph.")
    truncated: bool = Field(description="True when rows were cut at the row cap.")
    ran_as_sql: bool = Field(description="True when the database ran the whole query.")
    fallback_reason: str | None = Field(
        default=None, description="Why the query ran in the evaluator instead of SQL.")
    elapsed_ms: float = Field(description="Time to answer, in milliseconds.")


class SyncStarted(BaseModel):
    """A run of the sync-twin flow that was just created."""

    flow_run_id: str = Field(description="Prefect flow-run id.")
    flow_run_name: str = Field(description="Prefect's name for the run.")
    deployment: str = Field(description="sync-twin/mimir.")
    twin: str = Field(description="The twin.")


# --------------------------------------------------------------------------- helpers


def twin_row(session: Session, project: Project, name: str) -> Twin:
    """The twin `name` of `project`, or NotFound."""
    row = session.exec(
        select(Twin).where(Twin.project_id == project.id, Twin.name == name)).first()
    if row is None:
        raise NotFound(f"twin '{name}' does not exist in project '{project.name}'", field="twin")
    return row


def _check_ontologies(session: Session, project: Project, names: list[str]) -> None:
    have = set(session.exec(select(Ontology.name).where(Ontology.project_id == project.id)))
    missing = [n for n in names if n not in have]
    if missing:
        known = ", ".join(sorted(have)) or "(none)"
        raise InvalidInput(f"the project has no ontologies {missing}; it has: {known}",
                           field="ontologies")
    if len(set(names)) != len(names):
        raise InvalidInput("an ontology is named twice", field="ontologies")


def _public(project: Project, row: Twin) -> TwinPublic:
    from twin.binding import read_sync_point

    try:
        point = read_sync_point(project.storage_url, row.name)
    except OSError:
        point = None
    return TwinPublic(
        project=project.name, name=row.name, description=row.description,
        ontologies=list(row.ontologies), timeout_s=row.timeout_s, max_rows=row.max_rows,
        sparql_endpoint=f"/api/v1/projects/{project.name}/twins/{row.name}/sparql",
        last_sync=SyncPoint.model_validate(point) if point else None,
        created_at=row.created_at, updated_at=row.updated_at)


def model_bindings(session: Session, project: Project, row: Twin) -> list[tuple[str, str, str]]:
    """(model, ontology, class) of the project's models over the twin's ontologies: their
    stored batch predictions show in the twin."""
    models = session.exec(select(MLModel).where(MLModel.project_id == project.id)
                          .order_by(MLModel.name)).all()
    return [(m.name, m.ontology, str(m.spec.get("entity_class", ""))) for m in models
            if m.ontology in row.ontologies]


def _bindings(mappings: dict[str, Any], models: list[tuple[str, str, str]]) -> list[Any]:
    from ontology.errors import OntologyError
    from twin.view import ModelBinding

    out = []
    for name, ontology, cls in models:
        try:
            out.append(ModelBinding(name, mappings[ontology].class_mapping(cls).class_iri))
        except (KeyError, OntologyError):  # its class left the ontology: nothing to show
            continue
    return out


@contextmanager
def twin_view(project: Project, row: Twin, as_of: datetime | None = None,
              models: list[tuple[str, str, str]] | None = None) -> Iterator[TwinView]:
    """The twin's view over the project's store (closed afterwards), as of `as_of` when
    given, showing the stored predictions of `models` (see `model_bindings`)."""
    from twin.binding import TwinMappingMissing, twin_mappings

    try:
        mappings = twin_mappings(project.storage_url, list(row.ontologies))
    except TwinMappingMissing as exc:
        raise Conflict(f"twin '{row.name}': {exc}") from exc
    except OSError as exc:
        raise Unavailable(f"cannot read the published ontologies: {exc}") from exc
    bindings = _bindings(dict(zip(row.ontologies, mappings, strict=True)), models or [])
    store = open_store_of(project)
    try:
        yield TwinView(store, mappings, as_of=as_of, models=bindings)
    except HistoryUnavailable as exc:
        raise InvalidInput(str(exc), field="as_of") from None
    except InvalidQuery as exc:
        if as_of is not None and str(exc).startswith("as_of"):  # trimmed by vacuum_history
            raise InvalidInput(str(exc), field="as_of") from None
        raise
    finally:
        store.close()


def open_twin_for(ctx: ServiceContext, project_name: str, twin: str,
                  scenario: str | None = None, as_of: datetime | None = None
                  ) -> contextlib.AbstractContextManager[TwinView]:
    """The twin's (or a scenario's) view, entered by the caller: the streamed export keeps
    it open while the response is written."""
    return scenario_view(ctx, project_name, twin, scenario, as_of)


def run_twin_query(ctx: ServiceContext, project_name: str, twin: str, query: str,
                   max_rows: int | None = None, scenario: str | None = None,
                   as_of: datetime | None = None) -> TwinResult:
    """Answer `query` on the twin (or one of its scenarios, as of `as_of` when given)
    within its timeout and row cap; errors as MimirErrors."""
    with ctx.session() as session:
        project = project_row(session, project_name)
        row = twin_row(session, project, twin)
        session.expunge_all()
    cap = row.max_rows if max_rows is None else min(max_rows, row.max_rows)
    with scenario_view(ctx, project_name, twin, scenario, as_of) as view:
        try:
            return run_query(view, query, max_rows=cap, timeout_s=row.timeout_s)
        except QuerySyntaxError as exc:
            raise BadRequest(str(exc), errors=[FieldError(
                field="query", message=str(exc), type="syntax", line=exc.line,
                column=exc.column)]) from None
        except (UpdateRefused, UnsupportedQuery) as exc:
            raise BadRequest(str(exc), field="query") from None
        except QueryTimeout as exc:
            raise QueryTimedOut(str(exc)) from None


# --------------------------------------------------------------------------- operations


@operation(method="POST", path=BASE, scope=Scope.WRITE, status_code=201, tags=TAGS)
def create_twin(ctx: ServiceContext, params: TwinCreate) -> TwinPublic:
    """Create a twin of the project over some of its ontologies (no data is copied)."""
    with ctx.session() as session:
        project = project_row(session, params.project)
        _check_ontologies(session, project, params.ontologies)
        row = Twin(id=uuid.uuid4().hex, project_id=project.id, name=params.name,
                   description=params.description or "", ontologies=list(params.ontologies),
                   timeout_s=params.timeout_s or 30.0, max_rows=params.max_rows or 10_000)
        session.add(row)
        try:
            session.commit()
        except IntegrityError:
            raise Conflict(f"twin '{params.name}' already exists in project "
                           f"'{params.project}'", field="name") from None
        session.refresh(row)
        return _public(project, row)


@operation(method="GET", path=BASE, scope=Scope.READ, tags=TAGS)
def list_twins(ctx: ServiceContext, params: ProjectTwins) -> TwinList:
    """List a project's twins."""
    with ctx.session() as session:
        project = project_row(session, params.project)
        rows = session.exec(select(Twin).where(Twin.project_id == project.id)
                            .order_by(Twin.name)).all()
        return TwinList(items=[_public(project, r) for r in rows])


@operation(method="GET", path=ONE, scope=Scope.READ, tags=TAGS)
def get_twin(ctx: ServiceContext, params: TwinRef) -> TwinPublic:
    """A twin, with its settings and its latest sync point."""
    with ctx.session() as session:
        project = project_row(session, params.project)
        return _public(project, twin_row(session, project, params.twin))


@operation(method="PATCH", path=ONE, scope=Scope.WRITE, tags=TAGS)
def update_twin(ctx: ServiceContext, params: TwinUpdate) -> TwinPublic:
    """Change a twin's description, ontologies or query limits."""
    with ctx.session() as session:
        project = project_row(session, params.project)
        row = twin_row(session, project, params.twin)
        if params.ontologies is not None:
            _check_ontologies(session, project, params.ontologies)
            row.ontologies = list(params.ontologies)
        if params.description is not None:
            row.description = params.description
        if params.timeout_s is not None:
            row.timeout_s = params.timeout_s
        if params.max_rows is not None:
            row.max_rows = params.max_rows
        row.updated_at = utcnow()
        session.add(row)
        session.commit()
        session.refresh(row)
        return _public(project, row)


@operation(method="DELETE", path=ONE, scope=Scope.WRITE, destructive=True, idempotent=False,
           tags=TAGS)
def delete_twin(ctx: ServiceContext, params: TwinRef) -> TwinDeleted:
    """Delete a twin (its settings and sync record; the project's data is untouched)."""
    from twin.binding import forget_sync_point

    with ctx.session() as session:
        project = project_row(session, params.project)
        storage_url = project.storage_url
        row = twin_row(session, project, params.twin)
        session.delete(row)
        session.commit()
    with contextlib.suppress(OSError):  # a stale record is harmless: a new sync replaces it
        forget_sync_point(storage_url, params.twin)
    return TwinDeleted(project=params.project, name=params.twin)


@operation(method="POST", path=ONE + "/query", scope=Scope.READ, read_only=True,
           idempotent=True, tags=TAGS)
def query_twin(ctx: ServiceContext, params: TwinQuery) -> TwinQueryResult:
    """Run a SPARQL 1.1 query on the twin (read-only; SPARQL Update is refused).

    SELECT answers come as SPARQL JSON terms, ASK as a boolean, CONSTRUCT/DESCRIBE as
    Turtle. The database runs the query when it translates to SQL (`ran_as_sql`); rows past
    the row cap are cut (`truncated`). For the W3C formats use the /sparql endpoint.
    """
    result = run_twin_query(ctx, params.project, params.twin, params.query, params.max_rows,
                            params.scenario, params.as_of)
    out = TwinQueryResult(type=result.type, truncated=result.truncated,
                          ran_as_sql=result.ran_as_sql, fallback_reason=result.fallback_reason,
                          elapsed_ms=round(result.elapsed_s * 1000, 3))
    if result.type == "SELECT":
        out.vars = [str(v) for v in result.vars]
        out.bindings = [{str(k): term_json(v) for k, v in b.items()} for b in result.bindings]
    elif result.type == "ASK":
        out.boolean = bool(result.ask)
    else:
        assert result.graph is not None
        out.turtle = result.graph.serialize(format="turtle")
    return out


@operation(method="POST", path=ONE + "/syncs", scope=Scope.WRITE, status_code=201, tags=TAGS)
def sync_twin(ctx: ServiceContext, params: TwinRef) -> SyncStarted:
    """Start the sync-twin flow: check the mappings against storage, record a sync point
    (time, rows per class) and emit the Prefect event mimir.twin.synced."""
    from flows.twin_flow import SYNC_FLOW_NAME, start_sync

    with ctx.session() as session:
        project = project_row(session, params.project)
        row = twin_row(session, project, params.twin)
        storage_url, ontologies = project.storage_url, list(row.ontologies)
    try:
        flow_run = start_sync(params.project, storage_url, params.twin, ontologies,
                              trigger=f"api:{ctx.actor.name}")
    except Exception as exc:
        raise Unavailable(
            f"Prefect could not start {SYNC_FLOW_NAME}/mimir (is `mimir up` running, or were "
            f"Mimir's deployments registered with `mimir deploy`?): {exc}") from exc
    return SyncStarted(flow_run_id=str(flow_run.id), flow_run_name=flow_run.name,
                       deployment=f"{SYNC_FLOW_NAME}/mimir", twin=params.twin)


class TwinExport(TwinRef):
    """Input of export_twin."""

    format: Literal["turtle", "nt"] = Field(default="turtle", description="turtle or nt.")
    max_triples: int = Field(default=100_000, ge=1, le=1_000_000,
                             description="At most this many triples (more are cut).")
    scenario: str | None = Field(default=None, max_length=63,
                                 description="Export this what-if scenario's view.")
    as_of: AwareDatetime | None = Field(default=None, description=AS_OF_HELP)


class TwinExported(BaseModel):
    """The twin's view as an RDF document."""

    format: str = Field(description="turtle or nt.")
    media_type: str = Field(description="Its media type.")
    triples: int = Field(description="Triples in the document.")
    truncated: bool = Field(description="True when the view holds more than max_triples.")
    content: str = Field(description="The document (GET …/export streams any size).")


@operation(method="GET", path=ONE + "/rdf", scope=Scope.READ, tags=TAGS)
def export_twin(ctx: ServiceContext, params: TwinExport) -> TwinExported:
    """Materialise the twin's view as Turtle or N-Triples (bounded; for any size, stream
    GET /api/v1/projects/{project}/twins/{twin}/export?format=…)."""
    from twin.export import MEDIA_TYPES, write

    with scenario_view(ctx, params.project, params.twin, params.scenario,
                       params.as_of) as view:
        head = list(itertools.islice(view.triples(None, None, None), params.max_triples + 1))
        truncated = len(head) > params.max_triples
        head = head[:params.max_triples]
        text = b"".join(write(view, head, params.format)).decode("utf-8")
    count = len(head)
    return TwinExported(format=params.format, media_type=MEDIA_TYPES[params.format],
                        triples=count, truncated=truncated, content=text)


# --------------------------------------------------------------------------- browsing


class EntityFilter(StrictInput):
    """One typed condition on an attribute of the class."""

    attribute: str = Field(min_length=1, max_length=200, description="Attribute (property name).")
    op: Literal["eq", "ne", "lt", "le", "gt", "ge", "in", "like", "is_null"] = Field(
        description="Operator ('like': SQL LIKE pattern; 'is_null': true or false).")
    value: Any = Field(default=None, description="Operand, written as in records.")


class EntityListQuery(TwinRef):
    """Input of list_entities."""

    class_name: str = Field(min_length=1, max_length=500, description="Class (name or IRI).")
    where: list[EntityFilter] = Field(default_factory=list, max_length=20,
                                      description="Conditions (all must hold).")
    limit: int = Field(default=100, ge=1, le=1000, description="Page size.")
    cursor: str | None = Field(default=None, max_length=4000,
                               description="next_cursor of the previous page.")
    scenario: str | None = Field(default=None, max_length=63,
                                 description="List them as this what-if scenario has them.")
    as_of: AwareDatetime | None = Field(default=None, description=AS_OF_HELP)


class EntityRefQuery(TwinRef):
    """Input of get_entity."""

    iri: str = Field(min_length=1, max_length=4000, description="The entity's IRI.")
    scenario: str | None = Field(default=None, max_length=63,
                                 description="Show it as this what-if scenario has it.")
    as_of: AwareDatetime | None = Field(default=None, description=AS_OF_HELP)


class EntitySearch(TwinRef):
    """Input of search_entities."""

    text: str = Field(min_length=1, max_length=200, description="Text to find (case-sensitive).")
    class_name: str | None = Field(default=None, max_length=500,
                                   description="Only this class (name or IRI).")
    limit: int = Field(default=50, ge=1, le=500, description="At most this many entities.")
    scenario: str | None = Field(default=None, max_length=63,
                                 description="Search this what-if scenario's values.")
    as_of: AwareDatetime | None = Field(default=None, description=AS_OF_HELP)


class EntityLink(BaseModel):
    """A relationship to or from another entity."""

    property: str = Field(description="The relationship (property name).")
    entity: str = Field(description="The other entity's IRI.")


class EntityPublic(BaseModel):
    """An entity: its classes, attributes and (for get_entity) relationships."""

    iri: str = Field(description="The entity's IRI.")
    classes: list[str] = Field(description="Its classes.")
    attributes: dict[str, Any] = Field(description="Attribute → value (JSON).")
    outgoing: list[EntityLink] = Field(default_factory=list, description="Relationships out.")
    incoming: list[EntityLink] = Field(default_factory=list, description="Relationships in.")


class EntityPage(BaseModel):
    """A page of entities."""

    items: list[EntityPublic] = Field(description="Entities.")
    next_cursor: str | None = Field(default=None, description="Cursor of the next page.")


class EntityList(BaseModel):
    """Entities found."""

    items: list[EntityPublic] = Field(description="Entities.")


def _entity(e: Any) -> EntityPublic:
    return EntityPublic(iri=e.iri, classes=e.classes, attributes=e.attributes,
                        outgoing=[EntityLink(**r) for r in e.outgoing],
                        incoming=[EntityLink(**r) for r in e.incoming])


@contextmanager
def _browsing(ctx: ServiceContext, params: TwinRef, field: str,
              scenario: str | None = None, as_of: datetime | None = None
              ) -> Iterator[TwinView]:
    from storage_plugins.errors import InvalidCursor
    from twin.browse import BrowseError

    with scenario_view(ctx, params.project, params.twin, scenario, as_of) as view:
        try:
            yield view
        except InvalidCursor as exc:
            raise InvalidInput(str(exc), field="cursor") from None
        except (BrowseError, InvalidQuery) as exc:
            trimmed = as_of is not None and str(exc).startswith("as_of")
            raise InvalidInput(str(exc), field="as_of" if trimmed else field) from None


@operation(method="POST", path=ONE + "/entities/list", scope=Scope.READ, read_only=True,
           idempotent=True, tags=TAGS)
def list_entities(ctx: ServiceContext, params: EntityListQuery) -> EntityPage:
    """A page of one class's entities, filtered by typed conditions on its attributes."""
    from twin.browse import list_entities as browse

    with _browsing(ctx, params, "where", params.scenario, params.as_of) as view:
        items, cursor = browse(view, params.class_name,
                               [(w.attribute, w.op, w.value) for w in params.where],
                               params.limit, params.cursor)
        return EntityPage(items=[_entity(e) for e in items], next_cursor=cursor)


@operation(method="GET", path=ONE + "/entity", scope=Scope.READ, tags=TAGS)
def get_entity(ctx: ServiceContext, params: EntityRefQuery) -> EntityPublic:
    """One entity: its classes, attributes and relationships one hop out and in."""
    from twin.browse import BrowseError
    from twin.browse import get_entity as browse

    with _browsing(ctx, params, "iri", params.scenario, params.as_of) as view:
        try:
            return _entity(browse(view, params.iri))
        except BrowseError as exc:
            if str(exc).startswith("no entity"):
                raise NotFound(str(exc), field="iri") from None
            raise


@operation(method="GET", path=ONE + "/search", scope=Scope.READ, tags=TAGS)
def search_entities(ctx: ServiceContext, params: EntitySearch) -> EntityList:
    """Entities whose string attributes contain the text (case-sensitive)."""
    from twin.browse import search_entities as browse

    with _browsing(ctx, params, "text", params.scenario, params.as_of) as view:
        return EntityList(items=[_entity(e) for e in browse(view, params.text, params.class_name,
                                                            params.limit)])


# --------------------------------------------------------------------------- scenarios

ScenarioName = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z][a-z0-9-]{0,61}[a-z0-9]$"),
    Field(description="Scenario name within the twin (2-63 of a-z, 0-9, '-').",
          examples=["price-rise"]),
]


class ScenarioCreate(TwinRef):
    """Input of create_scenario."""

    name: ScenarioName
    description: str = Field(default="", max_length=4000, description="The question it asks.")
    ttl_hours: float | None = Field(default=None, gt=0, le=24 * 366,
                                    description="Delete it automatically after this long.")


class ScenarioRef(TwinRef):
    """Input of operations on one scenario."""

    scenario: ScenarioName


class ScenarioEditInput(ScenarioRef):
    """Input of edit_scenario: one change, stored as one delta row."""

    kind: Literal["set_attribute", "unset_attribute", "add_relationship",
                  "remove_relationship", "add_entity", "remove_entity"] = Field(
        description="What to change.")
    entity: str = Field(min_length=1, max_length=4000, description="The entity's IRI.")
    property: str | None = Field(default=None, max_length=4000,
                                 description="Attribute or relationship (name or IRI).")
    value: Any = Field(default=None, description="New value, target IRI, or (add_entity) class.")
    attributes: dict[str, Any] | None = Field(default=None,
                                              description="add_entity: its attributes.")
    rationale: str = Field(default="", max_length=4000, description="Why.")


class ScenarioDiffQuery(ScenarioRef):
    """Input of diff_scenario."""

    against: ScenarioName | None = Field(default=None,
                                         description="Another scenario (default: the base).")


class ScenarioEditPublic(BaseModel):
    """One stored edit (a delta row)."""

    seq: int = Field(description="Order of the edit (later edits of a target win).")
    kind: str = Field(description="What it changes.")
    entity: str = Field(description="Target entity IRI.")
    property: str | None = Field(description="Target property IRI.")
    old_value: list[Any] | None = Field(description="The values it replaced (when made).")
    new_value: Any = Field(description="The new value, target or class.")
    attributes: dict[str, Any] | None = Field(description="add_entity: attributes.")
    author: str = Field(description="Who made it.")
    rationale: str = Field(description="Why.")
    created_at: datetime = Field(description="When (UTC).")

    _utc = field_validator("created_at")(as_utc)


class ScenarioPublic(BaseModel):
    """A what-if scenario."""

    twin: str = Field(description="Its twin.")
    name: str = Field(description="Scenario name.")
    description: str = Field(description="The question it asks.")
    author: str = Field(description="Who created it.")
    expires_at: datetime | None = Field(description="When it is deleted (UTC), if ever.")
    created_at: datetime = Field(description="Created (UTC).")
    edits: list[ScenarioEditPublic] = Field(default_factory=list, description="Its edits.")


class ScenarioList(BaseModel):
    """A twin's scenarios."""

    items: list[ScenarioPublic] = Field(description="Scenarios (without their edits).")


class ScenarioDeleted(BaseModel):
    """What delete_scenario removed."""

    twin: str = Field(description="Twin.")
    name: str = Field(description="Deleted scenario.")
    edits_removed: int = Field(description="Edit rows deleted with it.")


class TripleChange(BaseModel):
    """One triple, as N-Triples terms."""

    subject: str = Field(description="Subject.")
    predicate: str = Field(description="Predicate.")
    object: str = Field(description="Object (N-Triples syntax: <iri> or \"literal\"^^<type>).")


class ScenarioDiff(BaseModel):
    """Triples a scenario adds and removes against the base (or another scenario)."""

    scenario: str = Field(description="The scenario.")
    against: str = Field(description="'base' or the other scenario.")
    added: list[TripleChange] = Field(description="Triples only in the scenario.")
    removed: list[TripleChange] = Field(description="Triples only in the other side.")


def _purge_expired(session: Session) -> None:
    """Delete scenarios past their TTL (checked whenever scenarios are used)."""
    from sqlmodel import col

    expired = session.exec(select(TwinScenario).where(
        col(TwinScenario.expires_at).is_not(None), col(TwinScenario.expires_at) < utcnow())).all()
    for row in expired:
        for edit in session.exec(select(TwinScenarioEdit).where(
                TwinScenarioEdit.scenario_id == row.id)).all():
            session.delete(edit)
        session.delete(row)
    if expired:
        session.commit()


def scenario_row(session: Session, twin: Twin, name: str) -> TwinScenario:
    """The scenario `name` of `twin` (expired ones are gone), or NotFound."""
    _purge_expired(session)
    row = session.exec(select(TwinScenario).where(
        TwinScenario.twin_id == twin.id, TwinScenario.name == name)).first()
    if row is None:
        raise NotFound(f"scenario '{name}' does not exist in twin '{twin.name}'",
                       field="scenario")
    return row


def _edit_rows(session: Session, scenario: TwinScenario) -> list[TwinScenarioEdit]:
    return list(session.exec(select(TwinScenarioEdit)
                             .where(TwinScenarioEdit.scenario_id == scenario.id)
                             .order_by(TwinScenarioEdit.seq)).all())  # type: ignore[arg-type]


def _edits_of(view: TwinView, rows: list[TwinScenarioEdit]) -> list[Any]:
    from twin.scenario import EditRejected, check_edit

    out = []
    for r in rows:
        try:
            out.append(check_edit(view, r.kind, r.entity, r.property, r.new_value,  # type: ignore[arg-type]
                                  r.attributes))
        except EditRejected as exc:  # the ontology changed since the edit was made
            raise Conflict(f"edit {r.seq} of the scenario no longer fits the twin: {exc}") from None
    return out


def _scenario_public(twin: Twin, row: TwinScenario,
                     edits: list[TwinScenarioEdit] | None = None) -> ScenarioPublic:
    return ScenarioPublic(
        twin=twin.name, name=row.name, description=row.description, author=row.author,
        expires_at=as_utc(row.expires_at) if row.expires_at else None,
        created_at=row.created_at,
        edits=[ScenarioEditPublic(seq=e.seq, kind=e.kind, entity=e.entity, property=e.property,
                                  old_value=e.old_value, new_value=e.new_value,
                                  attributes=e.attributes, author=e.author,
                                  rationale=e.rationale, created_at=e.created_at)
               for e in edits or []])


@contextmanager
def scenario_view(ctx: ServiceContext, project_name: str, twin: str, scenario: str | None,
                  as_of: datetime | None = None) -> Iterator[TwinView]:
    """The twin's view (as of `as_of` when given), with a scenario's edits overlaid when
    one is named: a what-if on a past state."""
    from twin.scenario import ScenarioView

    with ctx.session() as session:
        project = project_row(session, project_name)
        row = twin_row(session, project, twin)
        rows = _edit_rows(session, scenario_row(session, row, scenario)) if scenario else []
        models = model_bindings(session, project, row)
        session.expunge_all()
    with twin_view(project, row, as_of, models) as view:
        yield ScenarioView(view, _edits_of(view, rows)) if scenario else view


@operation(method="POST", path=ONE + "/scenarios", scope=Scope.WRITE, status_code=201,
           tags=TAGS)
def create_scenario(ctx: ServiceContext, params: ScenarioCreate) -> ScenarioPublic:
    """Create an empty what-if scenario on a twin (optionally expiring after ttl_hours)."""
    from datetime import timedelta

    with ctx.session() as session:
        project = project_row(session, params.project)
        twin = twin_row(session, project, params.twin)
        _purge_expired(session)
        expires = utcnow() + timedelta(hours=params.ttl_hours) if params.ttl_hours else None
        row = TwinScenario(id=uuid.uuid4().hex, twin_id=twin.id, name=params.name,
                           description=params.description, author=ctx.actor.name,
                           expires_at=expires)
        session.add(row)
        try:
            session.commit()
        except IntegrityError:
            raise Conflict(f"scenario '{params.name}' already exists in twin '{params.twin}'",
                           field="name") from None
        session.refresh(row)
        return _scenario_public(twin, row)


@operation(method="GET", path=ONE + "/scenarios", scope=Scope.READ, tags=TAGS)
def list_scenarios(ctx: ServiceContext, params: TwinRef) -> ScenarioList:
    """List a twin's scenarios (expired ones are deleted first)."""
    with ctx.session() as session:
        project = project_row(session, params.project)
        twin = twin_row(session, project, params.twin)
        _purge_expired(session)
        rows = session.exec(select(TwinScenario).where(TwinScenario.twin_id == twin.id)
                            .order_by(TwinScenario.name)).all()
        return ScenarioList(items=[_scenario_public(twin, r) for r in rows])


@operation(method="GET", path=ONE + "/scenarios/{scenario}", scope=Scope.READ, tags=TAGS)
def get_scenario(ctx: ServiceContext, params: ScenarioRef) -> ScenarioPublic:
    """A scenario with its edits (delta rows) in order."""
    with ctx.session() as session:
        project = project_row(session, params.project)
        twin = twin_row(session, project, params.twin)
        row = scenario_row(session, twin, params.scenario)
        return _scenario_public(twin, row, _edit_rows(session, row))


@operation(method="DELETE", path=ONE + "/scenarios/{scenario}", scope=Scope.WRITE,
           destructive=True, idempotent=False, tags=TAGS)
def delete_scenario(ctx: ServiceContext, params: ScenarioRef) -> ScenarioDeleted:
    """Delete a scenario and its edits (the base data never held them)."""
    with ctx.session() as session:
        project = project_row(session, params.project)
        twin = twin_row(session, project, params.twin)
        row = scenario_row(session, twin, params.scenario)
        removed = len(_edit_rows(session, row))
        # one statement for the edits, flushed before the scenario row goes (ORM deletes of
        # both in one flush may run in either order and trip over the foreign key's cascade)
        session.execute(delete(TwinScenarioEdit).where(
            TwinScenarioEdit.scenario_id == row.id))  # type: ignore[arg-type]
        session.delete(row)
        session.commit()
        return ScenarioDeleted(twin=params.twin, name=params.scenario, edits_removed=removed)


@operation(method="POST", path=ONE + "/scenarios/{scenario}/edits", scope=Scope.WRITE,
           status_code=201, tags=TAGS)
def edit_scenario(ctx: ServiceContext, params: ScenarioEditInput) -> ScenarioPublic:
    """Add one edit to a scenario: set/unset an attribute, add/remove a relationship or an
    entity. It is stored as a delta row (target, old value, new value, author, rationale);
    nothing is written to the base data."""
    from twin.scenario import EditRejected, check_edit

    with ctx.session() as session:
        project = project_row(session, params.project)
        twin = twin_row(session, project, params.twin)
        row = scenario_row(session, twin, params.scenario)
        existing = _edit_rows(session, row)
        with twin_view(project, twin) as view:
            try:
                edit = check_edit(view, params.kind, params.entity, params.property,
                                  params.value, params.attributes)
            except EditRejected as exc:
                raise InvalidInput(str(exc), field="kind") from None
            old = None
            if edit.property is not None and params.kind != "add_entity":
                old = sorted(t[2].n3() for t in view.triples(edit.entity, edit.property, None))
        session.add(TwinScenarioEdit(
            id=uuid.uuid4().hex, scenario_id=row.id, seq=len(existing) + 1, kind=params.kind,
            entity=params.entity, property=str(edit.property) if edit.property else None,
            old_value=old, new_value=params.value, attributes=params.attributes,
            author=ctx.actor.name, rationale=params.rationale))
        session.commit()
        session.refresh(row)
        return _scenario_public(twin, row, _edit_rows(session, row))


@operation(method="GET", path=ONE + "/scenarios/{scenario}/diff", scope=Scope.READ, tags=TAGS)
def diff_scenario(ctx: ServiceContext, params: ScenarioDiffQuery) -> ScenarioDiff:
    """The triples a scenario adds and removes against the base or another scenario."""
    from twin.scenario import ScenarioView, diff

    with scenario_view(ctx, params.project, params.twin, params.scenario) as view:
        assert isinstance(view, ScenarioView)
        base: TwinView = view.base_view
        overlays = [view.overlay]
        if params.against:
            with ctx.session() as session:
                project = project_row(session, params.project)
                twin = twin_row(session, project, params.twin)
                rows = _edit_rows(session, scenario_row(session, twin, params.against))
            other = ScenarioView(base, _edits_of(base, rows))
            overlays.append(other.overlay)
            base = other
        added, removed = diff(base, view, overlays)

    def change(t: Any) -> TripleChange:
        return TripleChange(subject=str(t[0]), predicate=str(t[1]), object=t[2].n3())

    return ScenarioDiff(scenario=params.scenario, against=params.against or "base",
                        added=[change(t) for t in added], removed=[change(t) for t in removed])
