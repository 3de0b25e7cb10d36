"""The SQL storage plugin: SQLite, PostgreSQL and MySQL/MariaDB through SQLAlchemy Core.

The stored `TabularSchema` lives as JSON in a one-row bookkeeping table, ``_mimir_schema``,
because the database catalogue cannot say which text column is an ``anyURI`` or which
table is a link table. Schema changes are serialised with a lock (an advisory lock on
PostgreSQL, a named lock on MySQL, ``BEGIN IMMEDIATE`` on SQLite).

Every write is one transaction. SQLite runs in WAL mode with a busy timeout and takes its
write lock when the transaction starts (``BEGIN IMMEDIATE``), so concurrent writers queue
instead of failing; on the servers, a deadlock or serialisation failure is retried when the
rows were given as a sequence (they can be sent again) and raised as `WriteConflict`
otherwise.
"""

from __future__ import annotations

import logging
import math
import random
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from typing import Any, ClassVar, cast

import sqlalchemy as sa
from alembic.migration import MigrationContext
from alembic.operations import Operations
from sqlalchemy.engine import Dialect, Engine

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
from storage_plugins.history import HistoryEntry, check_as_of, current_run_id
from storage_plugins.migrate import SchemaChange, diff_schemas
from storage_plugins.query import Predicate, Query
from storage_plugins.rows import KeyIndex, check_repeats, key_index, prepare_rows
from storage_plugins.schema import Table, TabularSchema
from storage_plugins.sql import history as hist
from storage_plugins.sql.bulk import bulk_writer
from storage_plugins.sql.compile import select_statement, where_clause
from storage_plugins.sql.config import SQLConfig
from storage_plugins.sql.types import SCHEMA_TABLE, build_table, schema_table

log = logging.getLogger(__name__)

_PG_LOCK_KEY = 0x6D696D6972  # "mimir": the advisory lock that serialises schema changes
_WRITE_ATTEMPTS = 5
_KEY_LOOKUP_BATCH = 500


@dataclass(frozen=True)
class _Cached:
    version: int
    schema: TabularSchema
    tables: dict[str, sa.Table]
    history: dict[str, sa.Table]


_TIMEOUT_CODES = (1969, 3024)  # MariaDB max_statement_time, MySQL max_execution_time


def _is_timeout(exc: BaseException) -> bool:
    """True when the backend cancelled a statement for running past its time limit."""
    orig = exc.orig if isinstance(exc, sa.exc.DBAPIError) else exc
    if getattr(orig, "sqlstate", None) == "57014":
        return True
    args = getattr(orig, "args", None) or (None,)
    if args[0] in _TIMEOUT_CODES:
        return True
    return type(orig).__name__ == "OperationalError" and str(orig) == "interrupted"


def _enable_wal(dbapi_conn: Any, wait_s: float) -> None:
    """Put the database in WAL mode (once per file; a no-op after that).

    Why a wait of our own: switching the journal mode needs the file to itself, and SQLite
    answers "database is locked" at once — its busy handler is not consulted — while other
    connections hold it, which happens when several connections open a new database together.
    """
    stop = time.monotonic() + wait_s
    delay = 0.005
    while True:
        try:
            if str(dbapi_conn.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
                dbapi_conn.execute("PRAGMA journal_mode=WAL")
            return
        except Exception as exc:  # sqlite3.OperationalError; the driver module is not imported
            if "locked" not in str(exc) or time.monotonic() + delay > stop:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.25)


class _Retry(Exception):
    """A write hit a deadlock or serialisation failure and may be run again."""


