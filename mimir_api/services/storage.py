"""Project storage operations: choose and check a project's backend, browse and export tables.

A project's backend settings live in its `ProjectStorage` Prefect Block (so workers find them
by name); secrets go into the Block's secret field and are never returned — responses list
only which secret settings are set. Without a Block a project keeps its tables beside its files
(SQLite in a local storage object, Delta tables under `tables/` in S3).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from prefect.types import SecretDict
from pydantic import AwareDatetime, BaseModel, Field, SecretStr, ValidationError

from blocks.project_storage import ProjectStorage, block_name
from domain.exports import export_path
from domain.stores import default_store_config
from flows.table_flows import EXPORT_FLOW_NAME, start_export
from mimir_api.core.errors import FieldError, InvalidInput, NotFound, unavailable_on_failure
from mimir_api.core.security import Scope
from mimir_api.services.context import ServiceContext
from mimir_api.services.inputs import NoInput, ProjectName, ProjectOnly, StrictInput
from mimir_api.services.project_access import detached_project, project_row, project_store
from mimir_api.services.registry import operation
from mimir_api.services.runs import RunStarted, started
from storage_plugins.base import StoragePlugin
from storage_plugins.errors import (
    InvalidCursor,
    InvalidQuery,
    PluginLoadError,
    PluginNotFound,
    QueryTimeout,
)
from storage_plugins.jsonform import json_row
from storage_plugins.registry import default_registry


class StorageConfigure(StrictInput):
    """Input of configure_project_storage."""

    project: ProjectName
    plugin: str = Field(min_length=1, max_length=64, description="Storage plugin, e.g. 'sql'.")
    settings: dict[str, Any] = Field(
        default_factory=dict,
        description=(
            "Plugin settings. Every plugin also takes statement_timeout_s, max_page_rows and "
            "history_retention_days (how long as_of history is kept; unset keeps everything)."
        ),
    )
    secrets: dict[str, SecretStr] = Field(
        default_factory=dict, description="Secret settings (passwords, keys); never returned."
    )


class TableRef(StrictInput):
    """Input addressing one table."""

    project: ProjectName
    table: str = Field(pattern=r"^[a-z][a-z0-9_]{0,62}$", description="Table name.")


class FilterSpec(StrictInput):
    """One filter: `column op value`."""

    column: str = Field(description="Column name.")
    op: Literal["eq", "ne", "lt", "le", "gt", "ge", "in", "like", "is_null"] = Field(
        description="Operator."
    )
    value: Any = Field(default=None, description="Operand (a list for 'in', bool for 'is_null').")


class TableQuery(TableRef):
    """Input of query_project_table."""

    where: list[FilterSpec] = Field(default_factory=list, description="Filters (all must hold).")
    columns: list[str] | None = Field(default=None, description="Columns to return.")
    order_by: list[str] = Field(default_factory=list, description="Columns; '-col' descending.")
    limit: int = Field(default=100, ge=1, le=10_000, description="Page size.")
    cursor: str | None = Field(default=None, max_length=4096, description="From the last page.")
    as_of: AwareDatetime | None = Field(
        default=None,
        description="Read the table as it was at this instant (ISO 8601 with a zone).",
    )


class TableHistoryQuery(TableRef):
    """Input of get_table_history."""

    limit: int = Field(default=100, ge=1, le=10_000, description="Most changes to list.")


class VacuumInput(StrictInput):
    """Input of vacuum_table_history."""

    project: ProjectName
    older_than: AwareDatetime | None = Field(
        default=None,
        description=(
            "Forget versions replaced before this instant; default: the project's "
            "history_retention_days setting (unset: nothing is trimmed)."
        ),
    )


class TableChange(BaseModel):
    """One committed change of a table."""

    version: int = Field(description="Increasing number of the change.")
    at: datetime = Field(description="When it became visible (UTC); use as as_of.")
    operation: str = Field(description="create, insert, upsert, replace, delete, migrate, vacuum.")
    rows: int | None = Field(description="Rows written or deleted.")
    run_id: str | None = Field(description="The pipeline run that made it, when known.")


class TableHistory(BaseModel):
    """A table's changes, newest first."""

    items: list[TableChange] = Field(description="Changes, newest first.")


