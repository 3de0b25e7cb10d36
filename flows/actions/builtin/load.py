"""`storage.load`: stream a project file into storage in batches, never through the context.

`file.read` + `csv.parse` + `storage.write` puts every record into the run's context, which is
bounded (bytes) to protect the worker — fine for a page of an API, wrong for a sensor export of
a million rows. `storage.load` reads the file incrementally (CSV, JSON Lines, or a JSON array)
and writes fixed-size batches, each one atomic as `storage.write` is; memory stays at one batch
whatever the file's size, and only counts land in the context. A bad batch stops the load with
its position; the batches before it are kept (they are upserts, so re-running converges).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Any, Literal

from pydantic import Field

from domain.stores import open_project_store
from flows.actions.base import ActionContext, PermanentError, action
from flows.actions.builtin.files import safe_path
from flows.actions.builtin.storage import StorageTarget, write_records
from storage_plugins.history import run_context

# A whole-document JSON array must be parsed at once; above this, use JSON Lines or CSV.
MAX_JSON_ARRAY_BYTES = 256 * 1024 * 1024
CSV_FIELD_LIMIT = 16 * 1024 * 1024


class StorageLoadParams(StorageTarget):
    """Inputs of storage.load."""

    path: str = Field(description="File inside the project storage (e.g. an upload).")
    format: Literal["csv", "jsonl", "json"] = Field(
        default="csv", description="csv (header row), jsonl (one object a line), json (an array)."
    )
    delimiter: str = Field(default=",", min_length=1, max_length=1, description="CSV separator.")
    encoding: str = Field(
        default="utf-8-sig", description="Text encoding; the default drops a byte-order mark."
    )
    batch_size: int = Field(
        default=10_000, ge=1, le=200_000, description="Records per atomic write."
    )


def _csv_records(handle: io.TextIOBase, delimiter: str) -> Iterator[dict[str, Any]]:
    csv.field_size_limit(CSV_FIELD_LIMIT)
    reader = csv.DictReader(handle, delimiter=delimiter)
    for number, row in enumerate(reader, start=2):
        if None in row:
            raise PermanentError(f"CSV line {number}: more fields than the header has")
        yield row


def _jsonl_records(handle: io.TextIOBase) -> Iterator[dict[str, Any]]:
    for number, line in enumerate(handle, start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except ValueError as exc:
            raise PermanentError(f"JSON Lines line {number}: {exc}") from None
        if not isinstance(value, dict):
            raise PermanentError(f"JSON Lines line {number}: expected an object")
        yield value


def _json_array_records(handle: io.TextIOBase) -> Iterator[dict[str, Any]]:
    try:
        value = json.load(handle)
    except ValueError as exc:
        raise PermanentError(f"not valid JSON: {exc}") from None
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise PermanentError("a json file must hold an array of objects (or use format jsonl)")
    yield from value


def _batches(records: Iterator[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for record in records:
        batch.append(record)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


@action("storage.load", writes_storage=True)
def storage_load(params: StorageLoadParams, ctx: ActionContext) -> dict[str, Any]:
    """Stream a CSV / JSON Lines / JSON file into storage in atomic batches; returns counts."""
    fs, path = safe_path(ctx, params.path)
    if not fs.isfile(path):
        raise PermanentError(f"file {params.path!r} does not exist in the project storage")
    if params.format == "json" and fs.size(path) > MAX_JSON_ARRAY_BYTES:
        raise PermanentError(
            f"file {params.path!r} is over {MAX_JSON_ARRAY_BYTES} bytes: "
            "use format jsonl or csv to stream it"
        )
    store = open_project_store(ctx.project, ctx.storage_url)
    loaded = 0
    batches = 0
    last: dict[str, Any] = {}
    try:
        with run_context(ctx.run_id), fs.open(path, "rb") as raw:
            text = io.TextIOWrapper(raw, encoding=params.encoding, newline="")
            if params.format == "csv":
                records = _csv_records(text, params.delimiter)
            elif params.format == "jsonl":
                records = _jsonl_records(text)
            else:
                records = _json_array_records(text)
            try:
                for batch in _batches(records, params.batch_size):
                    try:
                        last = write_records(store, params, batch, ctx)
                    except PermanentError as exc:
                        raise PermanentError(
                            f"batch {batches + 1} (records {loaded + 1} to {loaded + len(batch)}) "
                            f"was refused; {batches} earlier batches are stored: {exc}"
                        ) from None
                    loaded += len(batch)
                    batches += 1
                    ctx.log.info("loaded %d records (%d batches)", loaded, batches)
            except UnicodeDecodeError as exc:
                raise PermanentError(
                    f"file {params.path!r} is not {params.encoding} text: {exc}"
                ) from None
    finally:
        store.close()
    return {"table": last.get("table"), "rows": loaded, "batches": batches, "path": params.path}