def _classify(exc: BaseException, dbapi: Any) -> str:
    """'integrity', 'conflict', 'unavailable' or 'other' for a database error."""
    if isinstance(exc, sa.exc.DBAPIError) and exc.connection_invalidated:
        return "unavailable"
    orig = exc.orig if isinstance(exc, sa.exc.DBAPIError) else exc
    sqlstate = getattr(orig, "sqlstate", None)
    if isinstance(sqlstate, str):
        if sqlstate.startswith("23"):
            return "integrity"
        if sqlstate in ("40001", "40P01"):
            return "conflict"
        if sqlstate.startswith("08") or sqlstate in ("57P01", "57P02", "57P03"):
            return "unavailable"
        return "other"
    args = getattr(orig, "args", None) or (None,)
    code = args[0]
    if isinstance(code, int):
        if code in (1213, 1205):
            return "conflict"
        if code in (2002, 2003, 2006, 2013, 2055):
            return "unavailable"
    if dbapi is not None and isinstance(orig, dbapi.IntegrityError):
        return "integrity"
    message = str(orig).lower()
    if "database is locked" in message or "database is busy" in message:
        return "conflict"
    return "other"


def _message(exc: BaseException) -> str:
    orig = exc.orig if isinstance(exc, sa.exc.DBAPIError) else exc
    return str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__