class VacuumResult(BaseModel):
    """What vacuum_table_history removed."""

    removed: int = Field(description="Row versions (SQL) or data files (Delta) removed.")


class TableExport(TableRef):
    """Input of export_project_table."""

    format: Literal["csv", "parquet"] = Field(default="csv", description="File format.")
    where: list[FilterSpec] = Field(default_factory=list, description="Filters (all must hold).")


class StorageHealth(BaseModel):
    """A backend's health."""

    ok: bool = Field(description="Whether the backend answered.")
    backend: str = Field(description="Concrete backend, e.g. 'postgresql'.")
    target: str = Field(description="Where the data lives (secrets masked).")
    latency_ms: float | None = Field(description="Round trip of the check.")
    error: str | None = Field(description="Why it is unusable.")


class ProjectStorageInfo(BaseModel):
    """A project's storage backend, without secrets."""

    project: str = Field(description="Project.")
    configured: bool = Field(description="False when the project uses the default store.")
    plugin: str = Field(description="Storage plugin.")
    settings: dict[str, Any] = Field(description="Settings (secrets masked).")
    secrets_set: list[str] = Field(description="Names of secret settings that are set.")
    health: StorageHealth = Field(description="Live health check.")


class StoragePluginList(BaseModel):
    """Installed storage plugins."""

    plugins: list[dict[str, Any]] = Field(
        description="Name, version, capabilities, settings schema."
    )


class TableInfo(BaseModel):
    """One table of a project."""

    name: str = Field(description="Table name.")
    kind: str = Field(description="'entity' or 'link'.")
    columns: list[dict[str, Any]] = Field(description="Columns: name, type, nullable.")
    primary_key: list[str] = Field(description="Key columns.")
    rows: int = Field(description="Row count.")
    source: str | None = Field(description="Ontology class or raw source it stores.")


class TableList(BaseModel):
    """A project's tables."""

    items: list[TableInfo] = Field(description="Tables, by name.")


class RowPage(BaseModel):
    """One page of rows."""

    rows: list[dict[str, Any]] = Field(description="Rows.")
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page.")


class ExportStarted(RunStarted):
    """An export run that was just started; the file appears when it completes."""

    path: str = Field(
        description="Where the file will be, inside the storage object (read_project_file)."
    )
    format: str = Field(description="csv or parquet.")


def _split_config(
    plugin: str, settings: dict[str, Any], secrets: dict[str, SecretStr]
) -> tuple[dict[str, Any], dict[str, str]]:
    """Validate against the plugin's Config; return (plain settings, secret settings)."""
    try:
        plugin_class = default_registry().get(plugin)
    except (PluginNotFound, PluginLoadError) as exc:
        raise InvalidInput(str(exc), field="plugin") from None
    raw = {**settings, **{k: v.get_secret_value() for k, v in secrets.items()}}
    try:
        config = plugin_class.Config.model_validate(raw)
    except ValidationError as exc:
        errors = [
            FieldError(
                field="settings." + ".".join(str(p) for p in e["loc"]),
                message=e["msg"],
                type=e["type"],
            )
            for e in exc.errors()
        ]
        raise InvalidInput(
            "invalid storage settings: " + "; ".join(f"{e.field}: {e.message}" for e in errors),
            errors=errors,
        ) from None
    plain: dict[str, Any] = {}
    hidden: dict[str, str] = {}
    for name, value in config:
        if isinstance(value, SecretStr):
            if value.get_secret_value():
                hidden[name] = value.get_secret_value()
        else:
            plain[name] = config.model_dump(mode="json", include={name})[name]
    return plain, hidden


