"""How a pipeline run reaches its project's tabular storage, and the raw area.

Until a project configures a storage backend of its own, its tables live next to its files:
a SQLite file `tables.sqlite` in a local storage object, or Parquet tables under `tables/` in a
remote one (S3). Both are plugins of `storage_plugins`, reached only through its interface.

The *raw area* holds records ingested before the project has an ontology: one table per
source (`raw_<source>`), a column per field as the records come (nested values as JSON),
plus `mimir_row_id`, `mimir_run_id` and `mimir_ingested_at`. New fields add nullable columns.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

from storage_plugins.base import StoragePlugin
from storage_plugins.registry import default_registry
from storage_plugins.schema import (
    Column,
    ColumnType,
    NameAllocator,
    Table,
    TabularSchema,
    to_identifier,
)

RAW_PREFIX = "raw_"
RAW_META = ("mimir_row_id", "mimir_run_id", "mimir_ingested_at")


class RawRowsRejected(ValueError):
    """Some records cannot be stored in the raw table as it stands; nothing was written."""


def default_store_config(storage_url: str) -> tuple[str, dict[str, Any]]:
    """The (plugin name, config) a project uses when it configured nothing else."""
    parts = urlsplit(storage_url)
    if parts.scheme in ("", "file"):
        return "sql", {"url": f"sqlite:///{parts.path.rstrip('/')}/tables.sqlite"}
    return "objectstore", {"url": f"{storage_url.rstrip('/')}/tables"}


def open_store(
    storage_url: str, plugin: str | None = None, config: Mapping[str, Any] | None = None
) -> StoragePlugin:
    """A storage plugin instance for the project (caller closes it)."""
    if plugin is None:
        plugin, default = default_store_config(storage_url)
        config = default if config is None else config
    return default_registry().create(plugin, dict(config or {}))


def open_project_store(project: str, storage_url: str) -> StoragePlugin:
    """The store a project's tables live in: the backend configured in its ProjectStorage
    Block (loaded by name, so a worker pod needs no metadata DB), else the default beside its
    files. The caller closes it."""
    if project:
        from blocks.project_storage import ProjectStorage

        try:
            block = ProjectStorage.load_for(project)
        except ValueError:  # no block saved: the project uses the default store
            block = None
        if block is not None:
            return default_registry().create(block.plugin, block.plugin_config())
    return open_store(storage_url)


def raw_table_name(source: str) -> str:
    """`orders` → `raw_orders` (a valid, stable identifier)."""
    return to_identifier(RAW_PREFIX + source)


def _infer(value: Any) -> ColumnType | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return ColumnType.BOOLEAN
    if isinstance(value, int):
        return ColumnType.INTEGER
    if isinstance(value, float):
        return ColumnType.DOUBLE
    if isinstance(value, dict | list):
        return ColumnType.JSON
    return ColumnType.STRING


def _widen(current: ColumnType | None, new: ColumnType | None) -> ColumnType | None:
    if current is None or current == new:
        return new if current is None else current
    if new is None:
        return current
    if {current, new} == {ColumnType.INTEGER, ColumnType.DOUBLE}:
        return ColumnType.DOUBLE
    if ColumnType.JSON in (current, new):
        return ColumnType.JSON
    return ColumnType.STRING


def _coerce(value: Any, column_type: ColumnType) -> Any:
    """Fit `value` into an existing raw column, or raise ValueError."""
    if value is None:
        return None
    kind = _infer(value)
    if kind == column_type:
        return value
    if column_type is ColumnType.STRING:
        return json.dumps(value) if isinstance(value, dict | list) else str(value)
    if column_type is ColumnType.DOUBLE and kind is ColumnType.INTEGER:
        return float(value)
    if column_type is ColumnType.JSON:
        return value
    raise ValueError(f"{type(value).__name__} value does not fit a {column_type.value} column")


def write_raw(
    store: StoragePlugin, source: str, records: Iterable[Mapping[str, Any]], run_id: str
) -> dict[str, Any]:
    """Land `records` in the raw table of `source` in one atomic write."""
    records = list(records)
    table_name = raw_table_name(source)
    existing = store.describe(table_name) if table_name in store.tables() else None
    names = NameAllocator()
    column_of: dict[str, str] = {}
    types: dict[str, ColumnType | None] = {}
    if existing is not None:
        for column in existing.columns:
            if column.name not in RAW_META:
                original = column.description or column.name
                names.assign(original)
                column_of[original] = column.name
                types[column.name] = column.type
    for meta in RAW_META:
        names.assign(meta)
    new_types: dict[str, ColumnType | None] = {}
    for record in records:
        for key, value in record.items():
            key = str(key)
            if key not in column_of:
                column_of[key] = names.assign(key)
            col = column_of[key]
            if col not in types:
                new_types[col] = _widen(new_types.get(col), _infer(value))
    columns = (
        list(existing.columns)
        if existing is not None
        else [
            Column(name="mimir_row_id", type=ColumnType.STRING, nullable=False, max_length=32),
            Column(name="mimir_run_id", type=ColumnType.STRING),
            Column(name="mimir_ingested_at", type=ColumnType.DATETIME),
        ]
    )
    originals = {col: key for key, col in column_of.items()}
    for col, kind in new_types.items():
        columns.append(Column(name=col, type=kind or ColumnType.STRING, description=originals[col]))
        types[col] = kind or ColumnType.STRING
    if existing is None or new_types:
        others = [t for t in store.schema().tables if t.name != table_name]
        table = Table(
            name=table_name, columns=columns, primary_key=["mimir_row_id"], source=f"raw:{source}"
        )
        store.apply_schema(TabularSchema(tables=[*others, table]))
    now = dt.datetime.now(dt.UTC)
    rows, rejected = [], []
    for index, record in enumerate(records):
        row: dict[str, Any] = {
            "mimir_row_id": uuid.uuid4().hex,
            "mimir_run_id": run_id,
            "mimir_ingested_at": now,
        }
        try:
            for key, value in record.items():
                col = column_of[str(key)]
                row[col] = _coerce(value, types[col] or ColumnType.STRING)
        except ValueError as exc:
            rejected.append({"row": index, "field": str(key), "reason": str(exc)})
            continue
        rows.append(row)
    if rejected:
        shown = "; ".join(f"row {r['row']} field {r['field']}: {r['reason']}" for r in rejected[:5])
        raise RawRowsRejected(f"{len(rejected)} record(s) rejected, nothing written: {shown}")
    result = store.write(table_name, rows, mode="insert")
    return {"table": table_name, "rows": result.rows, "columns": column_of}