class SQLStoragePlugin(StoragePlugin):
    """Tabular storage in a relational database (SQLite, PostgreSQL, MySQL/MariaDB)."""

    name: ClassVar[str] = "sql"
    Config: ClassVar[type[SQLConfig]] = SQLConfig
    config: SQLConfig

    supports_transactions: ClassVar[bool] = True
    supports_concurrent_writers: ClassVar[bool] = True
    supports_indexes: ClassVar[bool] = True
    supports_history: ClassVar[bool] = True

    def __init__(self, config: SQLConfig | Mapping[str, Any]) -> None:
        """Validate the settings; connects on first use."""
        super().__init__(config)
        self._lock = threading.Lock()
        self._engine: Engine | None = None
        self._closed = False
        self._cache: _Cached | None = None
        self._schema_table_seen = False

    # ------------------------------------------------------------------ connections

    @property
    def _target(self) -> str:
        return str(self.config.redacted()["url"])

    def _get_engine(self) -> Engine:
        with self._lock:
            if self._closed:
                raise StorageError("this storage plugin was closed")
            if self._engine is None:
                self._engine = self._create_engine()
            return self._engine

    def _create_engine(self) -> Engine:
        cfg = self.config
        url = cfg.sqlalchemy_url()
        common: dict[str, Any] = {
            "pool_size": cfg.pool_size,
            "max_overflow": cfg.max_overflow,
            "pool_timeout": cfg.pool_timeout_s,
            "echo": cfg.echo,
        }
        if cfg.backend == "sqlite":
            path = Path(url.database or "")
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise BackendUnavailable(f"cannot use SQLite file {path}: {exc}") from exc
            engine = sa.create_engine(
                url,
                poolclass=sa.pool.QueuePool,
                connect_args={"timeout": cfg.busy_timeout_s, "check_same_thread": False},
                **common,
            )
            busy_ms = int(cfg.busy_timeout_s * 1000)

            @sa.event.listens_for(engine, "connect")
            def _sqlite_connect(dbapi_conn: Any, record: Any) -> None:
                dbapi_conn.isolation_level = None  # we emit BEGIN ourselves
                dbapi_conn.execute(f"PRAGMA busy_timeout={busy_ms}")
                _enable_wal(dbapi_conn, cfg.busy_timeout_s)
                for pragma in ("synchronous=NORMAL", "case_sensitive_like=ON", "foreign_keys=OFF"):
                    dbapi_conn.execute(f"PRAGMA {pragma}")

            @sa.event.listens_for(engine, "begin")
            def _sqlite_begin(conn: sa.Connection) -> None:
                write = conn.get_execution_options().get("mimir_write", False)
                conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

            return engine
        timeout = max(2, math.ceil(cfg.connect_timeout_s))
        if cfg.backend == "postgresql":
            return sa.create_engine(
                url,
                pool_pre_ping=True,
                connect_args={
                    "connect_timeout": timeout,
                    "application_name": "mimir-storage",
                    "options": "-c timezone=UTC",
                },
                **common,
            )
        engine = sa.create_engine(
            url,
            paramstyle="format",
            pool_pre_ping=True,
            pool_recycle=3600,
            isolation_level="READ COMMITTED",
            connect_args={"connect_timeout": timeout, "charset": "utf8mb4"},
            **common,
        )

        @sa.event.listens_for(engine, "connect")
        def _mysql_connect(dbapi_conn: Any, record: Any) -> None:
            with dbapi_conn.cursor() as cur:
                cur.execute("SET time_zone = '+00:00'")
                cur.execute(
                    "SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ZERO_DATE,"
                    "NO_ZERO_IN_DATE,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION'"
                )

        return engine

    @property
    def _dbapi(self) -> Any:
        return self._get_engine().dialect.loaded_dbapi

    def _unavailable(self, exc: BaseException) -> BackendUnavailable:
        return BackendUnavailable(
            f"cannot reach {self.config.backend} at {self._target}: {_message(exc)}"
        )

    @contextmanager
    def _connect(self, *, write: bool = False) -> Iterator[sa.Connection]:
        """A pooled connection; with `write`, inside a transaction committed on success."""
        engine = self._get_engine()
        try:
            conn = engine.connect()
        except (sa.exc.DBAPIError, OSError) as exc:
            raise self._unavailable(exc) from exc
        with conn:
            try:
                if write:
                    conn.execution_options(mimir_write=True)
                    with conn.begin():
                        yield conn
                else:
                    yield conn
            except sa.exc.DBAPIError as exc:
                if _classify(exc, self._dbapi) == "unavailable":
                    raise self._unavailable(exc) from exc
                raise

    @contextmanager
    def _reading(self, table: str) -> Iterator[sa.Connection]:
        """A connection whose statements the backend cancels after `statement_timeout_s`."""
        limit = self.config.statement_timeout_s
        with self._connect() as conn:
            undo = self._limit_time(conn, limit)
            try:
                yield conn
            except sa.exc.DBAPIError as exc:
                if _is_timeout(exc):
                    raise QueryTimeout(table, limit) from exc
                raise
            finally:
                undo()

    def _limit_time(self, conn: sa.Connection, limit: float) -> Callable[[], None]:
        """Arm the dialect's statement timeout on `conn`; returns the function disarming it."""
        dialect = conn.dialect
        if dialect.name == "postgresql":  # SET LOCAL ends with the read's transaction
            conn.exec_driver_sql(f"SET LOCAL statement_timeout = {max(1, round(limit * 1000))}")
            return lambda: None
        if dialect.name == "mysql":
            if getattr(dialect, "is_mariadb", False):
                setting, value = "max_statement_time", f"{limit:.6f}"
            else:
                setting, value = "max_execution_time", str(max(1, round(limit * 1000)))
            conn.exec_driver_sql(f"SET SESSION {setting} = {value}")

            def reset() -> None:
                try:
                    conn.exec_driver_sql(f"SET SESSION {setting} = 0")
                except sa.exc.DBAPIError:
                    conn.invalidate()  # never hand a limited connection back to the pool

            return reset
        raw = conn.connection.driver_connection
        assert raw is not None
        deadline = time.monotonic() + limit
        raw.set_progress_handler(lambda: int(time.monotonic() > deadline), 1000)
        return lambda: raw.set_progress_handler(None, 0)

    # ------------------------------------------------------------------ schema

    def _sa_tables(
        self, schema: TabularSchema, dialect: Dialect
    ) -> tuple[dict[str, sa.Table], dict[str, sa.Table]]:
        metadata = sa.MetaData()
        tables = {t.name: build_table(t, metadata, dialect) for t in schema.tables}
        history = {
            t.name: hist.build_history_table(t, metadata, dialect) for t in schema.tables
        }
        return tables, history

    def _load(self, conn: sa.Connection) -> _Cached:
        """The stored schema as of this connection's transaction (cached by version)."""
        if not self._schema_table_seen:
            if not sa.inspect(conn).has_table(SCHEMA_TABLE):
                return _Cached(0, TabularSchema(), {}, {})
            self._schema_table_seen = True
        meta = schema_table(sa.MetaData())
        version = conn.execute(sa.select(meta.c.version).where(meta.c.id == 1)).scalar()
        if version is None:
            return _Cached(0, TabularSchema(), {}, {})
        cached = self._cache
        if cached is not None and cached.version == version:
            return cached
        body = conn.execute(sa.select(meta.c.body).where(meta.c.id == 1)).scalar_one()
        schema = TabularSchema.model_validate_json(body)
        cached = _Cached(int(version), schema, *self._sa_tables(schema, conn.dialect))
        self._cache = cached
        return cached

    def schema(self) -> TabularSchema:
        with self._connect() as conn:
            return self._load(conn).schema

    def _lock_schema(self, conn: sa.Connection) -> None:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_PG_LOCK_KEY)))
        elif conn.dialect.name == "mysql":
            got = conn.execute(
                sa.select(sa.func.get_lock("mimir_schema", int(self.config.busy_timeout_s)))
            ).scalar()
            if got != 1:
                raise WriteConflict("timed out waiting for the schema lock")

    def apply_schema(self, schema: TabularSchema, *, force: bool = False) -> SchemaChange:
        try:
            with self._connect(write=True) as conn:
                self._lock_schema(conn)
                try:
                    meta = schema_table(sa.MetaData())
                    meta.create(conn, checkfirst=True)
                    hist.log_table(meta.metadata).create(conn, checkfirst=True)
                    cached = self._load(conn)
                    change = diff_schemas(cached.schema, schema)
                    check_change(change, force=force)
                    if change.empty:
                        return change.model_copy(update={"applied": True})
                    self._migrate(conn, cached.schema, schema, change)
                    body = schema.model_dump_json()
                    if cached.version == 0:
                        conn.execute(meta.insert().values(id=1, version=1, body=body))
                    else:
                        conn.execute(
                            meta.update()
                            .where(meta.c.id == 1)
                            .values(version=cached.version + 1, body=body)
                        )
                finally:
                    if conn.dialect.name == "mysql":
                        conn.execute(sa.select(sa.func.release_lock("mimir_schema")))
        except sa.exc.DBAPIError as exc:
            raise StorageError(f"schema change failed: {_message(exc)}") from exc
        return change.model_copy(update={"applied": True})

    def _migrate(
        self,
        conn: sa.Connection,
        current: TabularSchema,
        desired: TabularSchema,
        change: SchemaChange,
    ) -> None:
        """Carry out `change`; history tables follow their tables (columns added and dropped
        alike, so past versions stay readable under the new schema), and each touched
        table's log records the migration."""
        old, old_hist = self._sa_tables(current, conn.dialect)
        new, new_hist = self._sa_tables(desired, conn.dialect)
        ops = Operations(MigrationContext.configure(conn))
        now = datetime.now(UTC)
        touched: dict[str, str] = {}
        for step in change.changes:
            name = step.table
            if step.kind in ("create_table", "recreate_table", "drop_table"):
                if step.kind != "create_table":
                    old[name].drop(conn)
                    old_hist[name].drop(conn)
                hist.forget(conn, name)
                if step.kind != "drop_table":
                    new[name].create(conn)
                    new_hist[name].create(conn)
                    touched[name] = "create"
                else:
                    touched.pop(name, None)
            elif step.kind == "add_column":
                col = new[name].c[cast(str, step.column)]
                ops.add_column(name, sa.Column(col.name, col.type, nullable=True))
                ops.add_column(hist.history_name(name), sa.Column(col.name, col.type))
                touched.setdefault(name, "migrate")
            elif step.kind == "drop_column":
                ops.drop_column(name, cast(str, step.column))
                ops.drop_column(hist.history_name(name), cast(str, step.column))
                touched.setdefault(name, "migrate")
            elif step.kind == "add_index":
                next(ix for ix in new[name].indexes if ix.name == step.index).create(conn)
            elif step.kind == "drop_index":
                next(ix for ix in old[name].indexes if ix.name == step.index).drop(conn)
        for name, operation in touched.items():
            stamp = hist.next_stamp(conn, name, now)
            hist.record(conn, name, stamp, operation, None, current_run_id())

    # ------------------------------------------------------------------ writes

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
        attempts = _WRITE_ATTEMPTS if isinstance(rows, Sequence) else 1
        for attempt in range(1, attempts + 1):
            try:
                return self._write_once(table, rows, mode, run)
            except _Retry as exc:
                if attempt == attempts:
                    raise WriteConflict(
                        f"write to {table!r} failed after {attempt} attempt(s): {exc}; "
                        "nothing was written"
                    ) from exc
                time.sleep(random.uniform(0.05, 0.2) * attempt)  # noqa: S311 - jitter
        raise AssertionError("unreachable")

    def _write_once(
        self, table: str, rows: Iterable[Mapping[str, Any]], mode: str, run_id: str | None
    ) -> WriteResult:
        keys: KeyIndex | None = None
        schema_table_: Table | None = None
        sa_table: sa.Table | None = None
        count = 0
        try:
            with self._connect(write=True) as conn:
                cached = self._load(conn)
                schema_table_ = cached.schema.table(table)
                sa_table = cached.tables[table]
                keys = key_index(schema_table_)
                history = cached.history[table]
                stamp = hist.next_stamp(conn, table, datetime.now(UTC))
                if mode == "replace":
                    hist.copy_matching(conn, sa_table, history, None, stamp)
                    conn.execute(sa.delete(sa_table))
                writer = bulk_writer(
                    conn, sa_table, schema_table_, mode, stamp=stamp, history=history
                )
                try:
                    for chunk in prepare_rows(
                        schema_table_, rows, keys=keys, chunk_rows=self.config.chunk_rows
                    ):
                        writer.add(chunk)
                        count += chunk.size
                    writer.finish()
                except BaseException:
                    writer.abort()
                    raise
                if count or mode == "replace":
                    hist.record(conn, table, stamp, mode, count, run_id)
        except (RowRejected, StorageError):
            raise
        except Exception as exc:
            kind = _classify(exc, self._dbapi)
            if kind == "conflict":
                raise _Retry(_message(exc)) from exc
            if kind == "unavailable":
                raise self._unavailable(exc) from exc
            if kind == "integrity" and schema_table_ is not None and sa_table is not None:
                if keys is not None:
                    check_repeats(schema_table_, keys)  # a repeat within the call?
                row = None
                if mode == "insert" and keys is not None:
                    row = self._existing_key_row(schema_table_, sa_table, keys)
                reason = "primary key already exists" if row is not None else _message(exc)
                raise RowRejected(
                    table, row, ", ".join(schema_table_.primary_key), reason
                ) from exc
            if isinstance(exc, sa.exc.DBAPIError | self._dbapi.Error):
                raise StorageError(f"write to {table!r} failed: {_message(exc)}") from exc
            raise
        return WriteResult(table=table, mode=cast(WriteMode, mode), rows=count)

    def _existing_key_row(self, table: Table, sa_table: sa.Table, keys: KeyIndex) -> int | None:
        """After a refused insert: the first row of the call whose key is already stored."""
        pk = [sa_table.c[k] for k in table.primary_key]
        ordered = keys.ordered()
        with self._connect() as conn:
            while batch := list(islice(ordered, _KEY_LOOKUP_BATCH)):
                if len(pk) == 1:
                    stmt = sa.select(pk[0]).where(pk[0].in_(batch))
                    found = [r[0] for r in conn.execute(stmt)]
                else:
                    stmt = sa.select(*pk).where(sa.tuple_(*pk).in_(batch))
                    found = [tuple(r) for r in conn.execute(stmt)]
                row = keys.first_row_of(found)
                if row is not None:
                    return row
        return None

    def _delete(self, table: Table, predicate: Predicate | None) -> int:
        run_id = current_run_id()
        try:
            with self._connect(write=True) as conn:
                cached = self._load(conn)
                sa_table = self._sa_table(conn, table)
                history = cached.history[table.name]
                stamp = hist.next_stamp(conn, table.name, datetime.now(UTC))
                condition = where_clause(predicate, sa_table)
                deleted = self._delete_keeping(conn, sa_table, history, condition, stamp)
                if deleted:
                    hist.record(conn, table.name, stamp, "delete", deleted, run_id)
                return deleted
        except sa.exc.DBAPIError as exc:
            if _classify(exc, self._dbapi) == "conflict":
                raise WriteConflict(
                    f"deleting rows of {table.name!r} hit a conflict: {_message(exc)}"
                ) from exc
            raise StorageError(f"deleting rows of {table.name!r} failed: {_message(exc)}") from exc

    @staticmethod
    def _delete_keeping(
        conn: sa.Connection,
        sa_table: sa.Table,
        history: sa.Table,
        condition: Any,
        stamp: datetime,
    ) -> int:
        """Delete the matching rows, moving them into the history table, atomically.

        PostgreSQL does both in one statement (a DELETE ... RETURNING feeding the INSERT),
        so a row committed concurrently can never be deleted without its history row; MySQL
        locks the rows first; SQLite writers are serialised anyway.
        """
        if conn.dialect.name == "postgresql":
            kept = [c.name for c in history.columns if c.name != hist.VALID_TO]
            gone = sa.delete(sa_table)
            if condition is not None:
                gone = gone.where(condition)
            cte = gone.returning(*(sa_table.c[n] for n in kept)).cte("gone")
            moved = sa.select(
                *(cte.c[n] for n in kept),
                sa.literal(stamp, hist.UTCDateTime()).label(hist.VALID_TO),
            )
            inserted = (
                history.insert()
                .from_select([*kept, hist.VALID_TO], moved)
                .returning(history.c[hist.VALID_TO])
                .cte("moved")
            )
            counted = sa.select(sa.func.count()).select_from(inserted)
            return int(conn.execute(counted).scalar_one())
        if conn.dialect.name == "mysql":
            locked = sa.select(*sa_table.primary_key.columns).with_for_update()
            conn.execute(locked if condition is None else locked.where(condition)).all()
        hist.copy_matching(conn, sa_table, history, condition, stamp)
        stmt = sa.delete(sa_table)
        if condition is not None:
            stmt = stmt.where(condition)
        return int(conn.execute(stmt).rowcount)

    # ------------------------------------------------------------------ history

    def _history(self, table: Table, limit: int) -> list[HistoryEntry]:
        with self._connect() as conn:
            self._load(conn)
            if not sa.inspect(conn).has_table(hist.LOG_TABLE):
                return []
            return [HistoryEntry(**e) for e in hist.entries(conn, table.name, limit)]

    def _vacuum(self, cutoff: datetime) -> int:
        removed = 0
        with self._connect(write=True) as conn:
            cached = self._load(conn)
            for history in cached.history.values():
                stmt = history.delete().where(history.c[hist.VALID_TO] < cutoff)
                removed += int(conn.execute(stmt).rowcount)
            hist.record(conn, hist.VACUUM_MARK, cutoff, "vacuum", removed, current_run_id())
        return removed

    def _source(self, conn: sa.Connection, query_table: Table, as_of: datetime | None) -> Any:
        """The table, or the subquery of its rows as of `as_of` (refused before a vacuum)."""
        sa_table = self._sa_table(conn, query_table)
        if as_of is None:
            return sa_table
        cutoff = hist.vacuum_cutoff(conn)
        if cutoff is not None and as_of < cutoff:
            raise InvalidQuery(
                f"as_of {as_of.isoformat()} is before {cutoff.isoformat()}, the point up to "
                "which history was trimmed (vacuum_history)"
            )
        history = self._load(conn).history[query_table.name]
        return hist.as_of_source(query_table, sa_table, history, as_of)

    # ------------------------------------------------------------------ reads

    def _sa_table(self, conn: sa.Connection, table: Table) -> sa.Table:
        cached = self._cache
        if (
            cached is not None
            and table.name in cached.tables
            and cached.schema.table(table.name) == table
        ):
            return cached.tables[table.name]
        return build_table(table, sa.MetaData(), conn.dialect)

    def _fetch(self, query: Query) -> list[dict[str, Any]]:
        names = query.fetch_columns
        with self._reading(query.table.name) as conn:
            stmt = select_statement(query, self._source(conn, query.table, query.as_of))
            return [dict(zip(names, row, strict=True)) for row in conn.execute(stmt)]

    def _stream(
        self, query: Query, *, batch_size: int, ordered: bool, arrow: bool
    ) -> Iterator[Any]:
        names = query.columns
        if arrow:
            from storage_plugins.arrow import batch_from_rows

        def batches() -> Iterator[Any]:
            with self._connect() as conn:
                stmt = select_statement(
                    query, self._sa_table(conn, query.table), ordered=ordered, columns=names
                )
                streaming = conn.execution_options(stream_results=True, yield_per=batch_size)
                result = streaming.execute(stmt)
                try:
                    for part in result.partitions(batch_size):
                        rows = [dict(zip(names, row, strict=True)) for row in part]
                        yield batch_from_rows(query.table, names, rows) if arrow else rows
                except GeneratorExit:
                    # abandoned early: PyMySQL drains the unbuffered rest and warns about it
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore", UserWarning)
                        result.close()
                    raise

        return batches()

    def sql_tables(self, as_of: datetime | None = None) -> tuple[Engine, dict[str, Any]]:
        """The engine and the stored tables as SQLAlchemy objects, for read-only compilers.

        The twin translates SPARQL into one SELECT over these tables; callers must not
        write through them (writes go through `write`, which keeps the bookkeeping). With
        `as_of`, each table is the subquery of its rows at that instant (the same one `read`
        uses), so a compiled query answers from the past state in the database itself.
        """
        at = check_as_of(as_of)
        with self._connect() as conn:
            cached = self._load(conn)
            if at is None:
                return self._get_engine(), dict(cached.tables)
            sources = {t.name: self._source(conn, t, at) for t in cached.schema.tables}
        return self._get_engine(), sources

    def _count(
        self, table: Table, predicate: Predicate | None, *, as_of: datetime | None = None
    ) -> int:
        with self._reading(table.name) as conn:
            sa_table = self._source(conn, table, as_of)
            stmt = sa.select(sa.func.count()).select_from(sa_table)
            condition = where_clause(predicate, sa_table)
            if condition is not None:
                stmt = stmt.where(condition)
            return int(conn.execute(stmt).scalar_one())

    # ------------------------------------------------------------------ lifecycle

    def health(self) -> Health:
        started = time.perf_counter()
        base: dict[str, Any] = {
            "plugin": self.name, "backend": self.config.backend, "target": self._target
        }
        try:
            with self._connect() as conn:
                conn.exec_driver_sql("SELECT 1").scalar()
                info = conn.dialect.server_version_info or ()
        except (StorageError, sa.exc.DBAPIError, OSError) as exc:
            return Health(ok=False, error=str(exc), **base)
        return Health(
            ok=True,
            latency_ms=round((time.perf_counter() - started) * 1000, 3),
            server_version=".".join(str(p) for p in info) or None,
            **base,
        )

    def close(self) -> None:
        with self._lock:
            self._closed = True
            if self._engine is not None:
                self._engine.dispose()
                self._engine = None
