"""Queries as data: filters, ordering, projection and keyset cursors.

Callers (REST, MCP, pipelines, the twin) never hand a plugin SQL or expression text: a
filter is ``Filter(column, op, value)``, validated here against the table's schema and
canonicalised with the same rules as written values. Plugins compile the resulting small
predicate tree (`Filter`, `And`, `Or`) into their own language.

Semantics every plugin implements (the conformance suite checks them):

* comparisons never match NULL (``ne 5`` skips NULLs); use ``is_null`` for NULLs;
* ``like`` is SQL LIKE, case-sensitive, ``%`` any run, ``_`` one character, ``\\`` escapes;
* strings compare and sort by Unicode code point;
* NULL sorts before every value (first ascending, last descending);
* every ordering ends with the primary key, so that pages are deterministic, and a cursor
  marks the last row of a page by its sort key (keyset pagination: rows written between two
  page reads are neither skipped nor repeated if they sort after the cursor).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from enum import StrEnum
from typing import Any, TypeAlias

from pydantic import BaseModel, ConfigDict, Field

from storage_plugins.errors import InvalidCursor, InvalidQuery, SchemaError
from storage_plugins.rows import canonical_value
from storage_plugins.schema import STRING_TYPES, Column, ColumnType, Table


class Op(StrEnum):
    """Filter operators."""

    EQ = "eq"
    NE = "ne"
    LT = "lt"
    LE = "le"
    GT = "gt"
    GE = "ge"
    IN = "in"
    LIKE = "like"
    IS_NULL = "is_null"


COMPARISONS = frozenset({Op.EQ, Op.NE, Op.LT, Op.LE, Op.GT, Op.GE})


class Filter(BaseModel):
    """One condition on one column; a ``where`` sequence means all conditions hold.

    >>> Filter("age", "ge", 18)
    Filter(column='age', op=<Op.GE: 'ge'>, value=18)
    >>> Filter(column="email", op="is_null", value=False).op
    <Op.IS_NULL: 'is_null'>
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    column: str = Field(description="The column the condition tests.")
    op: Op = Field(description="The operator.")
    value: Any = Field(
        default=None,
        description=(
            "The operand: a value for comparisons, a list for 'in', a pattern for 'like', "
            "true (IS NULL) or false (IS NOT NULL) for 'is_null'."
        ),
    )

    def __init__(self, *args: Any, **data: Any) -> None:
        """Accept ``Filter(column, op, value)`` positionally as well as by keyword."""
        for key, arg in zip(("column", "op", "value"), args, strict=False):
            data[key] = arg
        super().__init__(**data)


