"""Bulk write paths: validated chunks → the driver's fastest way in, inside one transaction.

SQLAlchemy builds and quotes every statement; the rows then go straight to the DB-API
cursor of the connection SQLAlchemy holds (no per-row parameter processing in Python
beyond the few type conversions the driver needs), because that per-row work is what
would put the plugin far behind the raw driver on a million rows.

* SQLite: ``executemany`` of a prepared INSERT (``ON CONFLICT DO UPDATE`` for upserts).
* PostgreSQL: ``COPY FROM STDIN`` into the table, or into a temporary staging table that
  one ``INSERT ... SELECT ... ON CONFLICT DO UPDATE`` merges for upserts.
* MySQL/MariaDB: PyMySQL's ``executemany``, which batches rows into multi-row INSERTs
  (``ON DUPLICATE KEY UPDATE`` for upserts).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import datetime
from itertools import repeat
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.dialects import mysql, postgresql, sqlite

from storage_plugins.rows import Chunk
from storage_plugins.schema import Table
from storage_plugins.sql.history import VALID_FROM, copy_matching
from storage_plugins.sql.types import UTCDateTime, write_converters

STAGE_TABLE = "_mimir_stage"


class BulkWriter(Protocol):
    """Receives a write call's chunks inside the caller's transaction."""

    def add(self, chunk: Chunk) -> None:
        """Send one validated chunk to the database."""

    def finish(self) -> None:
        """Complete the write (flush buffers, merge staged rows); the caller commits."""

    def abort(self) -> None:
        """Release driver resources after an error; the caller rolls back."""


def _positional_sql(stmt: Any, dialect: sa.engine.Dialect, names: list[str]) -> str:
    compiled = stmt.compile(dialect=dialect)
    if not dialect.positional or list(compiled.positiontup or ()) != names:
        raise AssertionError(f"unexpected parameter order {compiled.positiontup} for {names}")
    return str(compiled)


def _convert(
    chunk: Chunk, converters: list[Callable[[Any], Any] | None], stamp: Any
) -> list[tuple[Any, ...]]:
    columns = [
        col if conv is None else [conv(v) for v in col]
        for conv, col in zip(converters, chunk.columns, strict=True)
    ]
    return list(zip(*columns, repeat(stamp, chunk.size), strict=True))


def _chunk_keys(table: Table, sa_table: sa.Table, chunk: Chunk) -> Any:
    """The condition "key is one of this chunk's keys"."""
    names = table.column_names
    pk = [sa_table.c[k] for k in table.primary_key]
    values = [chunk.columns[names.index(k)] for k in table.primary_key]
    if len(pk) == 1:
        return pk[0].in_(values[0])
    return sa.tuple_(*pk).in_(list(zip(*values, strict=True)))


class ExecutemanyWriter:
    """SQLite and MySQL: one prepared INSERT, rows sent with ``cursor.executemany``.

    For upserts, each chunk first copies the stored versions of its keys into the history
    table (MySQL locks them first: its INSERT ... SELECT reads without locks).
    """

    def __init__(
        self,
        conn: sa.Connection,
        sa_table: sa.Table,
        table: Table,
        mode: str,
        stamp: datetime,
        history: sa.Table | None,
    ) -> None:
        dialect = conn.dialect
        self.conn = conn
        self.sa_table = sa_table
        self.table = table
        self.stamp = stamp
        self.history = history if mode == "upsert" else None
        names = [*table.column_names, VALID_FROM]
        non_key = [n for n in names if n not in table.primary_key]
        stmt: Any
        if dialect.name == "sqlite":
            stmt = sqlite.insert(sa_table)
            if mode == "upsert":
                if non_key:
                    stmt = stmt.on_conflict_do_update(
                        index_elements=table.primary_key,
                        set_={n: stmt.excluded[n] for n in non_key},
                    )
                else:
                    stmt = stmt.on_conflict_do_nothing(index_elements=table.primary_key)
        else:
            stmt = mysql.insert(sa_table)
            if mode == "upsert":
                updated = non_key or table.primary_key[:1]
                stmt = stmt.on_duplicate_key_update({n: stmt.inserted[n] for n in updated})
        self.sql = _positional_sql(stmt, dialect, names)
        converters = write_converters(sa_table, dialect)
        self.converters = converters[:-1]
        stamp_converter = converters[-1]
        self.stamp_value = stamp if stamp_converter is None else stamp_converter(stamp)
        self.cursor = conn.connection.cursor()

    def add(self, chunk: Chunk) -> None:
        if self.history is not None:
            condition = _chunk_keys(self.table, self.sa_table, chunk)
            if self.conn.dialect.name == "mysql":
                pk = [self.sa_table.c[k] for k in self.table.primary_key]
                self.conn.execute(sa.select(*pk).where(condition).with_for_update()).all()
            copy_matching(self.conn, self.sa_table, self.history, condition, self.stamp)
        self.cursor.executemany(self.sql, _convert(chunk, self.converters, self.stamp_value))

    def finish(self) -> None:
        self.cursor.close()

    def abort(self) -> None:
        with contextlib.suppress(Exception):  # the transaction is being rolled back anyway
            self.cursor.close()


class CopyWriter:
    """PostgreSQL: ``COPY FROM STDIN``, staged through a temp table for upserts.

    An upsert copies the stored versions of the staged keys into the history table (locking
    them, so a concurrent upsert waits and then copies the version this one wrote) before
    merging.
    """

    def __init__(
        self,
        conn: sa.Connection,
        sa_table: sa.Table,
        table: Table,
        mode: str,
        stamp: datetime,
        history: sa.Table | None,
    ) -> None:
        self.conn = conn
        self.mode = mode
        self.stamp = stamp
        preparer = conn.dialect.identifier_preparer
        names = [*table.column_names, VALID_FROM]
        column_list = ", ".join(preparer.quote(n) for n in names)
        target = preparer.format_table(sa_table)
        self.merge: Any = None
        self.keep: Any = None
        if mode == "upsert":
            stage = preparer.quote(STAGE_TABLE)
            conn.exec_driver_sql(
                f"CREATE TEMPORARY TABLE {stage} (LIKE {target} INCLUDING DEFAULTS) "
                "ON COMMIT DROP"
            )
            target = stage
            stage_table = sa.table(STAGE_TABLE, *(sa.column(n) for n in names))
            stmt = postgresql.insert(sa_table).from_select(names, sa.select(stage_table))
            if history is not None:
                kept = [c.name for c in history.columns if c.name != "_valid_to"]
                joined = sa_table.join(
                    stage_table,
                    sa.and_(*(sa_table.c[k] == stage_table.c[k] for k in table.primary_key)),
                )
                old = (
                    sa.select(
                        *(sa_table.c[n] for n in kept),
                        sa.literal(stamp, UTCDateTime()).label("_valid_to"),
                    )
                    .select_from(joined)
                    .with_for_update(of=sa_table)
                )
                self.keep = history.insert().from_select([*kept, "_valid_to"], old)
            non_key = [n for n in names if n not in table.primary_key]
            if non_key:
                self.merge = stmt.on_conflict_do_update(
                    index_elements=table.primary_key,
                    set_={n: stmt.excluded[n] for n in non_key},
                )
            else:
                self.merge = stmt.on_conflict_do_nothing(index_elements=table.primary_key)
        raw = conn.connection.driver_connection
        assert raw is not None
        self.cursor = raw.cursor()
        self.copy_cm = self.cursor.copy(f"COPY {target} ({column_list}) FROM STDIN")
        self.copy = self.copy_cm.__enter__()

    def add(self, chunk: Chunk) -> None:
        write_row = self.copy.write_row
        for row in zip(*chunk.columns, repeat(self.stamp, chunk.size), strict=True):
            write_row(row)

    def finish(self) -> None:
        self.copy_cm.__exit__(None, None, None)
        self.cursor.close()
        if self.keep is not None:
            self.conn.execute(self.keep)
        if self.merge is not None:
            self.conn.execute(self.merge)

    def abort(self) -> None:
        with contextlib.suppress(Exception):  # the transaction is being rolled back anyway
            self.copy_cm.__exit__(RuntimeError, RuntimeError("write aborted"), None)
        with contextlib.suppress(Exception):
            self.cursor.close()


def bulk_writer(
    conn: sa.Connection,
    sa_table: sa.Table,
    table: Table,
    mode: str,
    *,
    stamp: datetime,
    history: sa.Table | None = None,
) -> BulkWriter:
    """The writer for this connection's dialect. ``replace`` must have emptied the table.

    Every row gets `stamp` as the start of its current version; upserts keep the versions
    they replace in `history`.
    """
    effective = "insert" if mode == "replace" else mode
    if conn.dialect.name == "postgresql":
        return CopyWriter(conn, sa_table, table, effective, stamp, history)
    return ExecutemanyWriter(conn, sa_table, table, effective, stamp, history)
