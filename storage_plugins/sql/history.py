"""History tables of the SQL plugin: every replaced or deleted row version, with its interval.

Each table ``t`` gets, maintained by the plugin in the same transaction as every write:

* a hidden column ``_valid_from`` on ``t`` itself: when the current version of the row
  became current (never selected by normal reads, which name their columns);
* a history table ``_h_t`` (system-versioned style): the columns of ``t`` plus
  ``_valid_from`` / ``_valid_to``, one row per version that stopped being current, because
  an upsert replaced it, a delete or a ``replace`` write removed it;
* one row per change in ``_mimir_history`` (table, time, operation, rows, pipeline run),
  which `table_history` lists and which keeps each table's timestamps strictly increasing.

A read as of instant T is then the union of the current rows with ``_valid_from <= T`` and
the history rows with ``_valid_from <= T < _valid_to``. Inserts cost one extra constant
column; only upserts, deletes and replaces copy rows.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

from storage_plugins.schema import MAX_IDENTIFIER_LENGTH, Table, _short_hash
from storage_plugins.sql.types import UTCDateTime, sa_type

VALID_FROM = "_valid_from"
VALID_TO = "_valid_to"
LOG_TABLE = "_mimir_history"
_ONE_MICROSECOND = timedelta(microseconds=1)


def history_name(table: str) -> str:
    """The history table of `table` (``_h_<table>``, hash-shortened past 63 characters)."""
    name = f"_h_{table}"
    if len(name) <= MAX_IDENTIFIER_LENGTH:
        return name
    return name[: MAX_IDENTIFIER_LENGTH - 9] + "_" + _short_hash(table)


def valid_from_column() -> sa.Column[Any]:
    """The hidden column of every data table."""
    return sa.Column(VALID_FROM, UTCDateTime(), nullable=True)


def build_history_table(table: Table, metadata: sa.MetaData, dialect: Dialect) -> sa.Table:
    """The history table of `table`: its columns (all nullable, no key) plus the interval."""
    columns = [
        sa.Column(col.name, sa_type(col, dialect), nullable=True) for col in table.columns
    ]
    kwargs: dict[str, Any] = {}
    if dialect.name == "mysql":
        from storage_plugins.sql.types import mysql_collation

        kwargs = {
            "mysql_engine": "InnoDB",
            "mysql_charset": "utf8mb4",
            "mysql_collate": mysql_collation(dialect),
        }
    name = history_name(table.name)
    hist = sa.Table(
        name,
        metadata,
        *columns,
        sa.Column(VALID_FROM, UTCDateTime(), nullable=True),
        sa.Column(VALID_TO, UTCDateTime(), nullable=False),
        **kwargs,
    )
    sa.Index(f"ix{name}_to"[:MAX_IDENTIFIER_LENGTH], hist.c[VALID_TO])
    return hist


def log_table(metadata: sa.MetaData) -> sa.Table:
    """The change log `table_history` reads (one row per write, delete or migration)."""
    log = sa.Table(
        LOG_TABLE,
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("table_name", sa.String(MAX_IDENTIFIER_LENGTH), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("operation", sa.String(16), nullable=False),
        sa.Column("rows", sa.BigInteger, nullable=True),
        sa.Column("run_id", sa.String(255), nullable=True),
    )
    sa.Index("ix_mimir_history_table_at", log.c.table_name, log.c.at)
    return log


_LOG = log_table(sa.MetaData())
VACUUM_MARK = "*"


def next_stamp(conn: sa.Connection, table: str, now: datetime) -> datetime:
    """`now`, or just after the table's last change when the clock has not moved past it.

    Validity intervals must be non-empty and ordered, also when two writes fall into the
    same microsecond or the clock steps back.
    """
    last = conn.execute(
        sa.select(sa.func.max(_LOG.c.at)).where(_LOG.c.table_name == table)
    ).scalar()
    if last is not None and now <= last:
        return last + _ONE_MICROSECOND
    return now


def record(
    conn: sa.Connection,
    table: str,
    at: datetime,
    operation: str,
    rows: int | None,
    run_id: str | None,
) -> None:
    """Log one change in the caller's transaction."""
    conn.execute(
        _LOG.insert().values(
            table_name=table, at=at, operation=operation, rows=rows, run_id=run_id
        )
    )


def forget(conn: sa.Connection, table: str) -> None:
    """Drop a table's log (the table was dropped or rebuilt empty)."""
    conn.execute(_LOG.delete().where(_LOG.c.table_name == table))


def entries(conn: sa.Connection, table: str, limit: int) -> list[dict[str, Any]]:
    """The newest `limit` log rows of `table`."""
    stmt = (
        sa.select(_LOG.c.id, _LOG.c.at, _LOG.c.operation, _LOG.c.rows, _LOG.c.run_id)
        .where(_LOG.c.table_name == table)
        .order_by(_LOG.c.id.desc())
        .limit(limit)
    )
    return [
        {"version": r.id, "at": r.at, "operation": r.operation, "rows": r.rows,
         "run_id": r.run_id}
        for r in conn.execute(stmt)
    ]


def vacuum_cutoff(conn: sa.Connection) -> datetime | None:
    """The latest instant history was trimmed to (None: never trimmed)."""
    return conn.execute(
        sa.select(sa.func.max(_LOG.c.at)).where(
            _LOG.c.table_name == VACUUM_MARK, _LOG.c.operation == "vacuum"
        )
    ).scalar()


def copy_matching(
    conn: sa.Connection,
    source: sa.Table,
    hist: sa.Table,
    condition: Any,
    stamp: datetime,
) -> int:
    """Copy the rows of `source` matching `condition` into `hist`, closed at `stamp`."""
    names = [c.name for c in hist.columns if c.name not in (VALID_TO,)]
    select = sa.select(
        *(source.c[n] for n in names), sa.literal(stamp, UTCDateTime()).label(VALID_TO)
    )
    if condition is not None:
        select = select.where(condition)
    result = conn.execute(hist.insert().from_select([*names, VALID_TO], select))
    return int(result.rowcount)


def as_of_source(
    table: Table, data: sa.Table, hist: sa.Table, as_of: datetime
) -> sa.Subquery:
    """The rows of `table` as they were at `as_of`: a subquery with the table's columns."""
    names = table.column_names
    stamp = sa.literal(as_of, UTCDateTime())
    current = sa.select(*(data.c[n] for n in names)).where(
        sa.or_(data.c[VALID_FROM].is_(None), data.c[VALID_FROM] <= stamp)
    )
    past = sa.select(*(hist.c[n] for n in names)).where(
        sa.or_(hist.c[VALID_FROM].is_(None), hist.c[VALID_FROM] <= stamp),
        hist.c[VALID_TO] > stamp,
    )
    return sa.union_all(current, past).subquery("as_of")
