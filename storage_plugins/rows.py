"""Row validation: turn the mappings handed to `write` into checked, canonical columns.

Every plugin validates rows here before it touches its backend, for two reasons: a bad row
must be reported the same way everywhere (`RowRejected` with the row's index and column),
and a backend must never see a value it would silently mangle (a naive datetime, a NaN,
a string with NUL, a decimal with too many digits).

Canonical values, which plugins store and give back:

=========  =====================================================================
type       Python value
=========  =====================================================================
string     ``str`` without NUL; ``anyURI`` alike
integer    ``int`` in the signed 64-bit range (``bool`` is refused)
double     finite ``float`` (``int`` accepted and converted)
decimal    ``Decimal`` quantized to the column's scale (``int``/``float`` accepted)
boolean    ``bool``
date       ``datetime.date`` (a ``datetime`` is refused)
dateTime   timezone-aware ``datetime`` converted to UTC (naive values are refused)
time       naive ``datetime.time``
binary     ``bytes``
json       the value's JSON text (``str``); plugins decode it on read
=========  =====================================================================

Validation works column by column with C-level checks (``set(map(type, ...))``, ``min``,
``max``, ``str.join``) and falls back to a per-value scan only to convert values or to find
the first bad one, so that the 1M-row path stays close to the raw driver's speed.
"""

from __future__ import annotations

import json
import math
import numbers
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Context, Decimal, DecimalException, Inexact, InvalidOperation
from itertools import islice
from operator import itemgetter
from typing import Any

from storage_plugins.errors import RowRejected
from storage_plugins.schema import Column, ColumnType, Table

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
DEFAULT_CHUNK_ROWS = 10_000
_NONE = type(None)
_EXACT = Context(prec=80, traps=[InvalidOperation, Inexact])


class _Bad(ValueError):
    """A value is unfit for its column; the message says why in words a user understands.

    `offset` is the value's position in the column being checked, once known.
    """

    offset: int | None = None


def _type_name(value: Any) -> str:
    return type(value).__name__


# --------------------------------------------------------------------------- scalars

def _integer(value: Any, col: Column) -> int:
    if type(value) is not int:
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise _Bad(f"expected an integer, got {_type_name(value)}")
        value = int(value)
    if not INT64_MIN <= value <= INT64_MAX:
        raise _Bad(f"integer {value} is outside the signed 64-bit range")
    return value


def _double(value: Any, col: Column) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise _Bad(f"expected a number, got {_type_name(value)}")
    try:
        result = float(value)
    except OverflowError:
        raise _Bad(f"number {value} is too large for a double") from None
    if not math.isfinite(result):
        raise _Bad(f"{result} is not a finite number")
    return result


def _decimal(value: Any, col: Column) -> Decimal:
    if isinstance(value, bool):
        raise _Bad("expected a decimal, got bool")
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _Bad(f"{value} is not a finite number")
        value = Decimal(repr(value))
    elif isinstance(value, numbers.Integral):
        value = Decimal(int(value))
    elif not isinstance(value, Decimal):
        raise _Bad(f"expected a Decimal, got {_type_name(value)}")
    if not value.is_finite():
        raise _Bad(f"{value} is not a finite decimal")
    scale = col.scale or 0
    precision = col.precision or 38
    if value and value.adjusted() >= precision - scale:
        raise _Bad(f"{value} has more than {precision - scale} digits before the decimal point")
    try:
        return value.quantize(Decimal(1).scaleb(-scale), context=_EXACT)
    except DecimalException:
        raise _Bad(f"{value} has more than {scale} digits after the decimal point") from None


