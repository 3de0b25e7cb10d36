"""Export a table of a project's store as a CSV or Parquet file in its storage object.

Batches stream from the store into the file (at most one batch in memory), so a table of any
size can be exported by a worker; the export flow runs this and records the result.
"""

from __future__ import annotations

import posixpath
from collections.abc import Sequence
from typing import Any, Literal

import fsspec
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from storage_plugins.base import StoragePlugin

ExportFormat = Literal["csv", "parquet"]
EXPORT_DIR = "exports"


def export_path(table: str, fmt: ExportFormat) -> str:
    """Where the export of `table` lands, relative to the storage object."""
    return f"{EXPORT_DIR}/{table}.{fmt}"


def export_table(
    store: StoragePlugin,
    storage_url: str,
    table: str,
    fmt: ExportFormat,
    where: Sequence[dict[str, Any]] = (),
) -> dict[str, Any]:
    """Write the (filtered) table to `exports/<table>.<fmt>`; returns path, format, rows, bytes.

    Filter errors (`storage_plugins.errors.InvalidQuery`) surface before the file is opened.
    """
    relative = export_path(table, fmt)
    fs, root = fsspec.core.url_to_fs(storage_url)
    target = posixpath.join(root, relative)
    batches = store.iter_batches(table, where=list(where), format="arrow")
    first = next(batches, None)
    fs.makedirs(posixpath.dirname(target), exist_ok=True)
    rows = 0
    with fs.open(target, "wb") as handle:
        if first is not None:
            writer = _writer(handle, first.schema, fmt)
            try:
                for batch in _chain(first, batches):
                    writer.write_batch(batch)
                    rows += batch.num_rows
            finally:
                writer.close()
    return {"path": relative, "format": fmt, "rows": rows, "bytes": int(fs.size(target))}


def _chain(first: pa.RecordBatch, rest: Any) -> Any:
    yield first
    yield from rest


def _writer(handle: Any, schema: pa.Schema, fmt: ExportFormat) -> Any:
    if fmt == "csv":
        return pa_csv.CSVWriter(handle, schema)
    return pq.ParquetWriter(handle, schema)
