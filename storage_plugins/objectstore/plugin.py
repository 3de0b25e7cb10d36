"""The object-store plugin: Parquet tables on any fsspec filesystem (local folder, S3, …).

Layout under the configured root::

    _mimir/schema/v000000000007.json        schema versions: the schema + each table's folder
    tables/<table>/<generation>/_log/v….json  table versions: the live data files
    tables/<table>/<generation>/data/<uuid>.parquet

A write stages new Parquet files (invisible until referenced), then commits a new table
version listing the live files (see `store.VersionLog`). Insert appends files; upsert
rewrites only the files holding an incoming key (copy-on-write, "atomic replace of the
affected files"); replace swaps the whole file list. Reads open the files of the newest
version through `pyarrow.dataset`, which prunes row groups by statistics. Destructive
schema changes move a table to a new generation folder, so stale files can never
reappear. Files replaced more than `keep_versions` commits ago are deleted.

Caveats: ordered reads and paging sort the matching rows in memory (Arrow), so a page of a
huge table costs a scan of it; a forced schema change that drops a column copies the table
and can miss a write committed by another process during the copy.
"""

from __future__ import annotations

import logging
import os
import random
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, ClassVar, cast

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq
from fsspec import AbstractFileSystem

from storage_plugins.arrow import arrow_schema, batch_from_columns, rows_from_batch
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
    RowRejected,
    StorageError,
    WriteConflict,
)
from storage_plugins.migrate import SchemaChange, diff_schemas
from storage_plugins.objectstore.compile import expression, sort_keys
from storage_plugins.objectstore.config import ObjectStoreConfig
from storage_plugins.objectstore.store import (
    CommitConflict,
    VersionLog,
    is_local,
    make_filesystem,
    process_lock,
)
from storage_plugins.query import Predicate, Query, decode_value, encode_value
from storage_plugins.rows import Chunk, KeyIndex, key_index, prepare_rows
from storage_plugins.schema import Table, TabularSchema

log = logging.getLogger(__name__)

FileEntry = dict[str, Any]
_IO_MODULES = ("botocore", "aiobotocore", "aiohttp", "s3fs", "urllib3", "fsspec")


@dataclass(frozen=True)
class _State:
    version: int
    schema: TabularSchema
    dirs: dict[str, str]


@dataclass
class _Plan:
    """What one commit attempt changes: the new file list and the files it wrote."""

    files: list[FileEntry]
    removed: list[FileEntry]
    written: list[FileEntry]
    result: int = 0