def _string(value: Any, col: Column) -> str:
    if not isinstance(value, str):
        raise _Bad(f"expected a string, got {_type_name(value)}")
    if "\x00" in value:
        raise _Bad("strings cannot contain the NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise _Bad("string is not valid Unicode (lone surrogate)") from None
    if col.max_length is not None and len(value) > col.max_length:
        raise _Bad(f"string of {len(value)} characters exceeds max_length {col.max_length}")
    return str(value)


def _boolean(value: Any, col: Column) -> bool:
    if not isinstance(value, bool):
        raise _Bad(f"expected a bool, got {_type_name(value)}")
    return value


def _date(value: Any, col: Column) -> date:
    if isinstance(value, datetime) or not isinstance(value, date):
        raise _Bad(f"expected a date, got {_type_name(value)}")
    return date(value.year, value.month, value.day)


def _datetime(value: Any, col: Column) -> datetime:
    if not isinstance(value, datetime):
        raise _Bad(f"expected a datetime, got {_type_name(value)}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise _Bad("naive datetime: give it a timezone (dateTime columns store instants)")
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise _Bad(f"{value} is out of range in UTC") from None


def _time(value: Any, col: Column) -> time:
    if not isinstance(value, time):
        raise _Bad(f"expected a time, got {_type_name(value)}")
    if value.tzinfo is not None:
        raise _Bad("time with a timezone is not supported; pass a naive time")
    return value


def _binary(value: Any, col: Column) -> bytes:
    if not isinstance(value, bytes | bytearray | memoryview):
        raise _Bad(f"expected bytes, got {_type_name(value)}")
    return bytes(value)


def _json(value: Any, col: Column) -> str:
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise _Bad(f"value is not JSON-serialisable: {exc}") from None
    if "\\u0000" in text:
        raise _Bad("JSON values cannot contain the NUL character")
    return text


_SCALARS: dict[ColumnType, Callable[[Any, Column], Any]] = {
    ColumnType.STRING: _string,
    ColumnType.ANY_URI: _string,
    ColumnType.INTEGER: _integer,
    ColumnType.DOUBLE: _double,
    ColumnType.DECIMAL: _decimal,
    ColumnType.BOOLEAN: _boolean,
    ColumnType.DATE: _date,
    ColumnType.DATETIME: _datetime,
    ColumnType.TIME: _time,
    ColumnType.BINARY: _binary,
    ColumnType.JSON: _json,
}

def canonical_value(col: Column, value: Any, *, check_length: bool = True) -> Any:
    """Canonicalise one non-NULL value for `col`; raises ValueError with the reason.

    Filters use this with ``check_length=False``: comparing with a too-long string is
    legal, it just matches nothing.
    """
    if not check_length and col.max_length is not None:
        col = col.model_copy(update={"max_length": None})
    return _SCALARS[col.type](value, col)


# --------------------------------------------------------------------------- columns

def _fast_ok(ctype: ColumnType, col: Column, values: list[Any], types: set[type]) -> bool:
    """True when `values` are already canonical, judged with C-level checks only."""
    nn: list[Any] = values if _NONE not in types else [v for v in values if v is not None]
    if not nn:
        return True
    if ctype is ColumnType.INTEGER:
        return types <= {int, _NONE} and min(nn) >= INT64_MIN and max(nn) <= INT64_MAX
    if ctype is ColumnType.DOUBLE:
        return types <= {float, _NONE} and math.isfinite(sum(nn))
    if ctype in (ColumnType.STRING, ColumnType.ANY_URI):
        if not types <= {str, _NONE}:
            return False
        joined = "".join(nn)
        if "\x00" in joined:
            return False
        try:
            joined.encode("utf-8")
        except UnicodeEncodeError:
            return False
        return col.max_length is None or max(map(len, nn)) <= col.max_length
    if ctype is ColumnType.BOOLEAN:
        return types <= {bool, _NONE}
    if ctype is ColumnType.DATE:
        return types <= {date, _NONE}
    if ctype is ColumnType.DATETIME:
        return types <= {datetime, _NONE} and all(v.tzinfo is UTC for v in nn)
    if ctype is ColumnType.TIME:
        return types <= {time, _NONE} and all(v.tzinfo is None for v in nn)
    if ctype is ColumnType.BINARY:
        return types <= {bytes, _NONE}
    return False  # decimal and json always convert


def canonical_column(col: Column, values: list[Any]) -> list[Any]:
    """Canonicalise a column's values; raises `_Bad` with `.offset` set on the first bad one."""
    types = set(map(type, values))
    if not col.nullable and _NONE in types:
        offset = next(i for i, v in enumerate(values) if v is None)
        err = _Bad("NULL is not allowed (the column is not nullable)")
        err.offset = offset
        raise err
    if _fast_ok(col.type, col, values, types):
        return values
    scalar = _SCALARS[col.type]
    out: list[Any] = []
    append = out.append
    for offset, value in enumerate(values):
        if value is None:
            append(None)
            continue
        try:
            append(scalar(value, col))
        except _Bad as err:
            err.offset = offset
            raise
    return out


# --------------------------------------------------------------------------- chunks

@dataclass
class Chunk:
    """A slice of a write call's rows, validated: one list of canonical values per column."""

    start: int
    size: int
    columns: list[list[Any]]

    def tuples(self) -> list[tuple[Any, ...]]:
        """The rows as tuples in table column order (what DB-API ``executemany`` wants)."""
        return list(zip(*self.columns, strict=True))


@dataclass
class KeyIndex:
    """The primary keys of one write call, in row order, held compactly as Arrow arrays.

    A million integer keys take 8 MB here (a Python dict of them would take ~100 MB). The
    index answers two questions, both only on the error path or once per call: is a key
    repeated within the call (refused in every mode, so that "upsert" never depends on the
    order a backend applies rows in), and which row carries a key that a backend reports
    as already stored.
    """

    table: Table
    chunks: list[Any] = field(default_factory=list)
    size: int = 0

    def add(self, chunk: Chunk) -> None:
        """Record a validated chunk's keys."""
        import pyarrow as pa

        from storage_plugins.arrow import arrow_schema

        names = self.table.column_names
        schema = arrow_schema(self.table, self.table.primary_key)
        arrays = [
            pa.array(chunk.columns[names.index(k)], type=field_.type)
            for k, field_ in zip(self.table.primary_key, schema, strict=True)
        ]
        self.chunks.append(pa.Table.from_arrays(arrays, schema=schema))
        self.size += chunk.size

    def keys(self) -> Any:
        """All keys so far as one `pyarrow.Table` (one column per key column)."""
        import pyarrow as pa

        from storage_plugins.arrow import arrow_schema

        schema = arrow_schema(self.table, self.table.primary_key)
        return pa.concat_tables(self.chunks) if self.chunks else schema.empty_table()

    def ordered(self) -> Iterator[Any]:
        """Every key of the call in row order: scalars for a one-column key, else tuples."""
        for part in self.chunks:
            columns = [part.column(k).to_pylist() for k in self.table.primary_key]
            yield from columns[0] if len(columns) == 1 else zip(*columns, strict=True)

    def first_repeat(self) -> int | None:
        """The row index of the first key that an earlier row of the call already used."""
        if self.size == 0:
            return None
        distinct = self.keys().group_by(self.table.primary_key).aggregate([]).num_rows
        if distinct == self.size:
            return None
        seen: set[Any] = set()
        for row, key in enumerate(self.ordered()):
            if key in seen:
                return row
            seen.add(key)
        return None

    def first_row_of(self, keys: Iterable[Any]) -> int | None:
        """The smallest row index whose key is among `keys` (None when none is)."""
        wanted = set(keys)
        if not wanted:
            return None
        for row, key in enumerate(self.ordered()):
            if key in wanted:
                return row
        return None


def _extract(table: Table, batch: list[Any], start: int) -> list[list[Any]]:
    """Pull the table's columns out of a batch of mappings, rejecting unknown keys."""
    names = table.column_names
    count = len(names)
    try:
        if set(map(len, batch)) <= {count}:
            return [list(map(itemgetter(name), batch)) for name in names]
    except (KeyError, TypeError):
        pass
    known = set(names)
    columns: list[list[Any]] = [[] for _ in names]
    for offset, row in enumerate(batch):
        if not isinstance(row, Mapping):
            raise RowRejected(
                table.name, start + offset, None, f"expected a mapping, got {_type_name(row)}"
            )
        extra = [k for k in row if k not in known]
        if extra:
            raise RowRejected(
                table.name, start + offset, str(extra[0]),
                f"unknown column; {table.name!r} has columns {', '.join(names)}",
            )
        for i, name in enumerate(names):
            columns[i].append(row.get(name))
    return columns


def prepare_rows(
    table: Table,
    rows: Iterable[Mapping[str, Any]],
    *,
    keys: KeyIndex | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
) -> Iterator[Chunk]:
    """Validate `rows` lazily, chunk by chunk, so that a million rows never sit in memory twice.

    A missing key means NULL. Raises `RowRejected` (row index counted over the whole
    iterable) for an unknown column, a wrong type, a NULL in a non-nullable column, or a
    primary key repeated within the call (when `keys` is given; checked once all rows are
    read, before the generator finishes, so still before any commit).
    """
    iterator = iter(rows)
    start = 0
    while True:
        batch = list(islice(iterator, chunk_rows))
        if not batch:
            break
        columns = _extract(table, batch, start)
        for i, col in enumerate(table.columns):
            try:
                columns[i] = canonical_column(col, columns[i])
            except _Bad as err:
                row = None if err.offset is None else start + err.offset
                raise RowRejected(table.name, row, col.name, str(err)) from None
        chunk = Chunk(start=start, size=len(batch), columns=columns)
        if keys is not None:
            keys.add(chunk)
        yield chunk
        start += len(batch)
    if keys is not None:
        check_repeats(table, keys)


def check_repeats(table: Table, keys: KeyIndex) -> None:
    """Raise `RowRejected` for the first key repeated within the call."""
    duplicate = keys.first_repeat()
    if duplicate is not None:
        raise RowRejected(
            table.name, duplicate, ", ".join(table.primary_key),
            "primary key repeated within this write call",
        )


def key_index(table: Table) -> KeyIndex:
    """A fresh `KeyIndex` for `table`'s primary key."""
    return KeyIndex(table=table)
