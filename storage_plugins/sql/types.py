"""Logical column types → SQLAlchemy types, per dialect.

The choices make every backend behave the same for the conformance suite:

* strings compare by code point and case-sensitively: ``COLLATE "C"`` on PostgreSQL, a
  binary NO PAD collation on MySQL/MariaDB (so 'a' and 'a ' are different keys), SQLite's
  default BINARY collation;
* dateTime values are instants: ``timestamptz`` on PostgreSQL, UTC in ``DATETIME(6)`` on
  MySQL and in ISO text on SQLite, always returned as UTC-aware datetimes;
* decimals are exact: ``NUMERIC(p,s)``/``DECIMAL(p,s)``, and on SQLite (which has no
  decimal type) a fixed-width text encoding whose byte order is numeric order, so that
  comparisons and sorting stay correct;
* JSON is ``jsonb`` on PostgreSQL and JSON text elsewhere.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime, time
from decimal import Context, Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import mysql, postgresql
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

from storage_plugins.schema import Column, ColumnType, Table

SCHEMA_TABLE = "_mimir_schema"
_WIDE = Context(prec=100)  # the default context rounds to 28 digits; decimals have up to 38


def mysql_collation(dialect: Dialect) -> str:
    """The binary, NO PAD utf8mb4 collation of this MySQL flavour."""
    return "utf8mb4_nopad_bin" if getattr(dialect, "is_mariadb", False) else "utf8mb4_0900_bin"


class UTCDateTime(TypeDecorator[datetime]):
    """An instant: stored in UTC, returned as a UTC-aware datetime."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "mysql":
            return dialect.type_descriptor(mysql.DATETIME(fsp=6))
        if dialect.name == "postgresql":
            return dialect.type_descriptor(sa.DateTime(timezone=True))
        return dialect.type_descriptor(sa.DateTime())

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is not UTC:
            value = value.astimezone(UTC)
        return value if dialect.name == "postgresql" else value.replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class SortableDecimal(TypeDecorator[Decimal]):
    """An exact decimal in SQLite, as text whose lexicographic order is numeric order.

    A value ``n * 10^-scale`` (``|n| < 10^precision``) is stored as ``"1"`` followed by
    ``n`` zero-padded to `precision` digits when ``n >= 0``, and as ``"0"`` followed by
    ``10^precision + n`` likewise when negative. Equal values get equal text, so equality,
    ``IN``, ranges and ``ORDER BY`` on the column all work on the stored text.
    """

    impl = sa.String
    cache_ok = True

    def __init__(self, precision: int, scale: int) -> None:
        super().__init__(length=precision + 1)
        self.precision = precision
        self.scale = scale

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> str | None:
        if value is None:
            return None
        n = int(value.scaleb(self.scale, context=_WIDE))
        if n >= 0:
            return "1" + str(n).zfill(self.precision)
        return "0" + str(10**self.precision + n).zfill(self.precision)

    def process_result_value(self, value: str | None, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        n = int(value[1:])
        if value[0] == "0":
            n -= 10**self.precision
        return Decimal(n).scaleb(-self.scale, context=_WIDE)


class JSONText(TypeDecorator[Any]):
    """JSON: written as JSON text (see `storage_plugins.rows`), returned decoded."""

    impl = sa.Text
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(postgresql.JSONB())
        if dialect.name == "mysql":
            text = mysql.LONGTEXT(charset="utf8mb4", collation="utf8mb4_bin")
            return dialect.type_descriptor(text)
        return dialect.type_descriptor(sa.Text())

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        if value is None or dialect.name == "postgresql":  # psycopg decodes jsonb itself
            return value
        return json.loads(value)


def _string(col: Column, dialect: Dialect) -> TypeEngine[Any]:
    if dialect.name == "postgresql":
        if col.max_length:
            return sa.String(col.max_length, collation="C")
        return sa.Text(collation="C")
    if dialect.name == "mysql":
        collation = mysql_collation(dialect)
        if col.max_length:
            return mysql.VARCHAR(col.max_length, charset="utf8mb4", collation=collation)
        return mysql.LONGTEXT(charset="utf8mb4", collation=collation)
    return sa.String(col.max_length) if col.max_length else sa.Text()


def sa_type(col: Column, dialect: Dialect) -> TypeEngine[Any]:
    """The SQLAlchemy type that stores `col` on `dialect`."""
    ctype = col.type
    if ctype in (ColumnType.STRING, ColumnType.ANY_URI):
        return _string(col, dialect)
    if ctype is ColumnType.INTEGER:
        return sa.BigInteger()
    if ctype is ColumnType.DOUBLE:
        return sa.Double()
    if ctype is ColumnType.DECIMAL:
        precision, scale = col.precision or 38, col.scale or 0
        if dialect.name == "sqlite":
            return SortableDecimal(precision, scale)
        return sa.Numeric(precision, scale, asdecimal=True)
    if ctype is ColumnType.BOOLEAN:
        return sa.Boolean()
    if ctype is ColumnType.DATE:
        return sa.Date()
    if ctype is ColumnType.DATETIME:
        return UTCDateTime()
    if ctype is ColumnType.TIME:
        return mysql.TIME(fsp=6) if dialect.name == "mysql" else sa.Time()
    if ctype is ColumnType.BINARY:
        return mysql.LONGBLOB() if dialect.name == "mysql" else sa.LargeBinary()
    return JSONText()


def build_table(table: Table, metadata: sa.MetaData, dialect: Dialect) -> sa.Table:
    """The SQLAlchemy table (with its indexes) for a schema table."""
    keys = set(table.primary_key)
    columns = [
        sa.Column(
            col.name,
            sa_type(col, dialect),
            nullable=col.nullable,
            primary_key=col.name in keys,
            autoincrement=False,
        )
        for col in table.columns
    ]
    kwargs: dict[str, Any] = {}
    if dialect.name == "mysql":
        kwargs = {
            "mysql_engine": "InnoDB",
            "mysql_charset": "utf8mb4",
            "mysql_collate": mysql_collation(dialect),
        }
    # the hidden start of each row's current version (see storage_plugins.sql.history)
    columns.append(sa.Column("_valid_from", UTCDateTime(), nullable=True))
    sa_table = sa.Table(table.name, metadata, *columns, **kwargs)
    for index in table.indexes:
        lengths = {
            name: 255
            for name in index.columns
            if table.column(name).type in (ColumnType.STRING, ColumnType.ANY_URI)
            and not table.column(name).max_length
        }
        extra: dict[str, Any] = (
            {"mysql_length": lengths} if lengths and dialect.name == "mysql" else {}
        )
        sa.Index(table.index_name(index), *(sa_table.c[n] for n in index.columns), **extra)
    return sa_table


def schema_table(metadata: sa.MetaData) -> sa.Table:
    """The bookkeeping table holding the stored `TabularSchema` as JSON (one row)."""
    return sa.Table(
        SCHEMA_TABLE,
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("version", sa.BigInteger, nullable=False),
        sa.Column("body", sa.Text().with_variant(mysql.LONGTEXT(), "mysql"), nullable=False),
    )


def _sqlite_datetime(value: datetime | None) -> str | None:
    # canonical values are UTC: "YYYY-MM-DD HH:MM:SS.ffffff", SQLAlchemy's SQLite format
    return None if value is None else value.isoformat(" ", "microseconds")[:26]


def _sqlite_date(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def _sqlite_time(value: time | None) -> str | None:
    return None if value is None else value.isoformat("microseconds")


def _naive_utc(value: datetime | None) -> datetime | None:
    return None if value is None else value.replace(tzinfo=None)


def write_converters(
    sa_table: sa.Table, dialect: Dialect
) -> list[Callable[[Any], Any] | None]:
    """Per column, the function turning a canonical value into what the driver gets.

    Only types whose canonical value the driver cannot take as is get one: dates and
    times on SQLite, dateTime on SQLite and MySQL, decimals on SQLite. Each produces
    exactly what SQLAlchemy's bind processor for the column would (a test checks this),
    so that reads and filters, which go through SQLAlchemy, see the format written; the
    hand-written ones exist because the generic processors cost several microseconds per
    value, which on a million rows is most of the write.
    """
    converters: list[Callable[[Any], Any] | None] = []
    sqlite = dialect.name == "sqlite"
    for column in sa_table.columns:
        kind = column.type
        converter: Callable[[Any], Any] | None = None
        if isinstance(kind, UTCDateTime):
            converter = _sqlite_datetime if sqlite else (
                _naive_utc if dialect.name == "mysql" else None
            )
        elif isinstance(kind, SortableDecimal):
            converter = kind.dialect_impl(dialect).bind_processor(dialect)
        elif sqlite and isinstance(kind, sa.Date):
            converter = _sqlite_date
        elif sqlite and isinstance(kind, sa.Time):
            converter = _sqlite_time
        converters.append(converter)
    return converters
