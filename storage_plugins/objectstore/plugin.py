"""The object-store plugin: one Delta Lake table per table, on a local folder or S3.

Layout under the configured root (every folder is a plain Delta table, readable by Spark,
DuckDB, Polars, Trino or Databricks as it is)::

    _mimir/schema/                      the stored TabularSchema (one row, id = 1)
    tables/<table>/<generation>/        a table's Delta table: _delta_log/ + Parquet files

delta-rs (the ``deltalake`` package) does the commits: appends, MERGE on the primary key
for upserts and deletes, overwrites for ``replace``, each one atomic; a commit that loses
a race with another writer (`CommitFailedError`) is retried on the reloaded table, a bounded
number of times. Every commit carries ``mimir.*`` metadata (operation, rows, pipeline run,
a microsecond timestamp) that `table_history` lists and `as_of` reads map to a version
(Delta time travel). Tables keep their whole log and every file until `vacuum_history`.

A forced breaking change gives a table a new generation folder (history of that table
starts again, as with the SQL plugin's rebuilt tables); a dropped column is rewritten away
in a new version, so older versions still read under the current schema.

Reads take the live file list of the wanted version from delta-rs and scan the Parquet
files with `pyarrow.dataset` over fsspec (row-group pruning by statistics), checking the
scan deadline (`statement_timeout_s`) after every batch. They never go through deltalake's
``to_pyarrow_table``/``to_pyarrow_dataset``, whose Rust-backed pyarrow filesystem can end a
process with ``terminate called without an active exception`` at interpreter exit.

Caveat: ``insert`` checks the keys against the version it read and then appends; two
processes inserting the same new key at the same moment can both succeed (use ``upsert``
for writers whose keys overlap: MERGE commits conflict and are retried).
"""

from __future__ import annotations

import json
import logging
import os
import random
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
from deltalake import CommitProperties, DeltaTable, Field, WriterProperties, write_deltalake
from deltalake.exceptions import CommitFailedError, DeltaError, TableNotFoundError
from deltalake.schema import PrimitiveType
from fsspec import AbstractFileSystem

from storage_plugins.arrow import batch_from_columns, rows_from_batch
from storage_plugins.base import (
    Health,
    StoragePlugin,
    WriteMode,
    WriteResult,
    check_change,
    check_mode,
)
from storage_plugins.errors import (
    BackendUnavailable,
    InvalidQuery,
    QueryTimeout,
    RowRejected,
    StorageError,
    WriteConflict,
)
from storage_plugins.history import HistoryEntry, current_run_id
from storage_plugins.migrate import SchemaChange, diff_schemas
from storage_plugins.objectstore.compile import expression, sort_keys
from storage_plugins.objectstore.config import ObjectStoreConfig
from storage_plugins.objectstore.files import delta_options, is_local, make_filesystem
from storage_plugins.objectstore.physical import (
    from_physical,
    physical_schema,
    physical_type,
    to_physical,
)
from storage_plugins.objectstore.versions import Version, VersionIndex
from storage_plugins.query import Filter, Predicate, Query
from storage_plugins.rows import KeyIndex, key_index, prepare_rows
from storage_plugins.schema import Column, Table, TabularSchema

log = logging.getLogger(__name__)

_IO_MODULES = ("botocore", "aiobotocore", "aiohttp", "s3fs", "urllib3", "fsspec")
_TABLE_CONFIG = {  # keep every version until vacuum_history: default retention is "forever"
    "delta.logRetentionDuration": "interval 36500 days",
    "delta.deletedFileRetentionDuration": "interval 36500 days",
    "delta.enableExpiredLogCleanup": "false",
}
_SCHEMA_ARROW = pa.schema(
    [pa.field("id", pa.int64(), nullable=False), pa.field("body", pa.string())]
)


@dataclass(frozen=True)
class _State:
    version: int
    schema: TabularSchema
    dirs: dict[str, str]
    cutoff: datetime | None


def _delta_type(col: Column) -> str:
    """The Delta type name of a logical column (for added columns)."""
    kind = physical_type(col)
    if pa.types.is_decimal(kind):
        return f"decimal({kind.precision},{kind.scale})"
    names = {
        pa.string(): "string", pa.int64(): "long", pa.float64(): "double",
        pa.bool_(): "boolean", pa.date32(): "date", pa.binary(): "binary",
        pa.timestamp("us", tz="UTC"): "timestamp",
    }
    return names[kind]