class ObjectStorePlugin(StoragePlugin):
    """Tabular storage as Parquet files with versioned manifests on an fsspec filesystem."""

    name: ClassVar[str] = "objectstore"
    Config: ClassVar[type[ObjectStoreConfig]] = ObjectStoreConfig
    config: ObjectStoreConfig

    supports_transactions: ClassVar[bool] = False
    supports_concurrent_writers: ClassVar[bool] = True
    supports_indexes: ClassVar[bool] = False

    def __init__(self, config: ObjectStoreConfig | Mapping[str, Any]) -> None:
        """Validate the settings; touches the filesystem on first use."""
        super().__init__(config)
        self._lock = threading.Lock()
        self._fs: AbstractFileSystem | None = None
        self._root = ""
        self._closed = False
        self._state_cache: _State | None = None

    # ------------------------------------------------------------------ plumbing

    def _filesystem(self) -> tuple[AbstractFileSystem, str]:
        with self._lock:
            if self._closed:
                raise StorageError("this storage plugin was closed")
            if self._fs is None:
                self._fs, self._root = make_filesystem(self.config)
            return self._fs, self._root

    @contextmanager
    def _io(self) -> Iterator[None]:
        """Turn filesystem and network failures into `BackendUnavailable`."""
        try:
            yield
        except StorageError:
            raise
        except Exception as exc:
            module = type(exc).__module__.split(".")[0]
            if isinstance(exc, OSError | TimeoutError) or module in _IO_MODULES:
                raise BackendUnavailable(
                    f"cannot reach {self.config.protocol} store {self.config.url}: "
                    f"{type(exc).__name__}: {exc}"
                ) from exc
            if isinstance(exc, pa.ArrowException):
                raise StorageError(f"unreadable data in {self.config.url}: {exc}") from exc
            raise

    def _path(self, *parts: str) -> str:
        return "/".join((self._root, *parts)) if self._root else "/".join(parts)

    def _schema_log(self) -> VersionLog:
        fs, _ = self._filesystem()
        return VersionLog(fs, self._path("_mimir", "schema"))

    def _table_log(self, tdir: str) -> VersionLog:
        fs, _ = self._filesystem()
        return VersionLog(fs, self._path(tdir, "_log"))

    def _remove(self, paths: Iterable[str]) -> None:
        fs, _ = self._filesystem()
        for path in paths:
            try:
                fs.rm(path, recursive=True)
            except FileNotFoundError:
                pass
            except Exception as exc:
                log.warning("could not remove %s: %s", path, exc)

    def _jitter(self, attempt: int) -> None:
        time.sleep(random.uniform(0.01, 0.05) * min(attempt, 10))  # noqa: S311

    # ------------------------------------------------------------------ schema

    def _state(self) -> _State:
        schema_log = self._schema_log()
        with self._io():
            versions = schema_log.versions()
            if not versions:
                return _State(0, TabularSchema(), {})
            cached = self._state_cache
            if cached is not None and cached.version == versions[-1]:
                return cached
            entry = schema_log.latest()
        if entry.version == 0:
            return _State(0, TabularSchema(), {})
        state = _State(
            entry.version, TabularSchema.model_validate(entry.body["schema"]), entry.body["dirs"]
        )
        self._state_cache = state
        return state

    def schema(self) -> TabularSchema:
        return self._state().schema

    def apply_schema(self, schema: TabularSchema, *, force: bool = False) -> SchemaChange:
        schema_log = self._schema_log()
        fs, _ = self._filesystem()
        with process_lock(fs, schema_log.path):
            for attempt in range(1, self.config.max_commit_attempts + 1):
                state = self._state()
                change = diff_schemas(state.schema, schema)
                check_change(change, force=force)
                if change.empty:
                    return change.model_copy(update={"applied": True})
                dirs = dict(state.dirs)
                obsolete: list[str] = []
                created: list[str] = []
                copies = {c.table for c in change.changes if c.kind == "drop_column"}
                try:
                    for step in change.changes:
                        if step.kind == "create_table":
                            dirs[step.table] = self._new_dir(step.table)
                        elif step.kind == "drop_table":
                            obsolete.append(dirs.pop(step.table))
                        elif step.kind == "recreate_table":
                            obsolete.append(dirs[step.table])
                            dirs[step.table] = self._new_dir(step.table)
                    for name in sorted(copies):
                        new_dir = self._new_dir(name)
                        created.append(new_dir)
                        self._copy_table(state.dirs[name], new_dir, schema.table(name))
                        obsolete.append(dirs[name])
                        dirs[name] = new_dir
                    with self._io():
                        schema_log.commit(
                            state.version + 1,
                            {"schema": schema.model_dump(mode="json"), "dirs": dirs},
                        )
                except CommitConflict:
                    self._remove(self._path(d) for d in created)
                    self._jitter(attempt)
                    continue
                except BaseException:
                    self._remove(self._path(d) for d in created)
                    raise
                self._remove(self._path(d) for d in obsolete)
                self._prune_schema_log(schema_log, state.version + 1)
                return change.model_copy(update={"applied": True})
        raise WriteConflict("schema change lost the commit race too often; nothing changed")

    def _new_dir(self, table: str) -> str:
        return f"tables/{table}/{uuid.uuid4().hex[:16]}"

    def _copy_table(self, old_dir: str, new_dir: str, table: Table) -> None:
        """Rewrite a table's live files with `table`'s columns into a new folder."""
        files = self._live_files(old_dir)
        copied: list[FileEntry] = []
        for entry in files:
            data = self._read_files(table, old_dir, [entry])
            copied.append(self._write_table(table, new_dir, data))
        with self._io():
            self._table_log(new_dir).commit(1, {"files": copied, "removed": []})

    def _prune_schema_log(self, schema_log: VersionLog, version: int) -> None:
        cut = version - self.config.keep_versions
        if cut >= 1:
            self._remove(schema_log.file(v) for v in schema_log.versions() if v <= cut)

    # ------------------------------------------------------------------ files

    def _live_files(self, tdir: str) -> list[FileEntry]:
        with self._io():
            return list(self._table_log(tdir).latest().body.get("files", []))

    def _dataset(self, table: Table, tdir: str, files: list[FileEntry]) -> ds.Dataset:
        fs, _ = self._filesystem()
        return ds.dataset(
            [self._path(tdir, f["path"]) for f in files],
            schema=arrow_schema(table),
            format="parquet",
            filesystem=fs,
        )

    def _read_files(
        self,
        table: Table,
        tdir: str,
        files: list[FileEntry],
        columns: list[str] | None = None,
        filter: pc.Expression | None = None,
    ) -> pa.Table:
        with self._io():
            return self._dataset(table, tdir, files).to_table(columns=columns, filter=filter)

    def _writer(self, table: Table, tdir: str) -> tuple[pq.ParquetWriter, FileEntry]:
        fs, _ = self._filesystem()
        rel = f"data/{uuid.uuid4().hex}.parquet"
        path = self._path(tdir, rel)
        if is_local(fs):
            os.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
        compression = None if self.config.compression == "none" else self.config.compression
        writer = pq.ParquetWriter(
            path, arrow_schema(table), filesystem=fs, compression=compression
        )
        return writer, {"path": rel, "rows": 0}

    def _write_table(self, table: Table, tdir: str, data: pa.Table) -> FileEntry:
        with self._io():
            writer, entry = self._writer(table, tdir)
            with writer:
                writer.write_table(
                    data.select(table.column_names).cast(arrow_schema(table)),
                    row_group_size=self.config.row_group_rows,
                )
        entry["rows"] = data.num_rows
        self._widen_key_range(table, entry, data.column(table.primary_key[0]))
        return entry

    @staticmethod
    def _widen_key_range(table: Table, entry: FileEntry, keys: pa.Array | pa.ChunkedArray) -> None:
        """Keep the file's min and max first-key value in its manifest entry.

        Upserts and inserts skip files whose key range misses the incoming keys without
        a single request to the store.
        """
        if len(keys) == 0:
            return
        col = table.column(table.primary_key[0])
        bounds = pc.min_max(keys)
        low, high = bounds["min"].as_py(), bounds["max"].as_py()
        if "min" in entry:
            low = min(low, decode_value(col, entry["min"]))
            high = max(high, decode_value(col, entry["max"]))
        entry["min"], entry["max"] = encode_value(col, low), encode_value(col, high)

    def _stage(
        self, table: Table, tdir: str, chunks: Iterator[Chunk], staged: list[FileEntry]
    ) -> None:
        """Write validated chunks to new files, appended to `staged` as they are opened."""
        names = table.column_names
        writer: pq.ParquetWriter | None = None
        entry: FileEntry = {}
        pending: list[pa.RecordBatch] = []
        pending_rows = 0

        def flush() -> None:
            nonlocal pending, pending_rows
            if pending and writer is not None:
                writer.write_table(
                    pa.Table.from_batches(pending), row_group_size=self.config.row_group_rows
                )
            pending, pending_rows = [], 0

        try:
            with self._io():
                for chunk in chunks:
                    batch = batch_from_columns(table, names, chunk.columns)
                    if writer is None:
                        writer, entry = self._writer(table, tdir)
                        staged.append(entry)
                    pending.append(batch)
                    pending_rows += batch.num_rows
                    entry["rows"] += batch.num_rows
                    self._widen_key_range(table, entry, batch.column(table.primary_key[0]))
                    if pending_rows >= self.config.row_group_rows:
                        flush()
                    if entry["rows"] >= self.config.rows_per_file:
                        flush()
                        writer.close()
                        writer = None
                flush()
                if writer is not None:
                    writer.close()
                    writer = None
        finally:
            if writer is not None:
                writer.close()

    def _key_hits(
        self, table: Table, tdir: str, files: list[FileEntry], keys: pa.Table
    ) -> list[tuple[FileEntry, pa.Table]]:
        """The files holding any of `keys`, each with the keys it holds."""
        if keys.num_rows == 0 or not files:
            return []
        pk = table.primary_key
        col = table.column(pk[0])
        bounds = pc.min_max(keys.column(pk[0]))
        low, high = bounds["min"].as_py(), bounds["max"].as_py()
        prune = (pc.field(pk[0]) >= bounds["min"]) & (pc.field(pk[0]) <= bounds["max"])
        hits = []
        for entry in files:
            if "min" in entry and (
                decode_value(col, entry["max"]) < low or decode_value(col, entry["min"]) > high
            ):
                continue
            stored = self._read_files(table, tdir, [entry], columns=pk, filter=prune)
            if stored.num_rows:
                matched = stored.join(keys, keys=pk, join_type="left semi")
                if matched.num_rows:
                    hits.append((entry, matched))
        return hits

    def _without_keys(
        self, table: Table, tdir: str, entry: FileEntry, keys: pa.Table
    ) -> FileEntry | None:
        """Rewrite one file without the rows of `keys`; None when nothing remains."""
        data = self._read_files(table, tdir, [entry])
        kept = data.join(keys, keys=table.primary_key, join_type="left anti")
        return self._write_table(table, tdir, kept) if kept.num_rows else None

    # ------------------------------------------------------------------ commits

    def _commit(
        self, table: Table, tdir: str, plan: Callable[[list[FileEntry]], _Plan]
    ) -> int:
        """Run `plan` on the newest file list and commit its result, retrying lost races."""
        table_log = self._table_log(tdir)
        fs, _ = self._filesystem()
        with process_lock(fs, table_log.path):
            for attempt in range(1, self.config.max_commit_attempts + 1):
                with self._io():
                    latest = table_log.latest()
                written: list[FileEntry] = []
                try:
                    current = list(latest.body.get("files", []))
                    outcome = plan(current)
                    written = outcome.written
                    known = {f["path"] for f in current}
                    self._sync(tdir, [f for f in outcome.files if f["path"] not in known])
                    body = {
                        "files": outcome.files,
                        "removed": [f["path"] for f in outcome.removed],
                    }
                    with self._io():
                        table_log.commit(latest.version + 1, body)
                except CommitConflict:
                    self._remove(self._path(tdir, f["path"]) for f in written)
                    self._jitter(attempt)
                    continue
                except BaseException:
                    self._remove(self._path(tdir, f["path"]) for f in written)
                    raise
                self._prune(table_log, tdir, latest.version + 1)
                return outcome.result
        raise WriteConflict(
            f"write to {table.name!r} lost the commit race "
            f"{self.config.max_commit_attempts} times; nothing was written"
        )

    def _sync(self, tdir: str, entries: list[FileEntry]) -> None:
        """On a local disk, flush new data files before a manifest may reference them."""
        fs, _ = self._filesystem()
        if not is_local(fs):
            return  # object stores make a PUT durable before acknowledging it
        paths = [self._path(tdir, entry["path"]) for entry in entries]
        folders = {path.rsplit("/", 1)[0] for path in paths}
        with self._io():
            for path in [*paths, *folders]:  # the files, then their directory entries
                fd = os.open(path, os.O_RDONLY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)

    def _prune(self, table_log: VersionLog, tdir: str, version: int) -> None:
        """Delete versions older than the last `keep_versions`, and files only they used."""
        cut = version - self.config.keep_versions
        if cut < 1:
            return
        try:
            for old in table_log.versions():
                if old > cut + 1:
                    break
                # files replaced by version cut+1 were live only in versions <= cut
                removed = table_log.read(old).body.get("removed", [])
                self._remove(self._path(tdir, p) for p in removed)
                if old <= cut:
                    self._remove([table_log.file(old)])
        except Exception as exc:
            log.warning("pruning %s failed: %s", table_log.path, exc)

    # ------------------------------------------------------------------ writes

    def write(
        self, table: str, rows: Iterable[Mapping[str, Any]], *, mode: WriteMode = "insert"
    ) -> WriteResult:
        check_mode(mode)
        state = self._state()
        schema_table = state.schema.table(table)
        tdir = state.dirs[table]
        keys = key_index(schema_table)
        staged: list[FileEntry] = []
        try:
            chunks = prepare_rows(schema_table, rows, keys=keys, chunk_rows=self.config.chunk_rows)
            self._stage(schema_table, tdir, chunks, staged)
            if not staged and mode != "replace":
                return WriteResult(table=table, mode=mode, rows=0)  # nothing to commit
            incoming = keys.keys()

            def plan(current: list[FileEntry]) -> _Plan:
                return self._plan_write(schema_table, tdir, mode, current, staged, incoming, keys)

            self._commit(schema_table, tdir, plan)
        except BaseException:
            self._remove(self._path(tdir, f["path"]) for f in staged)
            raise
        return WriteResult(table=table, mode=mode, rows=keys.size)

    def _plan_write(
        self,
        table: Table,
        tdir: str,
        mode: str,
        current: list[FileEntry],
        staged: list[FileEntry],
        incoming: pa.Table,
        keys: KeyIndex,
    ) -> _Plan:
        if mode == "replace":
            return _Plan(files=list(staged), removed=current, written=[])
        hits = self._key_hits(table, tdir, current, incoming)
        if mode == "insert":
            if hits:
                row = min(
                    cast(int, keys.first_row_of(self._key_values(table, matched)))
                    for _, matched in hits
                )
                raise RowRejected(
                    table.name, row, ", ".join(table.primary_key), "primary key already exists"
                )
            return _Plan(files=current + staged, removed=[], written=[])
        written: list[FileEntry] = []
        plan = _Plan(files=[], removed=[], written=written)
        affected = {entry["path"] for entry, _ in hits}
        for entry, matched in hits:
            rewritten = self._without_keys(table, tdir, entry, matched)
            if rewritten is not None:
                written.append(rewritten)
        plan.removed = [f for f in current if f["path"] in affected]
        plan.files = [f for f in current if f["path"] not in affected] + written + staged
        return plan

    @staticmethod
    def _key_values(table: Table, matched: pa.Table) -> list[Any]:
        columns = [matched.column(k).to_pylist() for k in table.primary_key]
        return columns[0] if len(columns) == 1 else list(zip(*columns, strict=True))

    def _delete(self, table: Table, predicate: Predicate | None) -> int:
        tdir = self._state().dirs[table.name]
        condition = expression(predicate, table)

        def plan(current: list[FileEntry]) -> _Plan:
            written: list[FileEntry] = []
            outcome = _Plan(files=[], removed=[], written=written)
            for entry in current:
                hit = self._read_files(
                    table, tdir, [entry], columns=table.primary_key, filter=condition
                )
                if not hit.num_rows:
                    outcome.files.append(entry)
                    continue
                outcome.result += hit.num_rows
                outcome.removed.append(entry)
                rewritten = self._without_keys(table, tdir, entry, hit)
                if rewritten is not None:
                    written.append(rewritten)
            outcome.files.extend(written)
            return outcome

        return self._commit(table, tdir, plan)

    # ------------------------------------------------------------------ reads

    def _snapshot(self, table: Table) -> tuple[str, list[FileEntry]]:
        tdir = self._state().dirs[table.name]
        return tdir, self._live_files(tdir)

    def _with_retry(self, table: Table, read: Callable[[str, list[FileEntry]], Any]) -> Any:
        """Run a read on the newest version, once more if pruning removed its files."""
        tdir, files = self._snapshot(table)
        try:
            return read(tdir, files)
        except BackendUnavailable:  # e.g. a file pruned under a slow reader: one retry
            tdir, files = self._snapshot(table)
            return read(tdir, files)

    def _sorted(self, data: pa.Table, query: Query) -> pa.Table:
        indices = pc.sort_indices(data, sort_keys=sort_keys(query.order))
        if query.limit is not None:
            indices = indices[: query.limit + 1]
        return data.take(indices)

    def _fetch(self, query: Query) -> list[dict[str, Any]]:
        condition = expression(query.predicate, query.table)

        def read(tdir: str, files: list[FileEntry]) -> list[dict[str, Any]]:
            data = self._read_files(
                query.table, tdir, files, columns=list(query.fetch_columns), filter=condition
            )
            return rows_from_batch(query.table, self._sorted(data, query))

        return cast(list[dict[str, Any]], self._with_retry(query.table, read))

    def _stream(
        self, query: Query, *, batch_size: int, ordered: bool, arrow: bool
    ) -> Iterator[Any]:
        condition = expression(query.predicate, query.table)
        columns = list(query.columns)

        def batches() -> Iterator[Any]:
            tdir, files = self._snapshot(query.table)
            source: Iterable[pa.RecordBatch]
            with self._io():
                if ordered:
                    data = self._read_files(
                        query.table, tdir, files, columns=list(query.fetch_columns),
                        filter=condition,
                    )
                    data = self._sorted(data, query).select(columns)
                    source = data.to_batches(max_chunksize=batch_size)
                else:
                    source = self._dataset(query.table, tdir, files).to_batches(
                        columns=columns, filter=condition, batch_size=batch_size
                    )
                for batch in source:
                    if batch.num_rows:
                        yield batch if arrow else rows_from_batch(query.table, batch)

        return batches()

    def _count(self, table: Table, predicate: Predicate | None) -> int:
        condition = expression(predicate, table)

        def read(tdir: str, files: list[FileEntry]) -> int:
            with self._io():
                return int(self._dataset(table, tdir, files).count_rows(filter=condition))

        return cast(int, self._with_retry(table, read))

    # ------------------------------------------------------------------ lifecycle

    def health(self) -> Health:
        started = time.perf_counter()
        base: dict[str, Any] = {
            "plugin": self.name, "backend": self.config.protocol, "target": self.config.url
        }
        try:
            fs, root = self._filesystem()
            with self._io():
                if is_local(fs):
                    os.makedirs(root, exist_ok=True)
                    if not os.access(root, os.W_OK):
                        raise BackendUnavailable(f"{root} is not writable")
                elif self.config.protocol in ("s3", "s3a"):
                    bucket = root.split("/", 1)[0]
                    try:
                        fs.ls(bucket, detail=False)
                    except FileNotFoundError:
                        raise BackendUnavailable(f"bucket {bucket!r} does not exist") from None
                else:
                    fs.exists(root)
                self._schema_log().versions()
        except StorageError as exc:
            return Health(ok=False, error=str(exc), **base)
        except Exception as exc:
            return Health(ok=False, error=f"{type(exc).__name__}: {exc}", **base)
        return Health(ok=True, latency_ms=round((time.perf_counter() - started) * 1000, 3), **base)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._fs = None
