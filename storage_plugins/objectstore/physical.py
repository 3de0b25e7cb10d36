"""How logical columns are stored in Delta: the physical Arrow types and the conversions.

Delta has no type for a time of day, and its strings and binaries are the plain Arrow
ones, so the stored ("physical") schema differs from `storage_plugins.arrow.arrow_schema`
in three ways: ``time`` is ``long`` microseconds since midnight (order and comparisons
keep working), ``string``/``anyURI``/``json`` are ``string``, ``binary`` is ``binary``.
Everything else (long, double, decimal(p,s), boolean, date, timestamp in UTC) is the
Delta type of the same name, so Spark, DuckDB or Polars read the columns as they are.
"""

from __future__ import annotations

from datetime import time
from typing import Any

import pyarrow as pa

from storage_plugins.arrow import arrow_schema, arrow_type
from storage_plugins.schema import Column, ColumnType, Table

_PHYSICAL: dict[ColumnType, pa.DataType] = {
    ColumnType.STRING: pa.string(),
    ColumnType.ANY_URI: pa.string(),
    ColumnType.JSON: pa.string(),
    ColumnType.BINARY: pa.binary(),
    ColumnType.TIME: pa.int64(),
}


def physical_type(col: Column) -> pa.DataType:
    """The Arrow type `col` has in the Delta table."""
    return _PHYSICAL.get(col.type) or arrow_type(col)


def physical_schema(table: Table, columns: list[str] | None = None) -> pa.Schema:
    """The Delta table's Arrow schema (or the named subset of its columns)."""
    names = table.column_names if columns is None else columns
    return pa.schema(
        [
            pa.field(n, physical_type(table.column(n)), nullable=table.column(n).nullable)
            for n in names
        ]
    )


def physical_value(col: Column, value: Any) -> Any:
    """A canonical filter operand in its stored form (times become microseconds)."""
    if col.type is ColumnType.TIME and isinstance(value, time):
        return ((value.hour * 60 + value.minute) * 60 + value.second) * 1_000_000 + (
            value.microsecond
        )
    return value


def to_physical(table: Table, data: pa.RecordBatch) -> pa.RecordBatch:
    """A batch in `arrow_schema(table)` form converted to the stored form."""
    target = physical_schema(table, data.schema.names)
    return data.cast(target)


def from_physical(table: Table, data: pa.Table) -> pa.Table:
    """Stored columns converted back to `arrow_schema(table)` form."""
    target = arrow_schema(table, data.schema.names)
    arrays = []
    for name, field in zip(data.schema.names, target, strict=True):
        column = data.column(name)
        if table.column(name).type is ColumnType.TIME:
            column = column.cast(pa.int64()).cast(pa.time64("us"))
        arrays.append(column.cast(field.type))
    return pa.Table.from_arrays(arrays, schema=target)