def _columns_of(predicate: Predicate | None) -> list[str]:
    """The columns a predicate reads."""
    if predicate is None:
        return []
    if isinstance(predicate, Filter):
        return [predicate.column]
    return [c for item in predicate.items for c in _columns_of(item)]


def _key_predicate(table: Table) -> str:
    return " AND ".join(f't."{k}" = s."{k}"' for k in table.primary_key)


class ObjectStorePlugin(StoragePlugin):
    """Tabular storage as Delta Lake tables on a local folder or S3 (delta-rs)."""

    name: ClassVar[str] = "objectstore"
    Config: ClassVar[type[ObjectStoreConfig]] = ObjectStoreConfig
    config: ObjectStoreConfig

    supports_transactions: ClassVar[bool] = False
    supports_concurrent_writers: ClassVar[bool] = True
    supports_indexes: ClassVar[bool] = False
    supports_history: ClassVar[bool] = True

    def __init__(self, config: ObjectStoreConfig | Mapping[str, Any]) -> None:
        """Validate the settings; touches the store on first use."""
        super().__init__(config)
        self._lock = threading.Lock()
        self._fs: AbstractFileSystem | None = None
        self._root = ""
        self._closed = False
        self._state_cache: _State | None = None
        self._index = VersionIndex()
        self._options = delta_options(self.config)

    # ------------------------------------------------------------------ plumbing

    def _filesystem(self) -> tuple[AbstractFileSystem, str]:
        with self._lock:
            if self._closed:
                raise StorageError("this storage plugin was closed")
            if self._fs is None:
                self._fs, self._root = make_filesystem(self.config)
            return self._fs, self._root

    def _uri(self, *parts: str) -> str:
        """A Delta table URI under the root (a plain path on a local disk)."""
        fs, root = self._filesystem()
        path = "/".join((root, *parts)) if root else "/".join(parts)
        if is_local(fs):
            return path
        return f"{self.config.protocol}://{path}"

    def _fs_path(self, uri: str) -> str:
        """An absolute file URI from delta-rs as a path of our fsspec filesystem."""
        head, sep, rest = uri.partition("://")
        return rest if sep and head != "file" else (rest if sep else uri)

    @contextmanager
    def _io(self) -> Iterator[None]:
        """Turn storage and network failures into `BackendUnavailable`."""
        try:
            yield
        except (StorageError, CommitFailedError):
            raise
        except Exception as exc:
            module = type(exc).__module__.split(".")[0]
            if isinstance(exc, OSError | TimeoutError | DeltaError) or module in _IO_MODULES:
                raise BackendUnavailable(
                    f"cannot use {self.config.protocol} store {self.config.url}: "
                    f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc) else ''}"
                ) from exc
            if isinstance(exc, pa.ArrowException):
                raise StorageError(f"unreadable data in {self.config.url}: {exc}") from exc
            raise

    def _open(self, uri: str, version: int | None = None) -> DeltaTable:
        with self._io():
            return DeltaTable(uri, version=version, storage_options=self._options)

    def _check_root(self) -> None:
        fs, root = self._filesystem()
        if is_local(fs):
            with self._io():
                os.makedirs(root, exist_ok=True)
                if not os.access(root, os.W_OK):
                    raise BackendUnavailable(f"{root} is not writable")

    def _remove(self, uri: str) -> None:
        fs, _ = self._filesystem()
        try:
            fs.rm(self._fs_path(uri), recursive=True)
        except FileNotFoundError:
            pass
        except Exception as exc:
            log.warning("could not remove %s: %s", uri, exc)

    @staticmethod
    def _jitter(attempt: int) -> None:
        """Exponential backoff with full jitter, so contending writers spread out."""
        time.sleep(random.uniform(0, min(1.0, 0.02 * 2 ** min(attempt, 10))))  # noqa: S311

    def _writer_properties(self) -> WriterProperties:
        codec = self.config.compression.upper()
        return WriterProperties(compression=codec)  # type: ignore[arg-type]

    # ------------------------------------------------------------------ schema

    def _schema_table(self) -> DeltaTable | None:
        self._check_root()
        try:
            return DeltaTable(self._uri("_mimir", "schema"), storage_options=self._options)
        except TableNotFoundError:
            return None
        except Exception as exc:
            with self._io():
                raise exc

    def _state(self) -> _State:
        dt = self._schema_table()
        if dt is None:
            return _State(-1, TabularSchema(), {}, None)
        version = dt.version()
        cached = self._state_cache
        if cached is not None and cached.version == version:
            return cached
        data = self._scan_files(dt.file_uris(), _SCHEMA_ARROW, None, None, None)
        if data.num_rows == 0:
            state = _State(version, TabularSchema(), {}, None)
        else:
            state = self._decode_state(version, data.column("body")[0].as_py())
        self._state_cache = state
        return state

    @staticmethod
    def _decode_state(version: int, raw: str) -> _State:
        body = json.loads(raw)
        cutoff = body.get("cutoff")
        return _State(
            version,
            TabularSchema.model_validate(body["schema"]),
            dict(body["dirs"]),
            datetime.fromisoformat(cutoff) if cutoff else None,
        )

    def _commit_state(
        self, state: _State, schema: TabularSchema, dirs: dict[str, str], cutoff: datetime | None
    ) -> None:
        """Commit a new schema row on top of `state`; `CommitFailedError` when beaten."""
        uri = self._uri("_mimir", "schema")
        if state.version < 0:
            try:
                with self._io():
                    DeltaTable.create(uri, _SCHEMA_ARROW, storage_options=self._options)
            except BackendUnavailable:
                raise CommitFailedError("schema table created concurrently") from None
            dt = self._open(uri)
            if dt.version() != 0:
                raise CommitFailedError("schema table changed concurrently")
        else:
            dt = self._open(uri, state.version)
        body = json.dumps(
            {
                "schema": schema.model_dump(mode="json"),
                "dirs": dirs,
                "cutoff": cutoff.isoformat() if cutoff else None,
            }
        )
        row = pa.table({"id": pa.array([1], pa.int64()), "body": pa.array([body], pa.string())},
                       schema=_SCHEMA_ARROW)
        with self._io():
            (
                dt.merge(source=row, predicate='t."id" = s."id"', source_alias="s",
                         target_alias="t")
                .when_matched_update_all()
                .when_not_matched_insert_all()
                .execute()
            )

    def schema(self) -> TabularSchema:
        return self._state().schema

    def apply_schema(self, schema: TabularSchema, *, force: bool = False) -> SchemaChange:
        for attempt in range(1, self.config.max_commit_attempts + 1):
            state = self._state()
            change = diff_schemas(state.schema, schema)
            check_change(change, force=force)
            if change.empty:
                return change.model_copy(update={"applied": True})
            dirs = dict(state.dirs)
            created: list[str] = []
            obsolete: list[str] = []
            try:
                for step in change.changes:
                    name = step.table
                    if step.kind in ("create_table", "recreate_table"):
                        if name in dirs:
                            obsolete.append(dirs[name])
                        dirs[name] = f"tables/{name}/{uuid.uuid4().hex[:12]}"
                        created.append(dirs[name])
                        self._create_table(dirs[name], schema.table(name))
                    elif step.kind == "drop_table":
                        obsolete.append(dirs.pop(name))
                    elif step.kind == "add_column":
                        col = schema.table(name).column(step.column or "")
                        self._add_column(dirs[name], col)
                rewrites = sorted({c.table for c in change.changes if c.kind == "drop_column"})
                for name in rewrites:
                    self._drop_columns(dirs[name], schema.table(name))
                self._commit_state(state, schema, dirs, state.cutoff)
            except CommitFailedError:
                for folder in created:
                    self._remove(self._uri(folder))
                self._jitter(attempt)
                continue
            except BaseException:
                for folder in created:
                    self._remove(self._uri(folder))
                raise
            for folder in obsolete:
                self._remove(self._uri(folder))
            return change.model_copy(update={"applied": True})
        raise WriteConflict(
            f"schema change lost the commit race {self.config.max_commit_attempts} times"
        )

    def _meta(
        self, operation: str, rows: int | None, at: datetime, run_id: str | None = None
    ) -> CommitProperties:
        meta = {"mimir.operation": operation, "mimir.at": at.isoformat()}
        if rows is not None:
            meta["mimir.rows"] = str(rows)
        if run_id is not None:
            meta["mimir.run_id"] = run_id
        return CommitProperties(custom_metadata=meta)

    def _create_table(self, folder: str, table: Table) -> None:
        with self._io():
            DeltaTable.create(
                self._uri(folder),
                physical_schema(table),
                configuration=_TABLE_CONFIG,
                storage_options=self._options,
                commit_properties=self._meta("create", 0, datetime.now(UTC), current_run_id()),
            )

    def _add_column(self, folder: str, col: Column) -> None:
        dt = self._open(self._uri(folder))
        if col.name in {field.name for field in dt.schema().fields}:
            return  # added by an attempt that lost the schema commit race
        with self._io():
            dt.alter.add_columns(
                [Field(col.name, PrimitiveType(_delta_type(col)), nullable=True)],
                commit_properties=self._meta(
                    "migrate", None, self._next_stamp(self._uri(folder), dt), current_run_id()
                ),
            )

    def _drop_columns(self, folder: str, table: Table) -> None:
        """Rewrite the table without the dropped columns, as a new version."""
        uri = self._uri(folder)
        dt = self._open(uri)
        data = self._scan_files(dt.file_uris(), physical_schema(table), None, None, None)
        with self._io():
            write_deltalake(
                dt,
                data,
                mode="overwrite",
                schema_mode="overwrite",
                writer_properties=self._writer_properties(),
                commit_properties=self._meta(
                    "migrate", None, self._next_stamp(uri, dt), current_run_id()
                ),
            )

    # ------------------------------------------------------------------ history

    def _versions(self, uri: str, dt: DeltaTable) -> list[Version]:
        with self._io():
            return self._index.versions(uri, dt)

    def _next_stamp(self, uri: str, dt: DeltaTable) -> datetime:
        with self._io():
            return self._index.next_stamp(uri, dt)

    def _history(self, table: Table, limit: int) -> list[HistoryEntry]:
        uri = self._table_uri(table.name)
        versions = self._versions(uri, self._open(uri))
        return [
            HistoryEntry(version=v.version, at=v.at, operation=v.operation, rows=v.rows,
                         run_id=v.run_id)
            for v in reversed(versions[-limit:])
        ]

    def _vacuum(self, cutoff: datetime) -> int:
        hours = max(0, int((datetime.now(UTC) - cutoff).total_seconds() // 3600))
        removed = 0
        for attempt in range(1, self.config.max_commit_attempts + 1):
            state = self._state()
            for folder in state.dirs.values():
                dt = self._open(self._uri(folder))
                with self._io():
                    removed += len(
                        dt.vacuum(
                            retention_hours=hours,
                            enforce_retention_duration=False,
                            dry_run=False,
                            commit_properties=self._meta("vacuum", None, cutoff),
                        )
                    )
            newest = max(cutoff, state.cutoff) if state.cutoff else cutoff
            try:
                self._commit_state(state, state.schema, state.dirs, newest)
            except CommitFailedError:
                self._jitter(attempt)
                continue
            return removed
        raise WriteConflict("vacuum_history lost the commit race too many times")

    # ------------------------------------------------------------------ writes

    def _table_uri(self, table: str) -> str:
        state = self._state()
        state.schema.table(table)
        return self._uri(state.dirs[table])

    def _commit(
        self,
        table: Table,
        uri: str,
        operation: str,
        run_id: str | None,
        attempt: Callable[[DeltaTable, Callable[[int], CommitProperties]], int],
    ) -> int:
        """Run `attempt` on the newest version; on a lost commit race reload and retry."""
        for number in range(1, self.config.max_commit_attempts + 1):
            dt = self._open(uri)
            stamp = self._next_stamp(uri, dt)

            def meta(rows: int, stamp: datetime = stamp) -> CommitProperties:
                return self._meta(operation, rows, stamp, run_id)

            try:
                with self._io():
                    return attempt(dt, meta)
            except CommitFailedError:
                self._jitter(number)
        raise WriteConflict(
            f"write to {table.name!r} lost the commit race {self.config.max_commit_attempts} "
            "times; nothing was written"
        )

    def write(
        self,
        table: str,
        rows: Iterable[Mapping[str, Any]],
        *,
        mode: WriteMode = "insert",
        run_id: str | None = None,
    ) -> WriteResult:
        check_mode(mode)
        run = current_run_id(run_id)
        state = self._state()
        schema_table = state.schema.table(table)
        uri = self._uri(state.dirs[table])
        keys = key_index(schema_table)
        names = schema_table.column_names
        batches = [
            to_physical(schema_table, batch_from_columns(schema_table, names, chunk.columns))
            for chunk in prepare_rows(
                schema_table, rows, keys=keys, chunk_rows=self.config.chunk_rows
            )
        ]
        data = pa.Table.from_batches(batches, schema=physical_schema(schema_table))
        if data.num_rows == 0 and mode != "replace":
            return WriteResult(table=table, mode=mode, rows=0)
        props = self._writer_properties()

        def attempt(dt: DeltaTable, meta: Callable[[int], CommitProperties]) -> int:
            if mode == "insert":
                self._refuse_existing(schema_table, dt, keys)
                write_deltalake(dt, data, mode="append", writer_properties=props,
                                commit_properties=meta(data.num_rows))
            elif mode == "replace":
                write_deltalake(dt, data, mode="overwrite", writer_properties=props,
                                commit_properties=meta(data.num_rows))
            else:
                (
                    dt.merge(source=data, predicate=_key_predicate(schema_table),
                             source_alias="s", target_alias="t", writer_properties=props,
                             commit_properties=meta(data.num_rows))
                    .when_matched_update_all()
                    .when_not_matched_insert_all()
                    .execute()
                )
            return data.num_rows

        count = self._commit(schema_table, uri, mode, run, attempt)
        return WriteResult(table=table, mode=mode, rows=count)

    def _refuse_existing(self, table: Table, dt: DeltaTable, keys: KeyIndex) -> None:
        """Raise `RowRejected` for the first row whose key the version `dt` already holds."""
        files = dt.file_uris()
        if not files:
            return
        incoming = keys.keys()
        condition: pc.Expression | None = None
        for name in table.primary_key:
            stored = incoming.column(name).cast(physical_type(table.column(name)))
            part = pc.field(name).isin(stored)
            condition = part if condition is None else condition & part
        found = self._scan_files(
            files, physical_schema(table, list(table.primary_key)), condition, None, None
        )
        if not found.num_rows:
            return
        found = from_physical(table, found)
        columns = [found.column(k).to_pylist() for k in table.primary_key]
        values = columns[0] if len(columns) == 1 else list(zip(*columns, strict=True))
        row = keys.first_row_of(values)
        if row is not None:
            raise RowRejected(
                table.name, row, ", ".join(table.primary_key), "primary key already exists"
            )

    def _delete(self, table: Table, predicate: Predicate | None) -> int:
        uri = self._table_uri(table.name)
        condition = expression(predicate, table)

        def attempt(dt: DeltaTable, meta: Callable[[int], CommitProperties]) -> int:
            files = dt.file_uris()
            if not files:
                return 0
            doomed = self._scan_files(
                files, physical_schema(table), condition, None, None, list(table.primary_key),
                _columns_of(predicate),
            )
            if not doomed.num_rows:
                return 0
            if predicate is None:
                dt.delete(commit_properties=meta(doomed.num_rows))
            else:
                (
                    dt.merge(source=doomed, predicate=_key_predicate(table), source_alias="s",
                             target_alias="t", commit_properties=meta(doomed.num_rows))
                    .when_matched_delete()
                    .execute()
                )
            return int(doomed.num_rows)

        return self._commit(table, uri, "delete", current_run_id(), attempt)

    # ------------------------------------------------------------------ reads

    def _files(self, table: Table, as_of: datetime | None) -> list[str]:
        """The live data files of `table`, now or at instant `as_of`."""
        state = self._state()
        uri = self._uri(state.dirs[table.name])
        dt = self._open(uri)
        if as_of is None:
            return list(dt.file_uris())
        if state.cutoff is not None and as_of < state.cutoff:
            raise InvalidQuery(
                f"as_of {as_of.isoformat()} is before {state.cutoff.isoformat()}, the point up "
                "to which history was trimmed (vacuum_history)"
            )
        eligible = [v.version for v in self._versions(uri, dt) if v.at <= as_of]
        if not eligible:
            return []
        if eligible[-1] == dt.version():
            return list(dt.file_uris())
        return list(self._open(uri, eligible[-1]).file_uris())

    def _scan_files(
        self,
        files: list[str],
        schema: pa.Schema,
        condition: pc.Expression | None,
        deadline: float | None,
        table: str | None,
        columns: list[str] | None = None,
        needed: Iterable[str] = (),
    ) -> pa.Table:
        """Read `files` as `schema` (missing columns are NULL), checking the deadline.

        The filter is applied to each batch after it is cast to `schema`, not pushed into the
        Parquet scan: delta-rs stores string columns with ``string_view`` in the files' Arrow
        metadata, and pyarrow's pushdown cannot compare those with plain string operands.
        `needed` names the columns `condition` reads.
        """
        fs, _ = self._filesystem()
        wanted = schema if columns is None else pa.schema([schema.field(c) for c in columns])
        if not files:
            return wanted.empty_table()
        read = list(dict.fromkeys([*wanted.names, *needed]))
        with self._io():
            dataset = ds.dataset(
                [self._fs_path(f) for f in files], schema=schema, format="parquet",
                filesystem=fs,
            )
            parts = []
            for batch in dataset.to_batches(columns=read):
                part = pa.Table.from_batches([batch])
                if condition is not None:
                    part = part.filter(condition)
                parts.append(part.select(wanted.names))
                if deadline is not None and time.monotonic() > deadline:
                    raise QueryTimeout(table or "?", self.config.statement_timeout_s)
            if not parts:
                return wanted.empty_table()
            return pa.concat_tables(parts).cast(wanted)

    def _deadline(self) -> float:
        return time.monotonic() + self.config.statement_timeout_s

    def _sorted(self, data: pa.Table, query: Query) -> pa.Table:
        indices = pc.sort_indices(data, sort_keys=sort_keys(query.order))
        if query.limit is not None:
            indices = indices[: query.limit + 1]
        return data.take(indices)

    def _fetch(self, query: Query) -> list[dict[str, Any]]:
        deadline = self._deadline()
        table = query.table
        files = self._files(table, query.as_of)
        data = self._scan_files(
            files, physical_schema(table), expression(query.predicate, table), deadline,
            table.name, list(query.fetch_columns), _columns_of(query.predicate),
        )
        return rows_from_batch(table, from_physical(table, self._sorted(data, query)))

    def _stream(
        self, query: Query, *, batch_size: int, ordered: bool, arrow: bool
    ) -> Iterator[Any]:
        table = query.table
        condition = expression(query.predicate, table)
        columns = list(query.columns)

        def batches() -> Iterator[Any]:
            files = self._files(table, query.as_of)
            fs, _ = self._filesystem()
            source: Iterable[pa.RecordBatch]
            if ordered:
                data = self._scan_files(
                    files, physical_schema(table), condition, None, None,
                    list(query.fetch_columns), _columns_of(query.predicate),
                )
                data = self._sorted(data, query).select(columns)
                source = data.to_batches(max_chunksize=batch_size)
            elif files:
                with self._io():
                    dataset = ds.dataset(
                        [self._fs_path(f) for f in files], schema=physical_schema(table),
                        format="parquet", filesystem=fs,
                    )
                read = list(dict.fromkeys([*columns, *_columns_of(query.predicate)]))
                source = dataset.to_batches(columns=read, batch_size=batch_size)
            else:
                source = []
            with self._io():
                for raw in source:
                    part = pa.Table.from_batches([raw])
                    if condition is not None and not ordered:
                        part = part.filter(condition)
                    for batch in part.select(columns).to_batches(max_chunksize=batch_size):
                        if not batch.num_rows:
                            continue
                        logical = from_physical(table, pa.Table.from_batches([batch]))
                        if arrow:
                            yield from logical.to_batches()
                        else:
                            yield rows_from_batch(table, logical)

        return batches()

    def _count(
        self, table: Table, predicate: Predicate | None, *, as_of: datetime | None = None
    ) -> int:
        deadline = self._deadline()
        files = self._files(table, as_of)
        first = table.primary_key[0]
        data = self._scan_files(
            files, physical_schema(table), expression(predicate, table), deadline, table.name,
            [first], _columns_of(predicate),
        )
        return int(data.num_rows)

    # ------------------------------------------------------------------ lifecycle

    def health(self) -> Health:
        started = time.perf_counter()
        base: dict[str, Any] = {
            "plugin": self.name, "backend": self.config.protocol, "target": self.config.url
        }
        try:
            fs, root = self._filesystem()
            with self._io():
                if self.config.protocol in ("s3", "s3a"):
                    bucket = root.split("/", 1)[0]
                    try:
                        fs.ls(bucket, detail=False)
                    except FileNotFoundError:
                        raise BackendUnavailable(f"bucket {bucket!r} does not exist") from None
            self._state()
        except StorageError as exc:
            return Health(ok=False, error=str(exc), **base)
        except Exception as exc:
            return Health(ok=False, error=f"{type(exc).__name__}: {exc}", **base)
        return Health(ok=True, latency_ms=round((time.perf_counter() - started) * 1000, 3), **base)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._fs = None