def _health(store: StoragePlugin) -> StorageHealth:
    health = store.health()
    return StorageHealth(
        ok=health.ok,
        backend=health.backend,
        target=health.target,
        latency_ms=health.latency_ms,
        error=health.error,
    )


@operation(method="GET", path="/storage/plugins", scope=Scope.READ, tags=("storage",))
def list_storage_plugins(ctx: ServiceContext, params: NoInput) -> StoragePluginList:
    """Installed storage plugins with their capabilities and settings schemas."""
    return StoragePluginList(plugins=[p.model_dump() for p in default_registry().plugins()])


@operation(method="GET", path="/projects/{project}/storage", scope=Scope.READ, tags=("storage",))
def get_project_storage(ctx: ServiceContext, params: ProjectOnly) -> ProjectStorageInfo:
    """The project's storage backend (secrets masked) with a live health check."""
    project = detached_project(ctx, params.project)
    block = None
    if project.storage_plugin:
        with unavailable_on_failure("cannot read the storage settings from Prefect"):
            block = ProjectStorage.load_for(project.name)
    if block is None:
        plugin, settings = default_store_config(project.storage_url)
        secrets_set: list[str] = []
    else:
        plugin, settings = block.plugin, dict(block.settings)
        secrets_set = sorted(block.secrets.get_secret_value())
    with project_store(project) as store:
        health = _health(store)
    return ProjectStorageInfo(
        project=project.name,
        configured=block is not None,
        plugin=plugin,
        settings=settings,
        secrets_set=secrets_set,
        health=health,
    )


@operation(
    method="PUT",
    path="/projects/{project}/storage",
    scope=Scope.ADMIN,
    idempotent=True,
    tags=("storage",),
)
def configure_project_storage(ctx: ServiceContext, params: StorageConfigure) -> ProjectStorageInfo:
    """Point a project at a storage backend; saved only if a live health check passes.

    Needs the admin scope: a backend URL reaches servers on the operator's network.
    """
    project = detached_project(ctx, params.project)
    settings, secrets = _split_config(params.plugin, params.settings, params.secrets)
    store = default_registry().create(params.plugin, {**settings, **secrets})
    try:
        health = _health(store)
    finally:
        store.close()
    if not health.ok:
        raise InvalidInput(
            f"the storage backend failed its health check: {health.error}", field="settings"
        )
    block = ProjectStorage(
        project=project.name, plugin=params.plugin, settings=settings, secrets=SecretDict(secrets)
    )
    with unavailable_on_failure("cannot save the storage settings in Prefect"):
        block.save(block_name(project.name), overwrite=True)
    with ctx.session() as session:
        row = project_row(session, project.name)
        row.storage_plugin = params.plugin
        session.add(row)
        session.commit()
    return ProjectStorageInfo(
        project=project.name,
        configured=True,
        plugin=params.plugin,
        settings=settings,
        secrets_set=sorted(secrets),
        health=health,
    )


@operation(method="GET", path="/projects/{project}/tables", scope=Scope.READ, tags=("storage",))
def list_project_tables(ctx: ServiceContext, params: ProjectOnly) -> TableList:
    """The project's tables with columns, keys and row counts."""
    project = detached_project(ctx, params.project)
    with project_store(project) as store:
        items = []
        for table in store.schema().tables:
            items.append(
                TableInfo(
                    name=table.name,
                    kind=table.kind,
                    primary_key=list(table.primary_key),
                    columns=[
                        {"name": c.name, "type": c.type_label(), "nullable": c.nullable}
                        for c in table.columns
                    ],
                    rows=store.count(table.name),
                    source=table.source,
                )
            )
    return TableList(items=sorted(items, key=lambda t: t.name))


def _check_table(store: StoragePlugin, table: str) -> None:
    if table not in store.tables():
        raise NotFound(f"table '{table}' does not exist", field="table")


