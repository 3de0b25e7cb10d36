"""Arrow representation of tables: one mapping from logical column types to Arrow types.

Used by the object-store plugin for its Parquet files and by every plugin for
``iter_batches(format="arrow")``, so that a record batch looks the same whichever backend
produced it. JSON columns travel as JSON text (``large_string``) in Arrow, because Arrow has
no type for "any JSON value"; the field metadata ``mimir.type`` says which columns are
JSON (or anyURI) so that consumers can decode them.

pyarrow is imported by this module only; import it lazily from SQL code paths.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC
from typing import Any

import pyarrow as pa

from storage_plugins.schema import Column, ColumnType, Table

_FIXED: dict[ColumnType, pa.DataType] = {
    ColumnType.STRING: pa.large_string(),
    ColumnType.ANY_URI: pa.large_string(),
    ColumnType.INTEGER: pa.int64(),
    ColumnType.DOUBLE: pa.float64(),
    ColumnType.BOOLEAN: pa.bool_(),
    ColumnType.DATE: pa.date32(),
    ColumnType.DATETIME: pa.timestamp("us", tz="UTC"),
    ColumnType.TIME: pa.time64("us"),
    ColumnType.BINARY: pa.large_binary(),
    ColumnType.JSON: pa.large_string(),
}


def arrow_type(col: Column) -> pa.DataType:
    """The Arrow type that holds `col`'s canonical values."""
    if col.type is ColumnType.DECIMAL:
        return pa.decimal128(col.precision or 38, col.scale or 0)
    return _FIXED[col.type]


def arrow_field(col: Column) -> pa.Field:
    """An Arrow field for `col`, with its logical type in the metadata."""
    return pa.field(
        col.name, arrow_type(col), nullable=col.nullable, metadata={"mimir.type": col.type.value}
    )


def arrow_schema(table: Table, columns: Sequence[str] | None = None) -> pa.Schema:
    """The Arrow schema of `table`, or of the named subset of its columns, in that order."""
    names = table.column_names if columns is None else list(columns)
    return pa.schema([arrow_field(table.column(n)) for n in names])


def batch_from_columns(
    table: Table, names: Sequence[str], columns: Sequence[list[Any]]
) -> pa.RecordBatch:
    """A record batch from canonical column values (JSON columns already JSON text)."""
    schema = arrow_schema(table, names)
    arrays = [
        pa.array(values, type=field.type) for field, values in zip(schema, columns, strict=True)
    ]
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def batch_from_rows(
    table: Table, names: Sequence[str], rows: Sequence[dict[str, Any]]
) -> pa.RecordBatch:
    """A record batch from rows as plugins return them (JSON columns as Python values)."""
    columns: list[list[Any]] = []
    for name in names:
        values = [row[name] for row in rows]
        if table.column(name).type is ColumnType.JSON:
            values = [None if v is None else _dump(v) for v in values]
        columns.append(values)
    return batch_from_columns(table, names, columns)


def rows_from_batch(table: Table, batch: pa.RecordBatch | pa.Table) -> list[dict[str, Any]]:
    """Rows as plugins return them: canonical Python values, JSON columns decoded."""
    rows = batch.to_pylist()
    for name in batch.schema.names:
        ctype = table.column(name).type
        if ctype is ColumnType.JSON:
            for row in rows:
                if row[name] is not None:
                    row[name] = json.loads(row[name])
        elif ctype is ColumnType.DATETIME:  # pyarrow gives zoneinfo UTC; use datetime.UTC
            for row in rows:
                if row[name] is not None:
                    row[name] = row[name].replace(tzinfo=UTC)
    return rows


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
