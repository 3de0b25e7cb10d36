"""`storage.write` / `storage.read`: tables in the project's storage, through storage_plugins.

Before the project has an ontology, `storage.write` with `source: NAME` lands records in the
raw area; with `table: NAME` it writes rows to an existing table of the project's schema;
with `class: NAME` it maps records through the project's accepted ontology (the copy the API
publishes into the storage object) into the ontology-shaped tables, refusing the whole call
with a report of every rejected record (index, field, reason) when any violates the types.
A failed write never leaves half a batch: records are checked before anything is written.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict, Field, model_validator

from domain.ontology_storage import ClassRowsRejected, write_class
from domain.published import find_class, published
from domain.raw_area import RawRowsRejected, raw_table_name, write_raw
from domain.stores import open_project_store
from flows.actions.base import ActionContext, PermanentError, StrictParams, action
from storage_plugins.history import run_context
from storage_plugins.jsonform import json_row


class StorageTarget(StrictParams):
    """Where records go: the raw area, a table, or an ontology class (exactly one)."""

    model_config = ConfigDict(populate_by_name=True)

    source: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z][A-Za-z0-9_-]{0,50}$",
        description="Raw-area source name (before the project has an ontology).",
    )
    table: str | None = Field(default=None, description="An existing table of the project.")
    class_: str | None = Field(
        default=None,
        alias="class",
        description="An ontology class (name, label or IRI): records are mapped to its tables.",
    )
    ontology: str | None = Field(
        default=None,
        description="With `class`: the ontology holding it, when the project has several.",
    )
    unknown_fields: Literal["reject", "ignore"] = Field(
        default="reject",
        description="With `class`: reject records with fields the class does not have, or "
        "ignore those fields.",
    )
    mode: Literal["insert", "upsert", "replace"] = Field(
        default="upsert",
        description="insert, upsert by primary key, or replace (for `table` only).",
    )

    @model_validator(mode="after")
    def _one_target(self) -> StorageTarget:
        targets = [t for t in (self.source, self.table, self.class_) if t is not None]
        if len(targets) != 1:
            raise ValueError("give exactly one of 'source' (raw area), 'table' or 'class'")
        if self.class_ is not None and self.mode == "replace":
            raise ValueError("mode 'replace' is not allowed with 'class'; use insert or upsert")
        if self.class_ is None and (self.ontology is not None):
            raise ValueError("'ontology' goes with 'class'")
        return self


class StorageWriteParams(StorageTarget):
    """Inputs of storage.write."""

    rows: list[dict[str, Any]] = Field(description="Records to store.")


@action("storage.write", writes_storage=True)
def storage_write(params: StorageWriteParams, ctx: ActionContext) -> dict[str, Any]:
    """Write records atomically; returns the table and the number of rows (not the rows)."""
    store = open_project_store(ctx.project, ctx.storage_url)
    try:
        with run_context(ctx.run_id):  # table_history names the run behind each change
            return write_records(store, params, params.rows, ctx)
    finally:
        store.close()


def write_records(
    store: Any, target: StorageTarget, rows: list[dict[str, Any]], ctx: ActionContext
) -> dict[str, Any]:
    """Write `rows` to `target` in one atomic call (shared by storage.write and storage.load)."""
    if target.source is not None:
        try:
            return write_raw(store, target.source, rows, ctx.run_id)
        except RawRowsRejected as exc:
            raise PermanentError(str(exc)) from None
    if target.class_ is not None:
        return _write_class(store, target, rows, ctx)
    if target.table not in store.tables():
        raise PermanentError(f"table {target.table!r} does not exist in the project storage")
    result = store.write(target.table, rows, mode=target.mode)
    return {"table": result.table, "rows": result.rows, "mode": result.mode}


def _write_class(
    store: Any, params: StorageTarget, rows: list[dict[str, Any]], ctx: ActionContext
) -> dict[str, Any]:
    try:
        entry, class_iri = find_class(
            published(ctx.storage_url), params.class_ or "", params.ontology
        )
    except ValueError as exc:
        raise PermanentError(str(exc)) from None
    mode: Literal["insert", "upsert"] = "insert" if params.mode == "insert" else "upsert"
    try:
        result = write_class(
            store, entry.mapping, class_iri, rows, mode=mode, unknown=params.unknown_fields
        )
    except ClassRowsRejected as exc:
        ctx.log.error("%s", exc)
        raise PermanentError(str(exc)) from None
    except ValueError as exc:
        raise PermanentError(str(exc)) from None
    return result | {"ontology": entry.name, "ontology_version": entry.version}


class StorageReadParams(StrictParams):
    """Inputs of storage.read."""

    table: str | None = Field(default=None, description="Table to read.")
    source: str | None = Field(default=None, description="Raw-area source to read.")
    where: list[dict[str, Any]] = Field(
        default_factory=list,
        description="Filters: {column, op, value} (eq, ne, lt, le, gt, ge, in, like, is_null).",
    )
    columns: list[str] | None = Field(default=None, description="Columns to return.")
    order_by: list[str] = Field(
        default_factory=list, description="Columns to order by ('-col' descending)."
    )
    limit: int = Field(default=1000, ge=1, le=100_000, description="Most rows to return.")

    @model_validator(mode="after")
    def _one_target(self) -> StorageReadParams:
        if (self.source is None) == (self.table is None):
            raise ValueError("give exactly one of 'table' or 'source'")
        return self


@action("storage.read")
def storage_read(params: StorageReadParams, ctx: ActionContext) -> dict[str, Any]:
    """Read rows (filtered, ordered, limited) into the context under `rows`."""
    table = params.table or raw_table_name(params.source or "")
    store = open_project_store(ctx.project, ctx.storage_url)
    try:
        if table not in store.tables():
            raise PermanentError(f"table {table!r} does not exist in the project storage")
        page = store.read(
            table,
            where=params.where,
            columns=params.columns,
            order_by=params.order_by,
            limit=params.limit,
        )
        rows = [json_row(store.describe(table), r) for r in page.rows]  # same JSON everywhere
        return {"table": table, "rows": rows, "more": page.next_cursor is not None}
    finally:
        store.close()