@operation(
    method="POST",
    path="/projects/{project}/tables/{table}/query",
    scope=Scope.READ,
    read_only=True,
    idempotent=True,
    tags=("storage",),
)
def query_project_table(ctx: ServiceContext, params: TableQuery) -> RowPage:
    """Read rows with filters, column choice, ordering and cursor pagination."""
    project = detached_project(ctx, params.project)
    with project_store(project) as store:
        _check_table(store, params.table)
        if params.as_of is not None and not store.supports_history:
            raise InvalidInput("this project's storage keeps no history", field="as_of")
        try:
            page = store.read(
                params.table,
                where=[f.model_dump() for f in params.where],
                columns=params.columns,
                order_by=params.order_by,
                limit=params.limit,
                cursor=params.cursor,
                as_of=params.as_of,
            )
        except InvalidCursor as exc:
            raise InvalidInput(str(exc), field="cursor") from None
        except InvalidQuery as exc:
            field = "as_of" if "as_of" in str(exc) else "where"
            raise InvalidInput(str(exc), field=field) from None
        except QueryTimeout as exc:
            raise InvalidInput(str(exc), field="where") from None
        table = store.describe(params.table)
    return RowPage(rows=[json_row(table, r) for r in page.rows], next_cursor=page.next_cursor)


@operation(
    method="GET",
    path="/projects/{project}/tables/{table}/history",
    scope=Scope.READ,
    tags=("storage",),
)
def get_table_history(ctx: ServiceContext, params: TableHistoryQuery) -> TableHistory:
    """A table's committed changes, newest first: when, what, how many rows, which run.

    Pass a change's `at` as `as_of` to query_project_table to see the table as it was.
    """
    project = detached_project(ctx, params.project)
    with project_store(project) as store:
        _check_table(store, params.table)
        if not store.supports_history:
            raise InvalidInput("this project's storage keeps no history", field="table")
        with unavailable_on_failure(f"reading the history of '{params.table}' failed"):
            entries = store.table_history(params.table, limit=params.limit)
    return TableHistory(items=[TableChange(**e.model_dump()) for e in entries])


@operation(
    method="POST",
    path="/projects/{project}/storage/vacuum-history",
    scope=Scope.ADMIN,
    tags=("storage",),
)
def vacuum_table_history(ctx: ServiceContext, params: VacuumInput) -> VacuumResult:
    """Trim the project's table history to its retention; as_of reads before it then fail.

    Needs the admin scope: what is trimmed cannot be read back.
    """
    project = detached_project(ctx, params.project)
    with project_store(project) as store:
        if not store.supports_history:
            raise InvalidInput("this project's storage keeps no history", field="project")
        with unavailable_on_failure("trimming the history failed"):
            removed = store.vacuum_history(older_than=params.older_than)
    return VacuumResult(removed=removed)


@operation(
    method="POST",
    path="/projects/{project}/tables/{table}/export",
    scope=Scope.WRITE,
    status_code=201,
    tags=("storage",),
)
def export_project_table(ctx: ServiceContext, params: TableExport) -> ExportStarted:
    """Export a table (optionally filtered) as CSV or Parquet into the project's storage object.

    Runs as the `export-table` flow on a worker (any table size, never in the API's memory):
    the answer names the run and the file; follow the run with get_project_run (its result
    has path, format, rows and bytes), then read the file with read_project_file.
    """
    project = detached_project(ctx, params.project)
    where = [f.model_dump() for f in params.where]
    with project_store(project) as store:
        _check_table(store, params.table)
        try:  # refuse bad filters now, not in the run
            store.read(params.table, where=where, limit=1)
        except InvalidQuery as exc:
            raise InvalidInput(str(exc), field="where") from None
    with unavailable_on_failure(f"Prefect could not start {EXPORT_FLOW_NAME}/mimir"):
        flow_run = start_export(
            project.name,
            project.storage_url,
            params.table,
            params.format,
            where,
            via=f"api:{ctx.actor.name}",
        )
    run = started(flow_run, deployment=f"{EXPORT_FLOW_NAME}/mimir")
    return ExportStarted(
        **run.model_dump(), path=export_path(params.table, params.format), format=params.format
    )