class OrderBy(BaseModel):
    """One sort key."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    column: str = Field(description="The column to sort by.")
    descending: bool = Field(default=False, description="Sort from high to low.")


@dataclass(frozen=True)
class And:
    """All items hold (an empty And is true)."""

    items: tuple[Predicate, ...]


@dataclass(frozen=True)
class Or:
    """At least one item holds (an empty Or is false)."""

    items: tuple[Predicate, ...]


Predicate: TypeAlias = Filter | And | Or
FilterLike: TypeAlias = Filter | Mapping[str, Any] | Sequence[Any]
OrderLike: TypeAlias = OrderBy | str | Sequence[Any]


def _as_filter(item: FilterLike) -> Filter:
    if isinstance(item, Filter):
        return item
    try:
        if isinstance(item, Mapping):
            return Filter(**item)
        return Filter(*item)
    except (TypeError, ValueError) as exc:
        raise InvalidQuery(f"not a filter: {item!r} ({exc})") from None


def _as_order(item: OrderLike) -> OrderBy:
    if isinstance(item, OrderBy):
        return item
    if isinstance(item, str):
        return OrderBy(column=item.lstrip("-"), descending=item.startswith("-"))
    try:
        column, direction = tuple(item)
    except (TypeError, ValueError):
        raise InvalidQuery(f"not an ordering: {item!r}") from None
    if direction not in ("asc", "desc"):
        raise InvalidQuery(f"ordering direction must be 'asc' or 'desc', got {direction!r}")
    return OrderBy(column=column, descending=direction == "desc")


def _column(table: Table, name: str, what: str) -> Column:
    try:
        return table.column(name)
    except SchemaError as exc:
        raise InvalidQuery(f"{what}: {exc}") from None


def _operand(col: Column, value: Any) -> Any:
    if value is None:
        raise InvalidQuery(f"filter on {col.name!r}: value is None; use op 'is_null'")
    try:
        return canonical_value(col, value, check_length=False)
    except ValueError as exc:
        raise InvalidQuery(f"filter on {col.name!r}: {exc}") from None


def check_filter(table: Table, item: FilterLike) -> Filter:
    """Validate a filter against `table` and return it with canonical operand values."""
    flt = _as_filter(item)
    col = _column(table, flt.column, "filter")
    if flt.op is Op.IS_NULL:
        if flt.value not in (None, True, False):
            raise InvalidQuery(f"filter on {col.name!r}: 'is_null' takes true or false")
        return Filter(col.name, Op.IS_NULL, flt.value is not False)
    if col.type is ColumnType.JSON:
        raise InvalidQuery(f"filter on {col.name!r}: JSON columns support only 'is_null'")
    if flt.op is Op.LIKE:
        if col.type not in STRING_TYPES or not isinstance(flt.value, str):
            raise InvalidQuery(
                f"filter on {col.name!r}: 'like' needs a string column and a string pattern"
            )
        return flt
    if flt.op is Op.IN:
        if isinstance(flt.value, str | bytes) or not isinstance(flt.value, Sequence | set):
            raise InvalidQuery(f"filter on {col.name!r}: 'in' takes a list of values")
        return Filter(col.name, Op.IN, tuple(_operand(col, v) for v in flt.value))
    return Filter(col.name, flt.op, _operand(col, flt.value))


# --------------------------------------------------------------------------- cursor values

def encode_value(col: Column, value: Any) -> Any:
    """A JSON-safe form of a canonical value (for cursors and fingerprints)."""
    if value is None or col.type in (ColumnType.INTEGER, ColumnType.DOUBLE, ColumnType.BOOLEAN):
        return value
    if col.type in STRING_TYPES or col.type is ColumnType.JSON:
        return value
    if col.type is ColumnType.DECIMAL:
        return str(value)
    if col.type is ColumnType.BINARY:
        return base64.b64encode(value).decode("ascii")
    return value.isoformat()


def decode_value(col: Column, value: Any) -> Any:
    """Inverse of `encode_value`; raises ValueError on malformed input."""
    if value is None:
        return None
    if col.type is ColumnType.DECIMAL:
        return canonical_value(col, Decimal(value))
    if col.type is ColumnType.BINARY:
        return base64.b64decode(value, validate=True)
    if col.type is ColumnType.DATE:
        return date.fromisoformat(value)
    if col.type is ColumnType.DATETIME:
        return canonical_value(col, datetime.fromisoformat(value))
    if col.type is ColumnType.TIME:
        return time.fromisoformat(value)
    return canonical_value(col, value, check_length=False)


# --------------------------------------------------------------------------- query

@dataclass(frozen=True)
class Query:
    """A validated read: what to filter, return and sort by, and where the page starts.

    `order` always ends with the primary key. `after` is the keyset condition of a cursor.
    """

    table: Table
    where: tuple[Filter, ...]
    columns: tuple[str, ...]
    order: tuple[OrderBy, ...]
    limit: int | None
    after: Predicate | None
    as_of: datetime | None = None
    """Read the table as it was at this instant (UTC); None reads the current rows."""

    @property
    def predicate(self) -> Predicate | None:
        """The full condition (filters and cursor), or None for all rows."""
        items: tuple[Predicate, ...] = self.where + ((self.after,) if self.after else ())
        if not items:
            return None
        return items[0] if len(items) == 1 else And(items)

    @property
    def fetch_columns(self) -> tuple[str, ...]:
        """Output columns plus the sort columns a cursor needs."""
        extra = tuple(o.column for o in self.order if o.column not in self.columns)
        return self.columns + extra

    def fingerprint(self) -> str:
        """Identifies the query a cursor belongs to (table, filters, ordering)."""
        body = [
            self.table.name,
            [
                [f.column, f.op.value, _encode_operand(self.table.column(f.column), f)]
                for f in self.where
            ],
            [[o.column, o.descending] for o in self.order],
        ]
        if self.as_of is not None:  # a cursor of a past state must not continue the present
            body.append(self.as_of.isoformat())
        text = json.dumps(body, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def cursor_after(self, row: Mapping[str, Any]) -> str:
        """The cursor that continues after `row` (a fetched row with the sort columns)."""
        values = [encode_value(self.table.column(o.column), row[o.column]) for o in self.order]
        body = json.dumps({"q": self.fingerprint(), "k": values}, separators=(",", ":"))
        return base64.urlsafe_b64encode(body.encode()).decode("ascii").rstrip("=")


def _encode_operand(col: Column, flt: Filter) -> Any:
    if flt.op is Op.IN:
        return [encode_value(col, v) for v in flt.value]
    if flt.op in (Op.LIKE, Op.IS_NULL):
        return flt.value
    return encode_value(col, flt.value)


def keyset_after(order: Sequence[OrderBy], values: Sequence[Any]) -> Predicate:
    """Rows that sort strictly after the row whose sort key is `values`.

    Follows the NULL-first rule: after a NULL, ascending, come the non-NULLs; after a
    value, descending, come the smaller values and then the NULLs.
    """
    branches: list[Predicate] = []
    for i, (key, value) in enumerate(zip(order, values, strict=True)):
        equal_before: list[Predicate] = [
            Filter(o.column, Op.IS_NULL, True) if v is None else Filter(o.column, Op.EQ, v)
            for o, v in zip(order[:i], values[:i], strict=True)
        ]
        beyond: Predicate
        if not key.descending:
            beyond = (
                Filter(key.column, Op.IS_NULL, False)
                if value is None
                else Filter(key.column, Op.GT, value)
            )
        elif value is None:
            continue  # nothing sorts after NULL when descending
        else:
            beyond = Or((Filter(key.column, Op.LT, value), Filter(key.column, Op.IS_NULL, True)))
        branches.append(And((*equal_before, beyond)) if equal_before else beyond)
    return Or(tuple(branches))


def build_query(
    table: Table,
    *,
    where: Sequence[FilterLike] = (),
    columns: Sequence[str] | None = None,
    order_by: Sequence[OrderLike] | OrderLike = (),
    limit: int | None = None,
    cursor: str | None = None,
    as_of: datetime | None = None,
) -> Query:
    """Validate a read against `table`; raises `InvalidQuery` or `InvalidCursor`."""
    filters = tuple(check_filter(table, f) for f in where)
    if columns is None:
        out_columns = tuple(table.column_names)
    else:
        if isinstance(columns, str):
            raise InvalidQuery("columns must be a list of column names, not a string")
        out_columns = tuple(dict.fromkeys(_column(table, c, "columns").name for c in columns))
        if not out_columns:
            raise InvalidQuery("columns is empty; pass None for all columns")
    if isinstance(order_by, str | OrderBy):
        order_by = [order_by]
    order: list[OrderBy] = []
    for item in order_by:
        key = _as_order(item)
        col = _column(table, key.column, "order_by")
        if col.type is ColumnType.JSON:
            raise InvalidQuery(f"order_by: JSON column {col.name!r} has no order")
        if any(o.column == key.column for o in order):
            raise InvalidQuery(f"order_by names {key.column!r} twice")
        order.append(key)
    for pk in table.primary_key:
        if not any(o.column == pk for o in order):
            order.append(OrderBy(column=pk))
    if limit is not None and (isinstance(limit, bool) or limit < 0):
        raise InvalidQuery(f"limit must be a non-negative integer, got {limit!r}")
    query = Query(table, filters, out_columns, tuple(order), limit, None, as_of)
    if cursor is None:
        return query
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        body = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
        fingerprint, raw = body["q"], body["k"]
        if fingerprint != query.fingerprint():
            raise InvalidCursor("cursor belongs to a different query (table, filters or order)")
        if len(raw) != len(order):
            raise ValueError("wrong number of key values")
        values = [decode_value(table.column(o.column), v) for o, v in zip(order, raw, strict=True)]
    except InvalidCursor:
        raise
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeError) as exc:
        raise InvalidCursor(f"malformed cursor: {exc}") from None
    after = keyset_after(order, values)
    return Query(table, filters, out_columns, tuple(order), limit, after, as_of)
