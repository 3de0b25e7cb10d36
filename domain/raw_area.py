"""The raw area of a project's store: what ingestion writes before (and besides) an ontology.

The *raw area* holds records ingested before the project has an ontology: one table per
source (`raw_<source>`), a column per field as the records come (nested values as JSON),
plus `mimir_row_id`, `mimir_run_id` and `mimir_ingested_at`. New fields add nullable columns.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from storage_plugins.base import StoragePlugin
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
LOAD_BATCH = 5000


class RawRowsRejected(ValueError):
    """Some records cannot be stored in the raw table as it stands; nothing was written."""


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


def raw_sources(store: StoragePlugin) -> dict[str, Table]:
    """The raw tables of the store by source name (`raw:<source>` tables)."""
    out: dict[str, Table] = {}
    for table in store.schema().tables:
        if table.source and table.source.startswith("raw:") and table.name.startswith(RAW_PREFIX):
            out[table.source[4:]] = table
    return out


def raw_records(
    store: StoragePlugin, table: Table, *, batch_size: int = LOAD_BATCH
) -> Iterator[list[dict[str, Any]]]:
    """Batches of a raw table's records with their original field names (meta columns off)."""
    names = {c.name: (c.description or c.name) for c in table.columns if c.name not in RAW_META}
    columns = list(names)
    if not columns:
        return
    for batch in store.iter_batches(
        table.name, columns=columns, order_by=["mimir_ingested_at"], batch_size=batch_size
    ):
        yield [{names[k]: v for k, v in row.items() if v is not None} for row in batch]


def read_raw_sample(store: StoragePlugin, limit: int) -> dict[str, list[dict[str, Any]]]:
    """Up to `limit` distinct records per raw source (what extraction profiles).

    The raw area keeps every ingested copy; re-ingesting the same record must not make a
    unique column look duplicated, so exact repeats are dropped.
    """
    out: dict[str, list[dict[str, Any]]] = {}
    for source, table in sorted(raw_sources(store).items()):
        seen: set[str] = set()
        records: list[dict[str, Any]] = []
        for batch in raw_records(store, table):
            for record in batch:
                fingerprint = json.dumps(record, sort_keys=True, default=str)
                if fingerprint not in seen:
                    seen.add(fingerprint)
                    records.append(record)
            if len(records) >= limit:
                break
        if records:
            out[source] = records[:limit]
    return out
